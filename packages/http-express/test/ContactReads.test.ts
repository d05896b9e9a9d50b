/**
 * Reading a batch's contacts over real HTTP, on the in-memory store and
 * PostgreSQL: one contact's history, a search of names and numbers, and CSV
 * exports of contacts and rejected rows (formula cells neutralised, and an
 * export imported back to the same contacts).
 */
import type { BatchStore } from "@outdial/core"
import type * as Layer from "effect/Layer"
import Papa from "papaparse"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { client, expectError } from "./client.ts"
import * as Server from "./server.ts"
import { eachStore } from "./stores.ts"
import { alwaysAnswers, alwaysBusy, otherOrganizationId } from "./server.ts"

const phone = (n: number) => `+4915130000${String(700 + n)}`

/** Cells of a CSV text, its byte order mark left out. */
const cellsOf = (text: string): Array<Array<string>> =>
  Papa.parse<Array<string>>(text.replace(/^\uFEFF/, ""), { skipEmptyLines: true }).data

const csvForm = (text: string, fields: Record<string, string> = {}) => {
  const data = new FormData()
  for (const [key, value] of Object.entries(fields)) data.append(key, value)
  data.append("file", new Blob([text], { type: "text/csv" }), "contacts.csv")
  return data
}

const suite = (name: string, store: () => Layer.Layer<BatchStore.BatchStore, unknown>) =>
  describe(name, () => {
    let server: Server.TestServer
    beforeAll(async () => void (server = await Server.start(store())), 60_000)
    afterAll(() => server?.close())
    const call = client(() => server.url)

    const create = async (input: Record<string, unknown>) => {
      const reply = await call("POST", "/batches", { json: { name: "Reads", agentId: "agent_sales", timezone: "UTC", ...input } })
      expect(reply.status, JSON.stringify(reply.body)).toBe(201)
      return reply.body.batchJobId as string
    }
    const waitForStatus = async (batchId: string, status: string) => {
      for (let i = 0; i < 400; i++) {
        if ((await call("GET", `/batches/${batchId}`)).body.status === status) return
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      throw new Error(`batch ${batchId} never became ${status}`)
    }

    describe("contact detail and history", () => {
      it("lists every attempt with the caller number it used, and every decision in order", async () => {
        const batchId = await create({
          contacts: [{ phone: alwaysBusy, name: "Busy Bee" }],
          maxAttempts: 2,
          retryDelay: [0],
          phoneRotationStrategy: "round_robin"
        })
        await waitForStatus(batchId, "completed")
        const contactId = (await call("GET", `/batches/${batchId}/contacts`)).body.contacts[0].contactId
        const reply = await call("GET", `/batches/${batchId}/contacts/${contactId}`)
        expect(reply.status).toBe(200)
        expect(reply.body.contact).toMatchObject({ contactId, status: "busy", attemptCount: 2, name: "Busy Bee" })
        expect(reply.body.historyComplete).toBe(true)
        const attempts = reply.body.attempts
        expect(attempts.map((a: any) => [a.attemptNumber, a.outcome, a.sipCode, a.state])).toEqual([
          [1, "busy", 486, "finished"],
          [2, "busy", 486, "finished"]
        ])
        // Rotation is visible: the retry was placed from the other number.
        expect(attempts.map((a: any) => a.callerNumberId).sort()).toEqual(["num_1", "num_2"])
        expect(attempts.map((a: any) => a.callerNumber).sort()).toEqual(["+12025550100", "+12025550101"])
        for (const attempt of attempts) {
          expect(attempt.providerCallId).toBe(`outdial-${attempt.attemptId}`)
          expect(Date.parse(attempt.endedAt)).toBeGreaterThanOrEqual(Date.parse(attempt.startedAt))
          expect(attempt.answeredAt).toBeNull()
        }
        expect(reply.body.decisions.map((d: any) => [d.kind, d.policy])).toEqual([["dial", "eligibility"], ["dial", "eligibility"]])
        expect(Date.parse(reply.body.decisions[1].at)).toBeGreaterThanOrEqual(Date.parse(reply.body.decisions[0].at))
      })

      it("gives an answered call its answer time", async () => {
        const batchId = await create({ contacts: [{ phone: alwaysAnswers }], maxAttempts: 1 })
        await waitForStatus(batchId, "completed")
        const contactId = (await call("GET", `/batches/${batchId}/contacts`)).body.contacts[0].contactId
        const [attempt] = (await call("GET", `/batches/${batchId}/contacts/${contactId}`)).body.attempts
        expect(attempt.outcome).toBe("completed")
        expect(Date.parse(attempt.endedAt) - Date.parse(attempt.answeredAt)).toBe(Math.round(attempt.duration * 1000))
      })

      it("answers 404 for an unknown batch or contact, or another organization's, and 400 for a malformed id", async () => {
        const batchId = await create({ draft: true, contacts: [{ phone: phone(1) }] })
        const contactId = (await call("GET", `/batches/${batchId}/contacts`)).body.contacts[0].contactId
        expect((await call("GET", `/batches/${batchId}/contacts/${contactId}`)).body.attempts).toEqual([])
        expectError(await call("GET", `/batches/${batchId}/contacts/c999999`), 404, "contact_not_found")
        expectError(await call("GET", `/batches/${batchId}/contacts/nope`), 404, "contact_not_found")
        expectError(await call("GET", `/batches/no_such_batch/contacts/${contactId}`), 404, "batch_not_found")
        expectError(await call("GET", `/batches/${batchId}/contacts/${contactId}`, { org: otherOrganizationId }), 404, "batch_not_found")
        expectError(await call("GET", `/batches/${batchId}/contacts/c1%00`), 400, "validation_error")
        expectError(await call("GET", `/batches/${batchId}/contacts/${"c".repeat(300)}`), 400, "validation_error")
      })
    })

    describe("search", () => {
      const people = [
        { phone: phone(1), name: "Ann Lee", plan: "gold" },
        { phone: phone(2), name: "Joanna 100% Real_Name" },
        { phone: phone(3), name: "O'Brien \"Junior\"" },
        { phone: phone(4), name: "Zed" }
      ]
      const names = (reply: { body: any }) => reply.body.contacts.map((c: any) => c.name)

      it("finds names by case-insensitive substring and numbers by digits, with status and paging", async () => {
        const batchId = await create({ draft: true, contacts: people })
        const search = (query: string) => call("GET", `/batches/${batchId}/contacts?${query}`)
        expect(names(await search("search=ANN"))).toEqual(["Ann Lee", "Joanna 100% Real_Name"])
        expect((await search("search=ann")).body).toMatchObject({ total: 2, page: 1, hasMore: false, nextCursor: null })
        expect(names(await search(`search=${encodeURIComponent("30000-703")}`))).toEqual([people[2]!.name])
        expect(names(await search(`search=${encodeURIComponent("+49 151")}`))).toHaveLength(4)
        expect(names(await search(`search=${encodeURIComponent("+1 49")}`))).toEqual([])
        expect(names(await search("search=ann&status=pending"))).toHaveLength(2)
        expect((await search("search=ann&status=completed")).body).toMatchObject({ contacts: [], total: 0 })

        const first = await search(`search=${encodeURIComponent("+49")}&pageSize=3`)
        expect(first.body).toMatchObject({ total: 4, hasMore: true })
        const next = await search(`search=${encodeURIComponent("+49")}&pageSize=3&cursor=${first.body.nextCursor}`)
        expect(next.body).toMatchObject({ page: 0, total: 4, hasMore: false, nextCursor: null })
        expect(names(next)).toEqual(["Zed"])
        expect(names(await search(`search=${encodeURIComponent("+49")}&pageSize=3&page=2`))).toEqual(["Zed"])
        // A cursor is bound to its search.
        expectError(await search(`search=zed&pageSize=3&cursor=${first.body.nextCursor}`), 400, "invalid_cursor")
        // The batch read takes the same search.
        const details = await call("GET", `/batches/${batchId}?contactsSearch=lee`)
        expect(details.body).toMatchObject({ contactsTotal: 1, totalContacts: 4 })
      })

      it("takes SQL wildcards, backslashes and quotes literally, and refuses NUL, blank and overlong searches", async () => {
        const batchId = await create({ draft: true, contacts: people })
        const search = (text: string) => call("GET", `/batches/${batchId}/contacts?search=${encodeURIComponent(text)}`)
        expect(names(await search("%"))).toEqual(["Joanna 100% Real_Name"])
        expect(names(await search("_"))).toEqual(["Joanna 100% Real_Name"])
        expect(names(await search("a_n"))).toEqual([])
        expect(names(await search("o'brien"))).toEqual([people[2]!.name])
        expect(names(await search("\"junior\""))).toEqual([people[2]!.name])
        expect(names(await search("\\"))).toEqual([])
        expect(names(await search("'; DROP TABLE outdial_contacts; --"))).toEqual([])
        expectError(await search("an\u0000n"), 400, "validation_error")
        expectError(await search("   "), 400, "validation_error")
        expectError(await search("a".repeat(101)), 400, "validation_error")
        expectError(await call("GET", `/batches/${batchId}/contacts?search=a&search=b`), 400, "validation_error")
        expectError(await call("GET", `/batches/${batchId}/contacts?status=nope`), 400, "invalid_contact_status")
        expectError(await call("GET", `/batches/${batchId}/contacts?pageSize=501`), 400, "invalid_page_size")
        expectError(await call("GET", `/batches/${batchId}/contacts?cursor=bogus`), 400, "invalid_cursor")
        expectError(await call("GET", `/batches/${batchId}?contactsSearch=${"b".repeat(101)}`), 400, "validation_error")
        expectError(await call("GET", `/batches/${batchId}/contacts?search=ann`, { org: otherOrganizationId }), 404, "batch_not_found")
        expectError(await call("GET", "/batches/no_such_batch/contacts?search=ann"), 404, "batch_not_found")
      })
    })

    describe("export", () => {
      const formulaRows = [
        { phone: phone(11), name: "=HYPERLINK(\"http://evil.example\",\"click\")", externalId: "crm-1", note: "-2+3", code: "@SUM(A1)" },
        { phone: phone(12), name: "Plain, with comma", externalId: "crm-2", note: "\tTabbed", code: "ok" }
      ]

      it("streams the contacts with results and custom fields, formula cells opened as text", async () => {
        const batchId = await create({ draft: true, contacts: formulaRows })
        const response = await fetch(`${server.url}/batches/${batchId}/contacts.csv`, { headers: { "x-organization-id": Server.organizationId } })
        expect(response.status).toBe(200)
        expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8")
        expect(response.headers.get("content-disposition")).toBe(`attachment; filename="${batchId}-contacts.csv"`)
        const bytes = new Uint8Array(await response.arrayBuffer())
        expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
        const text = new TextDecoder().decode(bytes)
        const [header, first, second] = cellsOf(text)
        expect(header).toEqual([
          "contact_id", "status", "attempts", "max_attempts", "last_outcome", "sip_code", "duration_seconds",
          "failure_reason", "last_attempt_at", "next_retry_at", "completed_at", "external_id", "name", "phone", "code", "note"
        ])
        const row = (cells: Array<string>) => Object.fromEntries(header!.map((name, i) => [name, cells[i]]))
        expect(row(first!)).toMatchObject({
          status: "pending",
          attempts: "0",
          external_id: "crm-1",
          // A spreadsheet shows these as text: the formula never runs.
          name: "'=HYPERLINK(\"http://evil.example\",\"click\")",
          phone: `'${phone(11)}`,
          note: "'-2+3",
          code: "'@SUM(A1)"
        })
        expect(row(second!)).toMatchObject({ name: "Plain, with comma", note: "'\tTabbed", code: "ok" })
      })

      it("imports an export back to the same contacts", async () => {
        const batchId = await create({ draft: true, contacts: formulaRows })
        const stored = (await call("GET", `/batches/${batchId}/contacts`)).body.contacts
        const expected = stored.map((c: any) => ({ phone: c.phoneNumber, name: c.name, externalId: c.externalId, customFields: c.customFields }))
        const importable = await call("GET", `/batches/${batchId}/contacts.csv?importable=true`)
        expect(cellsOf(importable.body)[0]).toEqual(["external_id", "name", "phone", "code", "note"])
        const again = await call("POST", "/batches/validate", { body: csvForm(importable.body) })
        expect(again.status).toBe(200)
        expect(again.body.rejected).toEqual([])
        expect(again.body.accepted.map((c: any) => ({ phone: c.phone, name: c.name, externalId: c.externalId, customFields: c.customFields })))
          .toEqual(expected)
        // The full export imports too: its result columns come back as custom fields.
        const full = await call("GET", `/batches/${batchId}/contacts.csv`)
        const fromFull = await call("POST", "/batches/validate", { body: csvForm(full.body) })
        expect(fromFull.body.accepted.map((c: any) => [c.phone, c.name, c.customFields.note])).toEqual(
          expected.map((c: any) => [c.phone, c.name, c.customFields.note])
        )
      })

      it("exports a whole batch, filtered by status and search", async () => {
        const people = Array.from({ length: Server.maxContacts }, (_, i) => ({ phone: `+49151400${String(10_000 + i)}`, name: `Person ${i}` }))
        const batchId = await create({ draft: true, contacts: people })
        const all = cellsOf((await call("GET", `/batches/${batchId}/contacts.csv`)).body)
        expect(all).toHaveLength(1 + Server.maxContacts)
        expect(all.slice(1).map((cells) => cells[12])).toEqual(people.map((p) => p.name))
        const searched = cellsOf((await call("GET", `/batches/${batchId}/contacts.csv?search=person%2019&status=pending`)).body)
        expect(searched.slice(1).map((cells) => cells[12])).toEqual(["Person 19", ...Array.from({ length: 10 }, (_, i) => `Person ${190 + i}`)])
        expect(cellsOf((await call("GET", `/batches/${batchId}/contacts.csv?status=completed`)).body)).toHaveLength(1)
      })

      it("refuses the export of a missing batch, another organization's, or with bad filters, before any byte", async () => {
        const batchId = await create({ draft: true, contacts: [{ phone: phone(20) }] })
        expectError(await call("GET", "/batches/no_such_batch/contacts.csv"), 404, "batch_not_found")
        expectError(await call("GET", `/batches/${batchId}/contacts.csv`, { org: otherOrganizationId }), 404, "batch_not_found")
        expectError(await call("GET", `/batches/${batchId}/contacts.csv?status=nope`), 400, "invalid_contact_status")
        expectError(await call("GET", `/batches/${batchId}/contacts.csv?search=%00`), 400, "validation_error")
        expectError(await call("GET", `/batches/${batchId}/contacts.csv?importable=maybe`), 400, "validation_error")
      })

      it("answers a validation's and a create's rejected rows as CSV, neutralised", async () => {
        const contacts = [{ phone: phone(30), name: "Good" }, { phone: "=1+2", name: "@Bad", tier: "+vip" }, { phone: "12345", name: "Short" }]
        const validated = await call("POST", "/batches/validate?format=csv", { json: { contacts } })
        expect(validated.status).toBe(200)
        expect(validated.headers.get("content-type")).toBe("text/csv; charset=utf-8")
        const rows = cellsOf(validated.body)
        expect(rows[0]).toEqual(["row", "error_code", "error_field", "error_message", "phone", "name", "external_id", "ignore_e164_validation", "tier"])
        expect(rows.slice(1).map((cells) => [cells[0], cells[4], cells[5], cells[8]])).toEqual([
          ["2", "'=1+2", "'@Bad", "'+vip"],
          ["3", "12345", "Short", ""]
        ])
        const byAccept = await call("POST", "/batches/validate", { json: { contacts }, headers: { accept: "text/csv" } })
        expect(byAccept.body).toBe(validated.body)
        expect((await call("POST", "/batches/validate", { json: { contacts } })).body.rejectedContacts).toBe(2)

        const created = await call("POST", "/batches?format=csv", { json: { name: "Rejects", agentId: "agent_sales", draft: true, contacts } })
        expect(created.status).toBe(201)
        const createdId = created.headers.get("outdial-batch-id")!
        expect(created.headers.get("location")).toBe(`/api/v1/batches/${createdId}`)
        expect(cellsOf(created.body)).toEqual(rows)
        expect((await call("GET", `/batches/${createdId}`)).body.totalContacts).toBe(1)
      })
    })
  })

await eachStore("contact reads", "outdial_reads", suite)

describe("the OpenAPI document", () => {
  it("describes the contact reads, the export as text/csv", async () => {
    const { OpenApi } = await import("../src/index.ts")
    const paths = OpenApi.document.paths as Record<string, any>
    expect(paths["/batches/{id}/contacts"].get.responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/ContactPage" })
    expect(paths["/batches/{id}/contacts/{contactId}"].get.responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/ContactDetails" })
    expect(Object.keys(paths["/batches/{id}/contacts.csv"].get.responses["200"].content)).toEqual(["text/csv"])
    expect(paths["/batches/{id}/contacts"].get.parameters.map((p: any) => p.name)).toEqual(["status", "search", "page", "pageSize", "cursor"])
    expect(Object.keys(paths["/batches/validate"].post.responses["200"].content)).toEqual(["application/json", "text/csv"])
  })
})
