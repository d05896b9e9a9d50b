/**
 * The batch API over real HTTP on loopback, the router mounted under
 * `/api/v1` inside a host app, against the in-memory store and PostgreSQL.
 */
import { BatchStore, MemoryBatchStore, OutdialError } from "@outdial/core"
import { Validator } from "@seriousme/openapi-schema-validator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { client, expectError } from "./client.ts"
import * as Server from "./server.ts"
import { eachStore } from "./stores.ts"
import {
  alwaysAnswers,
  alwaysBusy,
  brokeOrganizationId,
  maxContacts,
  maxFileBytes,
  organizationId,
  otherOrganizationId
} from "./server.ts"

const fixturesDir = fileURLToPath(new URL("../../core/test/fixtures/contacts/", import.meta.url))
const fixture = (name: string) => readFileSync(fixturesDir + name)

const phones = (count: number, offset = 0) =>
  Array.from({ length: count }, (_, i) => `+49151${String(30_000_000 + offset + i)}`)
const rows = (count: number, offset = 0) => phones(count, offset).map((phone, i) => ({ phone, name: `Contact ${i + 1}` }))

const quickRetry = { maxAttempts: 1, timezone: "UTC" }

const suite = (name: string, store: () => Layer.Layer<BatchStore.BatchStore, unknown>) =>
  describe(name, () => {
    let server: Server.TestServer
    beforeAll(async () => {
      server = await Server.start(store())
    }, 60_000)
    afterAll(async () => {
      await server?.close()
    })

    const call = client(() => server.url)

    const form = (fields: Record<string, string>, file?: { readonly name: string; readonly bytes: Uint8Array; readonly type?: string }) => {
      const data = new FormData()
      for (const [key, value] of Object.entries(fields)) data.append(key, value)
      if (file !== undefined) data.append("file", new Blob([file.bytes], { type: file.type ?? "text/csv" }), file.name)
      return data
    }

    const create = async (input: Record<string, unknown>, org = organizationId) => {
      const reply = await call("POST", "/batches", { org, json: { name: "Test batch", agentId: "agent_sales", ...input } })
      expect(reply.status, JSON.stringify(reply.body)).toBe(201)
      return reply.body.batchJobId as string
    }
    const draft = (count = 3, org = organizationId) =>
      create({ draft: true, contacts: rows(count), ...(org === otherOrganizationId ? { agentId: "agent_other" } : {}) }, org)

    const waitForStatus = async (batchId: string, status: string) => {
      for (let i = 0; i < 400; i++) {
        const reply = await call("GET", `/batches/${batchId}`)
        if (reply.body.status === status) return reply.body
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      throw new Error(`batch ${batchId} never became ${status}`)
    }

    describe("documents", () => {
      it("serves a valid OpenAPI 3.1 document of every route", async () => {
        const reply = await call("GET", "/openapi.json", { org: null })
        expect(reply.status).toBe(200)
        const validator = new Validator()
        const result = await validator.validate(reply.body)
        expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([])
        expect(result.valid).toBe(true)
        expect(Object.keys(reply.body.paths)).toEqual(expect.arrayContaining([
          "/batches",
          "/batches/validate",
          "/batches/{id}",
          "/batches/{id}/contacts",
          "/batches/{id}/contacts/{contactId}",
          "/batches/{id}/schedule",
          "/batches/{id}/pause",
          "/batches/{id}/resume",
          "/batches/{id}/cancel",
          "/batches/{id}/retry",
          "/batches/{id}/events"
        ]))
      })
    })

    describe("create", () => {
      it("creates from JSON contacts and runs the batch to completion", async () => {
        const reply = await call("POST", "/batches", {
          json: { name: "JSON batch", fromPhoneNumberId: "num_1", contacts: rows(5), ...quickRetry }
        })
        expect(reply.status).toBe(201)
        expect(reply.body).toMatchObject({ status: "pending", totalContacts: 5, acceptedContacts: 5, rejectedContacts: 0 })
        expect(reply.body.estimatedCost).toMatch(/^\$?\d/)
        const done = await waitForStatus(reply.body.batchJobId, "completed")
        expect(done.progress.contactsProcessed).toBe(5)
        expect(done.contacts).toHaveLength(5)
      })

      it("reports feasibility against completeBy, and refuses an infeasible batch with 422 and its figures when asked", async () => {
        const completeBy = new Date(Date.now() + 3_600_000).toISOString()
        const input = { name: "Deadline", agentId: "agent_sales", concurrentCallLimit: 1, completeBy, contacts: rows(100), draft: true }
        const reported = await call("POST", "/batches", { json: input })
        expect(reported.status).toBe(201)
        expect(reported.body.feasibility).toMatchObject({ feasible: false, completeBy })
        expect(reported.body.feasibility.shortfallContacts).toBeGreaterThan(50)
        const refused = await call("POST", "/batches", { json: { ...input, refuseInfeasible: true } })
        expectError(refused, 422, "infeasible_batch")
        // The same figures, from a clock a moment later.
        expect(refused.body.error.details).toMatchObject({ completeBy, shortfallContacts: reported.body.feasibility.shortfallContacts })
        expect(Date.parse(refused.body.error.details.estimatedFinish)).toBeGreaterThan(Date.parse(completeBy))
        expect(refused.body.error.details.shortfallSeconds).toBeGreaterThan(0)
        const batch = await call("GET", `/batches/${reported.body.batchJobId}`)
        expect(batch.body.completeBy).toBe(completeBy)
      })

      it("stores recipient hours, blackout dates and holidays and shows them on the batch", async () => {
        const options = {
          recipientLocalHours: { start: "08:00", end: "21:00", workingDays: [1, 2, 3, 4, 5] },
          blackoutDates: ["2026-12-31", "2026-12-24"],
          holidays: { country: "us", region: "ca", zone: "recipient" }
        }
        const id = await create({ draft: true, contacts: rows(2), ...options })
        const batch = await call("GET", `/batches/${id}`)
        expect(batch.body).toMatchObject({
          recipientLocalHours: options.recipientLocalHours,
          blackoutDates: ["2026-12-24", "2026-12-31"],
          holidays: { country: "US", region: "CA", zone: "recipient" }
        })
        expect(batch.body.contacts[0]).toHaveProperty("nextEligibleAt", null)
      })

      it("takes a TalkifAI-style CSV with a `phone` column as multipart with form fields", async () => {
        const reply = await call("POST", "/batches", {
          body: form(
            { name: "TalkifAI CSV", fromPhoneNumberId: "num_1", concurrentCallLimit: "5", maxAttempts: "3", timezone: "UTC", draft: "true" },
            { name: "contacts.csv", bytes: fixture("talkifai.csv") }
          )
        })
        expect(reply.status, JSON.stringify(reply.body)).toBe(201)
        expect(reply.body).toMatchObject({ status: "draft", acceptedContacts: 2 })
        const batch = await call("GET", `/batches/${reply.body.batchJobId}`)
        expect(batch.body.concurrentCallLimit).toBe(5)
        expect(batch.body.contacts.map((c: any) => c.customFields)).toEqual([{ company: "Acme" }, { company: "Globex" }])
      })

      it("spools an upload to a temporary file and removes it once answered, accepted or refused", async () => {
        const spooled = () => readdirSync(server.spoolDirectory).length
        const before = spooled()
        expect(before).toBe(0)
        const ok = await call("POST", "/batches/validate", { body: form({}, { name: "contacts.csv", bytes: fixture("talkifai.csv") }) })
        expect(ok.status).toBe(200)
        const refused = await call("POST", "/batches/validate", { body: form({}, { name: "garbage.png", bytes: fixture("garbage.png") }) })
        expect(refused.status).toBe(415)
        expect(spooled()).toBe(before)
      })

      it("keeps the other columns of a `phone_number` file as dynamic variables", async () => {
        const reply = await call("POST", "/batches", {
          body: form(
            { name: "Loans", agentId: "agent_sales", defaultCountry: "IN", draft: "true" },
            { name: "loans.xlsx", bytes: fixture("loans.xlsx"), type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" }
          )
        })
        expect(reply.status, JSON.stringify(reply.body)).toBe(201)
        const batch = await call("GET", `/batches/${reply.body.batchJobId}`)
        const first = batch.body.contacts[0]
        expect(first.phoneNumber).toBe("+919876543210")
        expect(first.customFields).toMatchObject({ customer_name: "Priya Sharma", loan_amount: "500000", product: "home_loan" })
      })

      it("reads both spellings of the ignore flag", async () => {
        for (const file of ["dashboard.csv", "ignore-camel.csv"]) {
          const reply = await call("POST", "/batches/validate", { body: form({}, { name: file, bytes: fixture(file) }) })
          expect(reply.status).toBe(200)
          expect(reply.body.acceptedContacts).toBeGreaterThan(0)
        }
        const camel = await call("POST", "/batches/validate", { body: form({}, { name: "x.csv", bytes: fixture("ignore-camel.csv") }) })
        // `+999…` is no country's number: accepted only where the row says to ignore validation.
        expect(camel.body.accepted.map((c: any) => c.phone)).toEqual(["+99912345678"])
        const json = await call("POST", "/batches/validate", {
          json: { contacts: [{ phone: "+99912345670", ignore_e164_validation: true }, { phoneNumber: "+99912345671", ignoreE164Validation: "true" }] }
        })
        expect(json.body.acceptedContacts).toBe(2)
      })

      it("validates without storing anything", async () => {
        const before = await call("GET", "/batches", { org: otherOrganizationId })
        const reply = await call("POST", "/batches/validate", {
          org: otherOrganizationId,
          json: { contacts: [{ phone: "+12025550101" }, { phone: "not a number" }, { phone: "+12025550101" }] }
        })
        expect(reply.status).toBe(200)
        expect(reply.body).toMatchObject({ rowsReceived: 3, totalContacts: 2, acceptedContacts: 2, rejectedContacts: 1 })
        expect(reply.body.rejected[0]).toMatchObject({ row: 2, code: "invalid_phone_format" })
        expect(reply.body.duplicates).toEqual([{ phone: "+12025550101", rows: [1, 3] }])
        const after = await call("GET", "/batches", { org: otherOrganizationId })
        expect(after.body.pagination.total).toBe(before.body.pagination.total)
      })

      it("names each rejected row's reason, the tenant's destination policy included", async () => {
        const reply = await call("POST", "/batches/validate", {
          org: otherOrganizationId,
          json: {
            contacts: [
              { phone: "+4915123000001" },
              { phone: "(202) 555-01x4" },
              { phone: "+1 202 000 0000" },
              { phone: "+442071838750" },
              { phone: "+49 900 1234567" },
              { name: "No phone" }
            ]
          }
        })
        expect(reply.status).toBe(200)
        expect(reply.body.rejected.map((r: any) => [r.row, r.code])).toEqual([
          [2, "invalid_phone_format"],
          [3, "invalid_number"],
          [4, "unsupported_country"],
          [5, "blocked_prefix"],
          [6, "missing_phone"]
        ])
      })

      it("replays an idempotent create, refuses the key with another body, and answers 409 while it runs", async () => {
        const key = `key-${Math.random()}`
        const body = { name: "Idempotent", agentId: "agent_sales", draft: true, contacts: rows(2) }
        const first = await call("POST", "/batches", { json: body, headers: { "Idempotency-Key": key } })
        const again = await call("POST", "/batches", { json: body, headers: { "X-Idempotency-Key": key } })
        expect(first.status).toBe(201)
        expect(again.status).toBe(201)
        expect(again.body).toEqual(first.body)
        const list = await call("GET", "/batches?limit=100")
        expect(list.body.batches.filter((b: any) => b.name === "Idempotent")).toHaveLength(1)
        expectError(
          await call("POST", "/batches", { json: { ...body, name: "Other" }, headers: { "Idempotency-Key": key } }),
          422,
          "idempotency_key_reused"
        )
        // A request holding the key (the first of two sent together) makes the second a 409.
        const running = `running-${Math.random()}`
        const raw = JSON.stringify(body)
        const fingerprint = `POST /batches ${createHash("sha256").update(raw).digest("hex")}`
        await server.runtime.runPromise(
          BatchStore.BatchStore.use((s) => s.reserveIdempotencyKey(`${organizationId}:create`, running, fingerprint))
        )
        expectError(await call("POST", "/batches", { json: body, headers: { "Idempotency-Key": running } }), 409, "idempotency_request_in_progress")
      })
    })

    describe("every error code", () => {
      it("400 validation_error: bad settings, malformed JSON, a body that is not an object", async () => {
        expectError(await call("POST", "/batches", { json: { contacts: rows(1) } }), 400, "validation_error")
        expectError(await call("POST", "/batches", { json: { name: "x", concurrentCallLimit: 500, contacts: rows(1) } }), 400, "validation_error")
        expectError(await call("POST", "/batches", { body: "{not json", headers: { "content-type": "application/json" } }), 400, "validation_error")
        expectError(await call("POST", "/batches", { json: "text" }), 400, "validation_error")
      })

      it("400 file errors: invalid_csv, missing_phone_column, no_valid_contacts with grouped rows, too_many_contacts", async () => {
        const upload = (name: string, bytes: Uint8Array) =>
          call("POST", "/batches", { body: form({ name: "File", agentId: "agent_sales" }, { name, bytes }) })
        const unterminated = await upload("bad.csv", fixture("unterminated.csv"))
        expectError(unterminated, 400, "invalid_csv")
        expectError(await upload("no-phone.csv", new TextEncoder().encode("name,company\nJohn,Acme\n")), 400, "missing_phone_column")
        const none = await upload("none.csv", new TextEncoder().encode("phone\nabc\n12\n"))
        expectError(none, 400, "no_valid_contacts")
        expect(JSON.stringify(none.body.error.details)).toContain("invalid_phone_format")
        expectError(await call("POST", "/batches", { json: { name: "Big", agentId: "agent_sales", contacts: rows(maxContacts + 1) } }), 400, "too_many_contacts")
      })

      it("413 file_too_large and 415 unsupported_file_type", async () => {
        const big = new TextEncoder().encode(`phone\n${"+12025550101\n".repeat(Math.ceil((maxFileBytes * 2) / 13))}`)
        const tooLarge = await call("POST", "/batches", { body: form({ name: "Big", agentId: "agent_sales" }, { name: "big.csv", bytes: big }) })
        expectError(tooLarge, 413, "file_too_large")
        const png = await call("POST", "/batches", {
          body: form({ name: "Picture", agentId: "agent_sales" }, { name: "garbage.png", bytes: fixture("garbage.png"), type: "image/png" })
        })
        expectError(png, 415, "unsupported_file_type")
        expectError(await call("POST", "/batches", { body: "phone\n+12025550101", headers: { "content-type": "text/plain" } }), 415, "unsupported_file_type")
      })

      it("400 invalid_timezone, past_scheduled_time, invalid_calling_window, no_outbound_agent, no_caller_number", async () => {
        const base = { name: "Settings", agentId: "agent_sales", contacts: rows(1) }
        expectError(await call("POST", "/batches", { json: { ...base, timezone: "Mars/Olympus" } }), 400, "invalid_timezone")
        expectError(await call("POST", "/batches", { json: { ...base, scheduledStartTime: "2001-01-01T00:00:00Z" } }), 400, "past_scheduled_time")
        expectError(await call("POST", "/batches", { json: { ...base, workingDays: [6], callingWindow: { start: "09:00", end: "09:00" } } }), 400, "invalid_calling_window")
        expectError(await call("POST", "/batches", { json: { ...base, agentId: "agent_draft" } }), 400, "no_outbound_agent")
        expectError(await call("POST", "/batches", { json: { ...base, agentId: "agent_bare" } }), 400, "no_caller_number")
      })

      it("400 invalid_contact_status, invalid_page, invalid_page_size; 404 batch_not_found, contact_not_found", async () => {
        const batchId = await draft()
        expectError(await call("GET", `/batches/${batchId}?contactStatus=bogus`), 400, "invalid_contact_status")
        expectError(await call("GET", `/batches/${batchId}?contactsPage=0`), 400, "invalid_page")
        expectError(await call("GET", `/batches/${batchId}?contactsPageSize=501`), 400, "invalid_page_size")
        expectError(await call("GET", "/batches/batch_missing"), 404, "batch_not_found")
        expectError(await call("DELETE", `/batches/${batchId}/contacts/c999999`), 404, "contact_not_found")
      })

      it("pages contacts by cursor as by page number, and answers a malformed, foreign or tampered cursor with 400 invalid_cursor", async () => {
        const batchId = await draft(7)
        const byPage: Array<string> = []
        for (let page = 1; page <= 4; page++) {
          const reply = await call("GET", `/batches/${batchId}?contactsPageSize=3&contactsPage=${page}`)
          byPage.push(...reply.body.contacts.map((c: { contactId: string }) => c.contactId))
        }
        const byCursor: Array<string> = []
        let cursor: string | null = null
        let reads = 0
        do {
          const reply: { status: number; body: any } = await call(
            "GET",
            `/batches/${batchId}?contactsPageSize=3${cursor === null ? "" : `&contactsCursor=${cursor}`}`
          )
          expect(reply.status).toBe(200)
          expect(reply.body.contactsHasMore).toBe(reply.body.contactsNextCursor !== null)
          expect(reply.body.contactsTotal).toBe(7)
          byCursor.push(...reply.body.contacts.map((c: { contactId: string }) => c.contactId))
          cursor = reply.body.contactsNextCursor
          reads++
        } while (cursor !== null)
        expect(reads).toBe(3)
        expect(byCursor).toEqual(byPage)
        expect(new Set(byCursor).size).toBe(7)

        const first = await call("GET", `/batches/${batchId}?contactsPageSize=2`)
        const valid: string = first.body.contactsNextCursor
        const other = await call("GET", `/batches/${await draft(3)}?contactsPageSize=2`)
        const tampered = Buffer.from(Buffer.from(valid, "base64url").toString().replace(/\.c(\d+)\./, ".c9$1.")).toString("base64url")
        for (const bad of ["not a cursor!", "AAAA", other.body.contactsNextCursor, tampered, "x".repeat(201)]) {
          expectError(await call("GET", `/batches/${batchId}?contactsCursor=${encodeURIComponent(bad)}`), 400, "invalid_cursor")
        }
        // A cursor binds its status filter too.
        expectError(await call("GET", `/batches/${batchId}?contactStatus=pending&contactsCursor=${valid}`), 400, "invalid_cursor")
        expect((await call("GET", `/batches/${batchId}?contactsCursor=${valid}&contactsPageSize=2`)).body.contacts.map(
          (c: { contactId: string }) => c.contactId
        )).toEqual(byPage.slice(2, 4))
      })

      it("402 insufficient_credits", async () => {
        const reply = await call("POST", "/batches", {
          org: brokeOrganizationId,
          json: { name: "Broke", agentId: "agent_broke", contacts: rows(1) }
        })
        expectError(reply, 402, "insufficient_credits")
        expect((await call("GET", "/batches", { org: brokeOrganizationId })).body.pagination.total).toBe(0)
      })

      it("422 invalid_state_transition names the state the batch is in", async () => {
        const batchId = await draft()
        const reply = await call("POST", `/batches/${batchId}/resume`)
        expectError(reply, 422, "invalid_state_transition")
        expect(reply.body.error.message).toContain("draft")
      })

      it("401 without an organization; 404 for an unknown route", async () => {
        expectError(await call("GET", "/batches", { org: null }), 401, "unauthorized")
        expectError(await call("GET", "/nothing-here"), 404, "not_found")
      })

      it("lets a path it does not know through to the host's routes under the same prefix", async () => {
        const reply = await call("GET", "/host/ping")
        expect([reply.status, reply.body]).toEqual([200, { host: true }])
      })

      it("behind the host's express.json(), reads the body the host parsed", async () => {
        const url = server.parsedUrl
        const created = await call("POST", "/batches", {
          url,
          json: { name: "Parsed by the host", agentId: "agent_sales", draft: true, contacts: rows(3, 900) }
        })
        expect(created.status, JSON.stringify(created.body)).toBe(201)
        expect(created.body.totalContacts).toBe(3)
        const validated = await call("POST", "/batches/validate", { url, json: rows(2, 910) })
        expect(validated.status, JSON.stringify(validated.body)).toBe(200)
        expectError(await call("POST", "/batches", { url, json: { agentId: "agent_sales", contacts: rows(1, 920) } }), 400, "validation_error")
        // Multipart is left alone by express.json(): the router still streams it.
        const upload = await call("POST", "/batches", {
          url,
          body: form({ name: "Upload", agentId: "agent_sales", draft: "true" }, { name: "c.csv", bytes: new TextEncoder().encode(`phone\n${phones(1, 930)[0]}\n`) })
        })
        expect(upload.status, JSON.stringify(upload.body)).toBe(201)
      })
    })

    describe("drafts and the lifecycle", () => {
      it("edits a draft, adds and removes contacts, schedules, pauses, resumes, cancels, deletes", async () => {
        const batchId = await draft(2)
        const patched = await call("PATCH", `/batches/${batchId}`, { json: { name: "Renamed", concurrentCallLimit: 2 } })
        expect(patched.status).toBe(200)
        expect(patched.body).toMatchObject({ name: "Renamed", concurrentCallLimit: 2 })

        const key = `add-${Math.random()}`
        const added = await call("POST", `/batches/${batchId}/contacts`, {
          json: { contacts: [{ phone: phones(1, 500)[0], externalId: "crm-1" }] },
          headers: { "Idempotency-Key": key }
        })
        expect(added.status).toBe(200)
        expect(added.body).toMatchObject({ added: 1, skipped: 0, totalContacts: 3 })
        const replayed = await call("POST", `/batches/${batchId}/contacts`, {
          json: { contacts: [{ phone: phones(1, 500)[0], externalId: "crm-1" }] },
          headers: { "Idempotency-Key": key }
        })
        expect(replayed.body).toEqual(added.body)
        const fromFile = await call("POST", `/batches/${batchId}/contacts`, {
          body: form({}, { name: "more.csv", bytes: fixture("talkifai.csv") })
        })
        expect(fromFile.body).toMatchObject({ added: 2, totalContacts: 5 })

        const page = await call("GET", `/batches/${batchId}?contactsPageSize=2&contactsPage=2`)
        expect(page.body).toMatchObject({ contactsTotal: 5, contactsPage: 2, contactsPageSize: 2, contactsHasMore: true })
        const removed = await call("DELETE", `/batches/${batchId}/contacts/${page.body.contacts[0].contactId}`)
        expect(removed.status).toBe(204)
        expect((await call("GET", `/batches/${batchId}`)).body.totalContacts).toBe(4)

        const later = new Date(Date.now() + 3_600_000).toISOString()
        const scheduled = await call("POST", `/batches/${batchId}/schedule`, { json: { scheduledStartTime: later } })
        expect(scheduled.body).toMatchObject({ status: "scheduled" })
        expectError(await call("PATCH", `/batches/${batchId}`, { json: { name: "Too late" } }), 422, "invalid_state_transition")
        expect((await call("POST", `/batches/${batchId}/pause`)).body.status).toBe("paused")
        expect((await call("POST", `/batches/${batchId}/resume`)).body.status).toBe("scheduled")
        const cancelled = await call("POST", `/batches/${batchId}/cancel`)
        expect(cancelled.body.status).toBe("cancelled")
        const final = await call("GET", `/batches/${batchId}?contactStatus=cancelled`)
        expect(final.body.contactsTotal).toBe(4)
        expect((await call("DELETE", `/batches/${batchId}`)).status).toBe(204)
        expectError(await call("GET", `/batches/${batchId}`), 404, "batch_not_found")
      })

      it("retries the failures of a completed batch", async () => {
        const batchId = await create({ contacts: [{ phone: alwaysBusy }, { phone: alwaysAnswers }], ...quickRetry })
        await waitForStatus(batchId, "completed")
        const retried = await call("POST", `/batches/${batchId}/retry`, { json: { extraAttempts: 1 } })
        expect(retried.status).toBe(200)
        expect(retried.body.status).toBe("running")
        await waitForStatus(batchId, "completed")
      })

      it("lists batches with filters and pagination", async () => {
        await draft(1)
        const list = await call("GET", "/batches?status=draft&limit=1&offset=0")
        expect(list.status).toBe(200)
        expect(list.body.batches).toHaveLength(1)
        expect(list.body.batches[0].status).toBe("draft")
        expect(list.body.pagination).toMatchObject({ limit: 1, offset: 0, hasMore: true })
        expectError(await call("GET", "/batches?limit=1000"), 400, "validation_error")
      })
    })

    describe("as the seeds' clients expect", () => {
      it("counts stored contacts as totalContacts everywhere, rows received beside it", async () => {
        const [first, second] = phones(2, 700)
        const reply = await call("POST", "/batches", {
          json: {
            name: "Counts",
            agentId: "agent_sales",
            draft: true,
            // The second row repeats the first's external id: accepted, stored once.
            contacts: [{ phone: first, external_id: "crm-1" }, { phone: second, external_id: "crm-1" }, { phone: "nope" }]
          }
        })
        expect(reply.status).toBe(201)
        expect(reply.body).toMatchObject({ rowsReceived: 3, acceptedContacts: 2, rejectedContacts: 1, totalContacts: 1 })
        expect((await call("GET", `/batches/${reply.body.batchJobId}`)).body.totalContacts).toBe(1)
      })

      it("keeps a number without a country code as written when the row says to ignore validation", async () => {
        const kept = await call("POST", "/batches/validate", {
          json: { contacts: [{ phone: "(123) 456-7890", ignore_e164_validation: true }, { phone: "1234567890" }] }
        })
        expect(kept.status).toBe(200)
        expect(kept.body.accepted.map((c: any) => c.phone)).toEqual(["1234567890"])
        expect(kept.body.rejected).toEqual([expect.objectContaining({ row: 2, code: "invalid_phone_format" })])
      })

      it("trims names and refuses a blank one", async () => {
        const created = await call("POST", "/batches", { json: { name: "  Spring renewals  ", agentId: "agent_sales", draft: true } })
        expect(created.status).toBe(201)
        expect((await call("GET", `/batches/${created.body.batchJobId}`)).body.name).toBe("Spring renewals")
        expectError(await call("POST", "/batches", { json: { name: "   ", agentId: "agent_sales", draft: true } }), 400, "validation_error")
        expectError(await call("PATCH", `/batches/${created.body.batchJobId}`, { json: { name: "\t " } }), 400, "validation_error")
      })

      it("takes an empty phoneNumberIds list as the agent's numbers, on create and on edit", async () => {
        const created = await call("POST", "/batches", { json: { name: "Numbers", agentId: "agent_sales", draft: true, phoneNumberIds: [] } })
        expect(created.status).toBe(201)
        const batchId = created.body.batchJobId
        expect((await call("GET", `/batches/${batchId}`)).body.phoneNumberIds).toEqual(["num_1", "num_2"])
        await call("PATCH", `/batches/${batchId}`, { json: { phoneNumberIds: ["num_2"] } })
        const edited = await call("PATCH", `/batches/${batchId}`, { json: { phoneNumberIds: [] } })
        expect(edited.status).toBe(200)
        expect(edited.body).toMatchObject({ agentId: "agent_sales", phoneNumberIds: ["num_1", "num_2"] })
      })

      it("refuses to schedule a draft without contacts as a lifecycle refusal, saying why", async () => {
        const created = await call("POST", "/batches", { json: { name: "Empty", agentId: "agent_sales", draft: true } })
        const refused = await call("POST", `/batches/${created.body.batchJobId}/schedule`, { json: {} })
        expectError(refused, 422, "invalid_state_transition")
        expect(refused.body.error.message).toBe("Cannot schedule a batch that is draft: it has no contacts yet")
        expect((await call("GET", `/batches/${created.body.batchJobId}`)).body.status).toBe("draft")
      })

      it("keeps a rejected row's data, and lists the custom variables found", async () => {
        const [good] = phones(1, 760)
        const reply = await call("POST", "/batches/validate", {
          json: { contacts: [{ phone: good, plan: "basic" }, { phone: "12345", name: "Ann", plan: "pro", external_id: "crm-7" }] }
        })
        expect(reply.status).toBe(200)
        expect(reply.body.variables).toEqual(["plan"])
        expect(reply.body.rejected).toEqual([expect.objectContaining({
          row: 2,
          code: "invalid_phone_format",
          contact: { phone: "12345", name: "Ann", externalId: "crm-7", ignoreE164Validation: false, customFields: { plan: "pro" } }
        })])
      })

      it("reads a file's columns as mapped, and refuses a mapping to a column it lacks", async () => {
        const [first, second] = phones(2, 780)
        const file = { name: "kunden.csv", bytes: Buffer.from(`Telefon,Nombre,Kunden-ID,Tarif\n${first},Ana,k-1,pro\n${second},Bea,k-2,basic\n`) }
        const mapped = await call("POST", "/batches/validate", {
          body: form({ columnMapping: JSON.stringify({ phone: "telefon", name: "Nombre", externalId: "Kunden-ID" }) }, file)
        })
        expect(mapped.status).toBe(200)
        expect(mapped.body.accepted.map((c: any) => [c.phone, c.name, c.externalId])).toEqual([[first, "Ana", "k-1"], [second, "Bea", "k-2"]])
        expect(mapped.body.variables).toEqual(["Tarif"])
        const unknown = await call("POST", "/batches/validate", { body: form({ columnMapping: JSON.stringify({ phone: "Handy" }) }, file) })
        expectError(unknown, 400, "validation_error")
        expect(unknown.body.error.message).toBe('columnMapping.phone: the file has no column "Handy"')
        const wrongType = await call("POST", "/batches/validate", { json: { columnMapping: { phone: 7 }, contacts: [{ phone: first }] } })
        expectError(wrongType, 400, "validation_error")
        const unmapped = await call("POST", "/batches/validate", { body: form({}, file) })
        expectError(unmapped, 400, "missing_phone_column")
        expect(unmapped.body.error.details.suggestions).toEqual(["Telefon"])
        const created = await call("POST", "/batches", {
          body: form({ name: "Mapped", agentId: "agent_sales", draft: "true", columnMapping: JSON.stringify({ phone: "Telefon" }) }, file)
        })
        expect(created.status).toBe(201)
        expect(created.body).toMatchObject({ totalContacts: 2, variables: ["Nombre", "Kunden-ID", "Tarif"] })
      })

      it("refuses a whole create under strict validation when any row is rejected, storing nothing", async () => {
        const before = (await call("GET", "/batches?limit=1")).body.pagination.total
        const [good] = phones(1, 790)
        const refused = await call("POST", "/batches", {
          json: { name: "Strict", agentId: "agent_sales", draft: true, strictValidation: true, contacts: [{ phone: good }, { phone: "12345" }] }
        })
        expectError(refused, 400, "validation_error")
        expect(refused.body.error.details.errorGroups).toEqual([{ code: "invalid_phone_format", message: "Not a phone number", count: 1, rows: [2] }])
        expect((await call("GET", "/batches?limit=1")).body.pagination.total).toBe(before)
      })

      it("retries a cancelled batch over the contacts its cancel ended, saying how many", async () => {
        const batchId = await create({ contacts: rows(30, 820), concurrentCallLimit: 1, ...quickRetry })
        expect((await call("POST", `/batches/${batchId}/cancel`)).status).toBe(200)
        await waitForStatus(batchId, "cancelled")
        // The calls in flight at the cancel end on their own; then nothing moves.
        let ended = (await call("GET", `/batches/${batchId}`)).body.progress.statusBreakdown
        for (let i = 0; ended.dialing > 0 && i < 200; i++) {
          await new Promise((resolve) => setTimeout(resolve, 25))
          ended = (await call("GET", `/batches/${batchId}`)).body.progress.statusBreakdown
        }
        expect(ended.cancelled).toBeGreaterThan(0)
        const retried = await call("POST", `/batches/${batchId}/retry`, { json: {} })
        expect(retried.status).toBe(200)
        // The contacts the cancel ended and the retryable failures of those it reached.
        const retryable = ended.no_answer + ended.busy + ended.timeout + ended.carrier_error + ended.failed
        expect(retried.body).toMatchObject({ status: "running", requeued: ended.cancelled + retryable })
        await waitForStatus(batchId, "completed")
        expect((await call("GET", `/batches/${batchId}`)).body.progress.statusBreakdown.cancelled).toBe(0)
      })

      it("refuses a retry with nothing to retry and changes nothing", async () => {
        const batchId = await create({ contacts: [{ phone: alwaysAnswers }], ...quickRetry })
        await waitForStatus(batchId, "completed")
        const before = (await call("GET", `/batches/${batchId}`)).body
        const refused = await call("POST", `/batches/${batchId}/retry`, { json: {} })
        expectError(refused, 422, "invalid_state_transition")
        expect(refused.body.error.message).toBe("Cannot retry a batch that is completed: nothing to retry")
        const after = (await call("GET", `/batches/${batchId}`)).body
        expect(after.status).toBe("completed")
        expect(after.timing).toEqual(before.timing)
      })
    })

    describe("live progress", () => {
      it("streams progress as Server-Sent Events until the batch is final", async () => {
        const batchId = await create({ contacts: rows(8, 200), concurrentCallLimit: 2, ...quickRetry })
        const response = await fetch(`${server.url}/batches/${batchId}/events`, { headers: { "x-organization-id": organizationId } })
        expect(response.status).toBe(200)
        expect(response.headers.get("content-type")).toContain("text/event-stream")
        const text = await response.text()
        const events = text.trim().split("\n\n").map((block) => {
          const [eventLine, dataLine] = block.split("\n")
          return { name: eventLine!.slice("event: ".length), data: JSON.parse(dataLine!.slice("data: ".length)) }
        })
        expect(events[0]!.name).toBe("progress")
        expect(events.at(-1)).toEqual({ name: "end", data: { status: "completed" } })
        const lastProgress = events.filter((e) => e.name === "progress").at(-1)!
        expect(lastProgress.data.progress.contactsProcessed).toBe(8)
        expect(events.some((e) => e.name === "contact")).toBe(true)
      })
    })

    describe("recipients of live batches, typed fields, unvalidated numbers (issue 16)", () => {
      const contactsOfStatus = async (batchId: string, status: string) =>
        (await call("GET", `/batches/${batchId}?contactStatus=${status}&contactsPageSize=100`)).body.contacts as Array<any>
      const waitForContact = async (batchId: string, status: string, count = 1) => {
        for (let i = 0; i < 400; i++) {
          const found = await contactsOfStatus(batchId, status)
          if (found.length >= count) return found
          await new Promise((resolve) => setTimeout(resolve, 25))
        }
        throw new Error(`batch ${batchId} never had ${count} ${status} contact(s)`)
      }

      it("adds contacts to a running batch, which dials them; removes a waiting one and refuses a dialed one", async () => {
        // A busy contact retried in an hour keeps the batch running.
        const batchId = await create({ contacts: [{ phone: alwaysBusy }], maxAttempts: 2, retryDelay: 3600, timezone: "UTC" })
        const [queued] = await waitForContact(batchId, "queued")
        const before = (await call("GET", `/batches/${batchId}`)).body
        expect(before.status).toBe("running")

        const key = `live-${Math.random()}`
        const body = { contacts: [{ phone: alwaysAnswers, externalId: "crm-live-1", seats: 3, vip: true }, { phone: alwaysBusy }] }
        const added = await call("POST", `/batches/${batchId}/contacts`, { json: body, headers: { "Idempotency-Key": key } })
        expect(added.status, JSON.stringify(added.body)).toBe(200)
        expect(added.body).toMatchObject({
          added: 2,
          skipped: 0,
          totalContacts: 3,
          acceptedContacts: 2,
          alreadyInBatch: [{ phone: alwaysBusy, rows: [2] }]
        })
        const replayed = await call("POST", `/batches/${batchId}/contacts`, { json: body, headers: { "Idempotency-Key": key } })
        expect(replayed.body).toEqual(added.body)
        // The same rows again without the key: the external id is skipped, the number flagged and, with dropDuplicates, skipped.
        const again = await call("POST", `/batches/${batchId}/contacts`, { json: { ...body, dropDuplicates: true } })
        expect(again.body).toMatchObject({ added: 0, skipped: 2, totalContacts: 3 })
        expect(again.body.alreadyInBatch.map((d: any) => d.phone).sort()).toEqual([alwaysAnswers, alwaysBusy].sort())

        const [answered] = await waitForContact(batchId, "completed")
        expect(answered).toMatchObject({ phoneNumber: alwaysAnswers, externalId: "crm-live-1", customFields: { seats: 3, vip: true } })
        const grown = (await call("GET", `/batches/${batchId}`)).body
        expect(grown).toMatchObject({ status: "running", totalContacts: 3 })
        expect(grown.progress.contactsProcessed).toBe(1)
        expect(grown.estimatedCost).not.toBe(before.estimatedCost)

        const dialed = await call("DELETE", `/batches/${batchId}/contacts/${answered.contactId}`)
        expectError(dialed, 422, "invalid_state_transition")
        expect(dialed.body.error.message).toBe("Cannot remove a contact that is completed: it has been dialed already")
        expect((await call("DELETE", `/batches/${batchId}/contacts/${queued.contactId}`)).status).toBe(204)
        expectError(await call("DELETE", `/batches/${batchId}/contacts/${queued.contactId}`), 404, "contact_not_found")
        expectError(await call("DELETE", `/batches/${batchId}/contacts/c99999999`), 404, "contact_not_found")
        expectError(await call("DELETE", `/batches/batch_missing/contacts/c1`), 404, "batch_not_found")
        expect((await call("GET", `/batches/${batchId}`)).body).toMatchObject({ status: "running", totalContacts: 2 })

        await call("POST", `/batches/${batchId}/cancel`)
        const late = await call("POST", `/batches/${batchId}/contacts`, { json: { contacts: rows(1, 900) } })
        expectError(late, 422, "invalid_state_transition")
        expect(late.body.error.message).toBe("Cannot add contacts to a batch that is cancelled")
        const [kept] = await contactsOfStatus(batchId, "completed")
        expectError(await call("DELETE", `/batches/${batchId}/contacts/${kept.contactId}`), 422, "invalid_state_transition")
      })

      it("adds to a scheduled and a paused batch from JSON and from a file, totals and estimate following", async () => {
        const later = new Date(Date.now() + 3_600_000).toISOString()
        const batchId = await create({ contacts: rows(2, 1000), scheduledStartTime: later })
        const before = (await call("GET", `/batches/${batchId}`)).body
        expect(before.status).toBe("scheduled")
        const fromFile = await call("POST", `/batches/${batchId}/contacts`, { body: form({}, { name: "more.csv", bytes: fixture("talkifai.csv") }) })
        expect(fromFile.status).toBe(200)
        expect(fromFile.body).toMatchObject({ added: 2, totalContacts: 4 })
        expect((await call("POST", `/batches/${batchId}/pause`)).body.status).toBe("paused")
        const fromJson = await call("POST", `/batches/${batchId}/contacts`, { json: { contacts: rows(1, 1100) } })
        expect(fromJson.body).toMatchObject({ added: 1, totalContacts: 5 })
        const pending = await contactsOfStatus(batchId, "pending")
        expect((await call("DELETE", `/batches/${batchId}/contacts/${pending[0].contactId}`)).status).toBe(204)
        expect((await call("POST", `/batches/${batchId}/resume`)).body.status).toBe("scheduled")
        const after = (await call("GET", `/batches/${batchId}`)).body
        expect(after).toMatchObject({ status: "scheduled", totalContacts: 4 })
        expect(after.progress.statusBreakdown.pending).toBe(4)
        expect(after.estimatedCost).not.toBe(before.estimatedCost)
        // A file's cells stay text.
        const fileContacts = (await contactsOfStatus(batchId, "pending")).filter((c) => c.row !== undefined && Object.keys(c.customFields).length > 0)
        for (const contact of fileContacts) for (const value of Object.values(contact.customFields)) expect(typeof value).toBe("string")
        await call("POST", `/batches/${batchId}/cancel`)
      })

      it("answers hostile rows on an add with a typed 4xx or a rejected row, storing nothing from them", async () => {
        const batchId = await draft(1)
        const add = (json: unknown) => call("POST", `/batches/${batchId}/contacts`, { json })
        expectError(await add({ contacts: [{ phone: phones(1, 1200)[0], note: "a\u0000b" }] }), 400, "validation_error")
        let deep: unknown = "x"
        for (let i = 0; i < 64; i++) deep = { deep }
        expectError(await add({ contacts: [{ phone: phones(1, 1201)[0], deep }] }), 400, "validation_error")
        expectError(await add({ contacts: [{ phone: phones(1, 1202)[0], ["__proto__"]: { admin: true } }] }), 400, "validation_error")
        expectError(await add({ contacts: "not a list" }), 400, "validation_error")
        expectError(await add({}), 400, "validation_error")
        expectError(await add({ contacts: [{ phone: "%_' OR 1=1 --" }] }), 400, "no_valid_contacts")
        // An object, a list or a number JSON cannot keep (1e400 reads as Infinity; past 2^53 an integer is rounded) rejects its row.
        const raw = `{"contacts":[{"phone":"${phones(1, 1203)[0]}","address":{"city":"Boston"}},` +
          `{"phone":"${phones(1, 1204)[0]}","tags":["a"]},{"phone":"${phones(1, 1205)[0]}","score":1e400},` +
          `{"phone":"${phones(1, 1206)[0]}","score":12345678901234567890},{"phone":"${phones(1, 1207)[0]}","score":-0.5e3}]}`
        const mixed = await call("POST", `/batches/${batchId}/contacts`, { body: raw, headers: { "content-type": "application/json" } })
        expect(mixed.status).toBe(200)
        expect(mixed.body.rejected.map((r: any) => [r.row, r.field, r.code])).toEqual([
          [1, "address", "invalid_field"],
          [2, "tags", "invalid_field"],
          [3, "score", "invalid_field"],
          [4, "score", "invalid_field"]
        ])
        expect(mixed.body).toMatchObject({ added: 1, totalContacts: 2 })
        const [, kept] = (await call("GET", `/batches/${batchId}`)).body.contacts
        expect(kept.customFields).toEqual({ score: -500 })
        const strict = await call("POST", `/batches/${batchId}/contacts`, {
          body: raw.replace('{"contacts"', '{"strictValidation":true,"contacts"'),
          headers: { "content-type": "application/json" }
        })
        expectError(strict, 400, "validation_error")
        expect((await call("GET", `/batches/${batchId}`)).body.totalContacts).toBe(2)
      })

      it("keeps JSON custom fields' types and marks a number kept as written under the ignore flag, dialing it as given", async () => {
        const validated = await call("POST", "/batches/validate", {
          json: { contacts: [{ phone: "(123) 456-7890", ignore_e164_validation: true, seats: 3, vip: false, note: null }] }
        })
        expect(validated.body.accepted).toEqual([
          { row: 1, phone: "1234567890", numberValidated: false, name: null, externalId: null, customFields: { seats: 3, vip: false, note: null } }
        ])
        const batchId = await create({
          contacts: [
            { phone: "(123) 456-7890", ignoreE164Validation: true, seats: 3, ratio: 0.5, vip: true, note: null, plan: "Pro" },
            { phone: alwaysAnswers }
          ],
          ...quickRetry
        })
        await waitForStatus(batchId, "completed")
        const contacts = (await call("GET", `/batches/${batchId}`)).body.contacts as Array<any>
        expect(contacts[0]).toMatchObject({
          phoneNumber: "1234567890",
          numberValidated: false,
          customFields: { seats: 3, ratio: 0.5, vip: true, note: null, plan: "Pro" },
          attemptCount: 1
        })
        expect(contacts[1]).toMatchObject({ phoneNumber: alwaysAnswers, numberValidated: true, customFields: {} })
      })
    })

    describe("tenancy", () => {
      it("answers 404 to another organization on every route", async () => {
        const batchId = await draft(2)
        const contactId = (await call("GET", `/batches/${batchId}`)).body.contacts[0].contactId
        const other = { org: otherOrganizationId }
        const routes: Array<[string, string, unknown?]> = [
          ["GET", `/batches/${batchId}`],
          ["PATCH", `/batches/${batchId}`, { name: "Mine now" }],
          ["DELETE", `/batches/${batchId}`],
          ["POST", `/batches/${batchId}/contacts`, { contacts: rows(1, 700) }],
          ["DELETE", `/batches/${batchId}/contacts/${contactId}`],
          ["POST", `/batches/${batchId}/schedule`, {}],
          ["POST", `/batches/${batchId}/pause`],
          ["POST", `/batches/${batchId}/resume`],
          ["POST", `/batches/${batchId}/cancel`],
          ["POST", `/batches/${batchId}/retry`, {}],
          ["GET", `/batches/${batchId}/events`]
        ]
        for (const [method, path, json] of routes) {
          expectError(await call(method, path, { ...other, json }), 404, "batch_not_found")
        }
        const list = await call("GET", "/batches?limit=100", other)
        expect(list.body.batches.map((b: any) => b.batchJobId)).not.toContain(batchId)
        // Untouched for its owner.
        expect((await call("GET", `/batches/${batchId}`)).body).toMatchObject({ status: "draft", totalContacts: 2, name: "Test batch" })
      })
    })
  })

await eachStore("router", "outdial_http", suite)

describe("a store that fails", () => {
  it("answers 500 store_error and keeps the cause out of the response", async () => {
    const failing = Layer.effect(BatchStore.BatchStore)(Effect.sync(() => ({
      ...MemoryBatchStore.make(),
      listBatches: () => Effect.fail(new OutdialError.StoreError({ message: "connection refused by db.internal:5432" }))
    })))
    const errorLogs: Array<string> = []
    const server = await Server.start(failing, { errorLogs })
    try {
      const response = await fetch(`${server.url}/batches`, { headers: { "x-organization-id": organizationId } })
      const body = await response.json() as any
      expect(response.status).toBe(500)
      expect(body.error).toMatchObject({ code: "store_error", details: null })
      // The driver's words go to the log with the request, never to the client.
      expect(body.error.message).not.toMatch(/db\.internal|connection refused/)
      expect(errorLogs).toHaveLength(1)
      expect(errorLogs[0]).toMatch(/GET \/api\/v1\/batches answered 500[\s\S]*connection refused by db\.internal:5432/)
    } finally {
      await server.close()
    }
  })
})
