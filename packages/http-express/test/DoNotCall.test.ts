/**
 * The do-not-call routes and the new batch options over real HTTP, on the
 * in-memory store and on PostgreSQL (PGlite when no server is reachable).
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { type BatchStore, MemoryBatchStore } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshDatabase, isReachable } from "../../adapter-postgres/test/database.ts"
import * as Server from "./server.ts"
import { organizationId, otherOrganizationId } from "./server.ts"

const suite = (name: string, store: () => Layer.Layer<BatchStore.BatchStore, unknown>) =>
  describe(name, () => {
    let server: Server.TestServer
    beforeAll(async () => {
      server = await Server.start(store())
    }, 60_000)
    afterAll(async () => {
      await server?.close()
    })

    const call = async (method: string, path: string, options: { readonly json?: unknown; readonly body?: FormData; readonly org?: string } = {}) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          "x-organization-id": options.org ?? organizationId,
          ...(options.json === undefined ? {} : { "content-type": "application/json" })
        },
        body: options.json === undefined ? options.body : JSON.stringify(options.json)
      })
      const text = await response.text()
      return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
    }
    const expectError = (reply: { status: number; body: any }, status: number, code: string) =>
      expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code })

    it("adds one or many numbers, checks, pages with a cursor and removes them", async () => {
      const one = await call("POST", "/do-not-call", { json: { number: "+1 (202) 555-0101", source: "crm" } })
      expect(one.status).toBe(200)
      expect(one.body.entries[0]).toMatchObject({ number: "+12025550101", source: "crm", expiresAt: null })
      const many = await call("POST", "/do-not-call", { json: { numbers: ["+12025550102", { number: "+12025550103", expiresAt: "2099-01-01T00:00:00Z" }] } })
      expect(many.body.added).toBe(2)

      const check = await call("GET", `/do-not-call/${encodeURIComponent("+12025550103")}`)
      expect(check.body).toMatchObject({ number: "+12025550103", listed: true, entry: { expiresAt: "2099-01-01T00:00:00.000Z" } })
      expect((await call("GET", `/do-not-call/${encodeURIComponent("+12025550101")}`, { org: otherOrganizationId })).body.listed).toBe(false)

      const first = await call("GET", "/do-not-call?limit=2")
      expect(first.body.items.map((item: any) => item.number)).toEqual(["+12025550101", "+12025550102"])
      const second = await call("GET", `/do-not-call?limit=2&cursor=${first.body.nextCursor}`)
      expect(second.body).toEqual({ items: [expect.objectContaining({ number: "+12025550103" })], nextCursor: null })

      const removed = await call("DELETE", `/do-not-call/${encodeURIComponent("+12025550102")}`)
      expect(removed.body).toEqual({ number: "+12025550102", removed: true })
      expect((await call("GET", `/do-not-call/${encodeURIComponent("+12025550102")}`)).body.listed).toBe(false)
    })

    it("imports a CSV file as a stream, reporting the rows it refused", async () => {
      const csv = "phone,name\n+12025550201,A\nnot a number,B\n+12025550202,C\n"
      const data = new FormData()
      data.append("source", "carrier_list")
      data.append("file", new Blob([csv], { type: "text/csv" }), "dnc.csv")
      const reply = await call("POST", "/do-not-call/import", { body: data })
      expect(reply.status, JSON.stringify(reply.body)).toBe(200)
      expect(reply.body).toMatchObject({ rowsReceived: 3, added: 2, rejectedRows: 1 })
      expect(reply.body.rejected[0]).toMatchObject({ row: 3 })
      const check = await call("GET", `/do-not-call/${encodeURIComponent("+12025550202")}`)
      expect(check.body.entry.source).toBe("carrier_list")
      expectError(await call("POST", "/do-not-call/import", { json: { numbers: [] } }), 400, "validation_error")
    })

    it("warns of listed numbers with their rows at validate and create", async () => {
      await call("POST", "/do-not-call", { json: { number: "+12025550301" } })
      const contacts = [{ phone: "+12025550300" }, { phone: "+12025550301" }]
      const validated = await call("POST", "/batches/validate", { json: { contacts } })
      expect(validated.body.doNotCall).toEqual([{ phone: "+12025550301", rows: [2] }])
      const created = await call("POST", "/batches", { json: { name: "DNC", agentId: "agent_sales", draft: true, contacts } })
      expect(created.status).toBe(201)
      expect(created.body.doNotCall).toEqual([{ phone: "+12025550301", rows: [2] }])
    })

    it("takes frequencyCap and maxCallsPerSecondPerNumber on a batch and shows them", async () => {
      const created = await call("POST", "/batches", {
        json: {
          name: "Capped",
          agentId: "agent_sales",
          draft: true,
          contacts: [{ phone: "+12025550400" }],
          frequencyCap: { maxAttempts: 3, maxConnected: 1, periodHours: 168 },
          maxCallsPerSecondPerNumber: 5
        }
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const batch = await call("GET", `/batches/${created.body.batchJobId}`)
      expect(batch.body).toMatchObject({ frequencyCap: { maxAttempts: 3, maxConnected: 1, periodHours: 168 }, maxCallsPerSecondPerNumber: 5 })
      const edited = await call("PATCH", `/batches/${created.body.batchJobId}`, { json: { frequencyCap: null } })
      expect(edited.body.frequencyCap).toBeNull()
    })

    it("refuses malformed numbers, cursors and limits, negative caps and a CPS of 0 with typed 400s", async () => {
      for (const json of [
        { number: "12025550101" },
        { number: "+1202555010x" },
        { number: "+1202555\u00000101" },
        { number: 12025550101 },
        { numbers: ["+12025550101", "%"] },
        { numbers: [] },
        { number: "+12025550101", source: "DROP TABLE" },
        { number: "+12025550101", expiresAt: "yesterday" },
        { number: "+12025550101", extra: true }
      ]) {
        expectError(await call("POST", "/do-not-call", { json }), 400, "validation_error")
      }
      expectError(await call("GET", "/do-not-call/abc"), 400, "validation_error")
      expectError(await call("DELETE", `/do-not-call/${encodeURIComponent("+1%")}`), 400, "validation_error")
      expectError(await call("GET", "/do-not-call?cursor=%25%25"), 400, "invalid_cursor")
      expectError(await call("GET", "/do-not-call?limit=-1"), 400, "invalid_page_size")
      expectError(await call("GET", "/do-not-call?limit=1&limit=2"), 400, "validation_error")
      const base = { name: "Bad", agentId: "agent_sales", contacts: [{ phone: "+12025550500" }] }
      for (const bad of [
        { frequencyCap: { maxAttempts: -1, periodHours: 24 } },
        { frequencyCap: { maxAttempts: 2, periodHours: 0 } },
        { frequencyCap: { maxAttempts: 2 } },
        { maxCallsPerSecondPerNumber: 0 },
        { maxCallsPerSecondPerNumber: -3 },
        { maxCallsPerSecondPerNumber: "5" }
      ]) {
        expectError(await call("POST", "/batches", { json: { ...base, ...bad } }), 400, "validation_error")
      }
    })

    it("describes the routes and options in the OpenAPI document", async () => {
      const document = (await call("GET", "/openapi.json")).body
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(["/do-not-call", "/do-not-call/import", "/do-not-call/{number}"]))
      expect(document.components.schemas.CreateBatch.properties).toHaveProperty("frequencyCap")
      expect(document.components.schemas.CreateBatch.properties).toHaveProperty("maxCallsPerSecondPerNumber")
      expect(document.components.schemas.ValidationReport.properties).toHaveProperty("doNotCall")
    })
  })

suite("do-not-call routes on the in-memory store", () => MemoryBatchStore.layer)

const reachable = await isReachable()
suite(
  reachable ? "do-not-call routes on PostgreSQL" : "do-not-call routes on PostgreSQL (embedded PGlite)",
  () =>
    reachable
      ? Layer.unwrap(Effect.map(freshDatabase("outdial_http_dnc"), ({ url }) => PgStorage.layer({ url: Redacted.make(url) })))
      : PgStorage.layerEmbedded()
)
