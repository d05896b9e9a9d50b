/**
 * Hostile input over real HTTP, the router over PostgreSQL and over embedded
 * PGlite: a corpus of requests an attacker or a broken client sends — NUL
 * characters, deep JSON, prototype keys, unbounded settings, huge numbers,
 * wrong types, malformed paths, oversized and broken bodies — and random ones
 * from fast-check. Every one is answered with its exact 4xx and the JSON
 * envelope, shows no stack or path, stores nothing (every table's row count
 * is unchanged), and leaves the server answering; a 5xx would be logged.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import type { BatchStore } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as SqlClient from "effect/sql/SqlClient"
import fc from "fast-check"
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshDatabase, isReachable } from "../../adapter-postgres/test/database.ts"
import * as Server from "./server.ts"
import { organizationId, otherOrganizationId } from "./server.ts"

interface Hostile {
  readonly name: string
  readonly method: string
  /** Relative to the router's mount; `{draft}` is a draft batch of the organization. */
  readonly path: string
  readonly status: number
  readonly code: string
  readonly headers?: Record<string, string>
  readonly json?: unknown
  readonly body?: string | Uint8Array | FormData
  /** Outside the router: the host's own address. */
  readonly host?: boolean
}

const maxJsonBytes = 64 * 1024

const nested = (depth: number, leaf: unknown = "x"): unknown => {
  let value: unknown = leaf
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}
/** Deep JSON as text: building it as an object and serialising would itself overflow. */
const deepText = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`

const settings = { name: "Hostile", agentId: "agent_sales" }
const contact = { phone: "+4915120000001", name: "Ann" }

const form = (fields: Record<string, string>, file?: { name: string; text: string | Uint8Array }) => {
  const data = new FormData()
  for (const [key, value] of Object.entries(fields)) data.append(key, value)
  if (file !== undefined) data.append("file", new Blob([file.text]), file.name)
  return data
}

const csvColumns = (count: number) =>
  `phone,${Array.from({ length: count - 1 }, (_, i) => `c${i}`).join(",")}\n+4915120000001${",x".repeat(count - 1)}\n`

const corpus: ReadonlyArray<Hostile> = [
  // JSON bodies: NUL characters anywhere
  { name: "NUL in a batch name", method: "POST", path: "/batches", json: { ...settings, name: "a\u0000b", contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "NUL in a contact name", method: "POST", path: "/batches", json: { ...settings, contacts: [{ ...contact, name: "A\u0000" }] }, status: 400, code: "validation_error" },
  { name: "NUL in a custom field", method: "POST", path: "/batches", json: { ...settings, contacts: [{ ...contact, plan: "\u0000" }] }, status: 400, code: "validation_error" },
  { name: "NUL in a contact key", method: "POST", path: "/batches", json: { ...settings, contacts: [{ ...contact, "pl\u0000an": "x" }] }, status: 400, code: "validation_error" },
  { name: "NUL in a phone", method: "POST", path: "/batches/validate", json: { contacts: [{ phone: "+49151\u000020000001" }] }, status: 400, code: "validation_error" },
  { name: "NUL in a description edit", method: "PATCH", path: "/batches/{draft}", json: { description: "\u0000" }, status: 400, code: "validation_error" },
  { name: "NUL in a default country", method: "POST", path: "/batches", json: { ...settings, defaultCountry: "D\u0000", contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "NUL in added contacts", method: "POST", path: "/batches/{draft}/contacts", json: { contacts: [{ ...contact, name: "\u0000" }] }, status: 400, code: "validation_error" },
  // deep JSON
  { name: "deep JSON in a contact field", method: "POST", path: "/batches", json: { ...settings, contacts: [{ ...contact, plan: nested(1_000) }] }, status: 400, code: "validation_error" },
  { name: "deep JSON in a schedule body", method: "POST", path: "/batches/{draft}/schedule", body: `{"scheduledStartTime":${deepText(5_000)}}`, headers: { "content-type": "application/json" }, status: 400, code: "validation_error" },
  { name: "deep JSON in a retry body", method: "POST", path: "/batches/{draft}/retry", body: `{"extraAttempts":${deepText(5_000)}}`, headers: { "content-type": "application/json" }, status: 400, code: "validation_error" },
  { name: "deep JSON array as a body", method: "POST", path: "/batches", body: deepText(30_000), headers: { "content-type": "application/json" }, status: 400, code: "validation_error" },
  { name: "deep JSON in a draft edit", method: "PATCH", path: "/batches/{draft}", body: `{"name":${deepText(10_000)}}`, headers: { "content-type": "application/json" }, status: 400, code: "validation_error" },
  // prototype keys
  { name: "__proto__ in a body", method: "POST", path: "/batches", body: `{"name":"x","agentId":"agent_sales","__proto__":{"draft":true},"contacts":[]}`, headers: { "content-type": "application/json" }, status: 400, code: "validation_error" },
  { name: "__proto__ in a contact", method: "POST", path: "/batches/validate", body: `{"contacts":[{"phone":"+4915120000001","__proto__":{"x":1}}]}`, headers: { "content-type": "application/json" }, status: 400, code: "validation_error" },
  // unbounded settings
  { name: "retry delay of 1e300 seconds", method: "POST", path: "/batches", json: { ...settings, retryDelay: 1e300, contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "retry delay of 99,999 weeks", method: "POST", path: "/batches", json: { ...settings, retryDelay: "P99999W", contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "retry delay per outcome of a year", method: "POST", path: "/batches", json: { ...settings, retryDelay: { busy: 31_536_000 }, contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "eleven escalating delays", method: "POST", path: "/batches", json: { ...settings, retryDelay: Array(11).fill(60), contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "thirteen calling windows", method: "POST", path: "/batches", json: { ...settings, callingWindows: Array(13).fill({ start: "09:00", end: "10:00" }), contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "a daily cap of 1e12", method: "POST", path: "/batches", json: { ...settings, maxCallsPerDay: 1e12, contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "101 caller numbers", method: "POST", path: "/batches", json: { ...settings, phoneNumberIds: Array(101).fill("num_1"), contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "a 10,000-character name", method: "POST", path: "/batches", json: { ...settings, name: "n".repeat(10_000), contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "a 1,000-character time zone", method: "POST", path: "/batches", json: { ...settings, timezone: "Z".repeat(1_000), contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "a 1,000-character agent id", method: "POST", path: "/batches", json: { ...settings, agentId: "a".repeat(1_000), contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "a start in the year 9999", method: "POST", path: "/batches", json: { ...settings, scheduledStartTime: "9999-12-31T00:00:00Z", contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "an unknown time zone", method: "POST", path: "/batches", json: { ...settings, timezone: "Mars/Olympus_Mons", contacts: [contact] }, status: 400, code: "invalid_timezone" },
  // eligibility options
  { name: "recipient hours starting after they end", method: "POST", path: "/batches", json: { ...settings, recipientLocalHours: { start: "21:00", end: "08:00" }, contacts: [contact] }, status: 400, code: "invalid_recipient_hours" },
  { name: "recipient hours as text", method: "POST", path: "/batches", json: { ...settings, recipientLocalHours: "8-21", contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "recipient working days of 0", method: "POST", path: "/batches", json: { ...settings, recipientLocalHours: { start: "08:00", end: "21:00", workingDays: [0] }, contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "recipient hours with an unknown zone", method: "POST", path: "/batches", json: { ...settings, timezone: "Nowhere/Land", recipientLocalHours: { start: "08:00", end: "21:00" }, contacts: [contact] }, status: 400, code: "invalid_timezone" },
  { name: "a blackout date of 30 February", method: "POST", path: "/batches", json: { ...settings, blackoutDates: ["2026-02-30"], contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "a blackout date with SQL wildcards", method: "POST", path: "/batches", json: { ...settings, blackoutDates: ["2026-%-_"], contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "367 blackout dates", method: "POST", path: "/batches", json: { ...settings, blackoutDates: Array(367).fill("2026-12-25"), contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "holidays of an unknown country", method: "POST", path: "/batches", json: { ...settings, holidays: { country: "XX", zone: "batch" }, contacts: [contact] }, status: 400, code: "invalid_holidays" },
  { name: "holidays with NUL in the region", method: "POST", path: "/batches", json: { ...settings, holidays: { country: "US", region: "C\u0000", zone: "batch" }, contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "a deadline in the past", method: "POST", path: "/batches", json: { ...settings, completeBy: "2001-01-01T00:00:00Z", contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "a deadline as a number", method: "POST", path: "/batches", json: { ...settings, completeBy: 1e20, contacts: [contact] }, status: 400, code: "validation_error" },
  // wrong types and huge numbers
  { name: "a limit as text", method: "POST", path: "/batches", json: { ...settings, concurrentCallLimit: "5", contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "a name as a number", method: "POST", path: "/batches", json: { ...settings, name: 123, contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "attempts past the number range", method: "POST", path: "/batches", body: `{"name":"x","agentId":"agent_sales","maxAttempts":1e400,"contacts":[]}`, headers: { "content-type": "application/json" }, status: 400, code: "validation_error" },
  { name: "contacts as an object", method: "POST", path: "/batches", json: { ...settings, contacts: { phone: "+4915120000001" } }, status: 400, code: "validation_error" },
  // a create keeps object rows as sent (decodeInput's rowsKey): any other row sends the whole body through the schema
  { name: "a contact as text", method: "POST", path: "/batches", json: { ...settings, contacts: [contact, "+4915120000002"] }, status: 400, code: "validation_error" },
  { name: "a contact as null", method: "POST", path: "/batches", json: { ...settings, contacts: [contact, null] }, status: 400, code: "validation_error" },
  { name: "a contact as a list", method: "POST", path: "/batches", json: { ...settings, contacts: [contact, ["+4915120000002"]] }, status: 400, code: "validation_error" },
  { name: "a contact with 250 columns", method: "POST", path: "/batches/validate", json: { contacts: [Object.fromEntries([["phone", "+4915120000001"], ...Array.from({ length: 249 }, (_, i) => [`c${i}`, "x"])])] }, status: 400, code: "invalid_csv" },
  { name: "extra attempts as an object", method: "POST", path: "/batches/{draft}/retry", json: { extraAttempts: { n: 1 } }, status: 400, code: "validation_error" },
  { name: "extra attempts as text", method: "POST", path: "/batches/{draft}/retry", json: { extraAttempts: "many" }, status: 400, code: "validation_error" },
  { name: "extra attempts of 1e20", method: "POST", path: "/batches/{draft}/retry", json: { extraAttempts: 1e20 }, status: 400, code: "validation_error" },
  { name: "a start time as a list", method: "POST", path: "/batches/{draft}/schedule", json: { scheduledStartTime: [1, 2] }, status: 400, code: "validation_error" },
  { name: "malformed JSON", method: "POST", path: "/batches", body: `{"name":`, headers: { "content-type": "application/json" }, status: 400, code: "validation_error" },
  { name: "a JSON string as a body", method: "POST", path: "/batches", body: `"batch"`, headers: { "content-type": "application/json" }, status: 400, code: "validation_error" },
  { name: "JSON null as a body", method: "POST", path: "/batches", body: "null", headers: { "content-type": "application/json" }, status: 400, code: "validation_error" },
  { name: "a JSON body over the limit", method: "POST", path: "/batches", json: { ...settings, description: "d".repeat(maxJsonBytes) }, status: 413, code: "file_too_large" },
  { name: "a body as plain text", method: "POST", path: "/batches", body: "name=x", headers: { "content-type": "text/plain" }, status: 415, code: "unsupported_file_type" },
  // uploads
  // NUL bytes where the type is detected make a file binary; past that, a row or header with one is refused.
  { name: "a CSV with NUL bytes", method: "POST", path: "/batches", body: form(settings, { name: "c.csv", text: "phone,name\n+4915120000001,A\u0000n\n" }), status: 415, code: "unsupported_file_type" },
  { name: "a CSV cell with NUL", method: "POST", path: "/batches", body: form(settings, { name: "c.csv", text: `phone,notes\n+4915120000001,${"x".repeat(5_000)}\u0000\n` }), status: 400, code: "no_valid_contacts" },
  { name: "a CSV header with NUL", method: "POST", path: "/batches/validate", body: form({}, { name: "c.csv", text: `${"h".repeat(5_000)},pho\u0000ne\n1,+4915120000001\n` }), status: 400, code: "invalid_csv" },
  { name: "a CSV of 300 columns", method: "POST", path: "/batches/validate", body: form({}, { name: "c.csv", text: csvColumns(300) }), status: 400, code: "invalid_csv" },
  { name: "a CSV cell of 20,000 characters", method: "POST", path: "/batches", body: form(settings, { name: "c.csv", text: `phone,notes\n+4915120000001,${"x".repeat(20_000)}\n` }), status: 400, code: "no_valid_contacts" },
  { name: "a 200 KB single-line file", method: "POST", path: "/batches/validate", body: form({}, { name: "c.csv", text: "h".repeat(200_000) }), status: 400, code: "invalid_csv" },
  { name: "a file of 190 headers without a phone", method: "POST", path: "/batches/validate", body: form({}, { name: "c.csv", text: Array.from({ length: 190 }, (_, i) => `column_name_${i}_${"y".repeat(500)}`).join(",") + "\n1\n" }), status: 400, code: "missing_phone_column" },
  { name: "a field named __proto__", method: "POST", path: "/batches", body: (() => { const data = form(settings); data.append("__proto__", JSON.stringify({ draft: true })); return data })(), status: 400, code: "validation_error" },
  { name: "a field name with NUL", method: "POST", path: "/batches", body: form({ ...settings, "na\u0000me": "x" }), status: 400, code: "validation_error" },
  { name: "a field value with NUL", method: "POST", path: "/batches", body: form({ ...settings, description: "\u0000" }, { name: "c.csv", text: "phone\n+4915120000001\n" }), status: 400, code: "validation_error" },
  { name: "a deep JSON field", method: "POST", path: "/batches", body: form({ ...settings, retryDelay: deepText(5_000) }, { name: "c.csv", text: "phone\n+4915120000001\n" }), status: 400, code: "validation_error" },
  { name: "a bad setting before the file", method: "POST", path: "/batches", body: form({ ...settings, concurrentCallLimit: "9999" }, { name: "c.csv", text: "phone\n+4915120000001\n" }), status: 400, code: "validation_error" },
  { name: "two files", method: "POST", path: "/batches/validate", body: (() => { const data = form({}, { name: "a.csv", text: "phone\n+4915120000001\n" }); data.append("file2", new Blob(["phone\n"]), "b.csv"); return data })(), status: 400, code: "validation_error" },
  { name: "a file over the limit", method: "POST", path: "/batches/validate", body: form({}, { name: "big.csv", text: "phone\n" + "+4915120000001\n".repeat(30_000) }), status: 413, code: "file_too_large" },
  { name: "an image as a contact file", method: "POST", path: "/batches/validate", body: form({}, { name: "c.png", text: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]) }), status: 415, code: "unsupported_file_type" },
  { name: "a zip that is no spreadsheet", method: "POST", path: "/batches/validate", body: form({}, { name: "c.xlsx", text: new Uint8Array([0x50, 0x4b, 0x03, 0x04, 9, 9, 9, 9, 9, 9]) }), status: 400, code: "invalid_csv" },
  { name: "a deep JSON contact file", method: "POST", path: "/batches/validate", body: form({}, { name: "c.json", text: `[{"phone":"+4915120000001","x":${deepText(3_000)}}]` }), status: 400, code: "invalid_csv" },
  { name: "multipart without a boundary", method: "POST", path: "/batches", body: "--x\r\n", headers: { "content-type": "multipart/form-data" }, status: 400, code: "validation_error" },
  { name: "a multipart body cut short", method: "POST", path: "/batches/validate", body: "--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\r\nphone\n+49151", headers: { "content-type": "multipart/form-data; boundary=b" }, status: 400, code: "validation_error" },
  { name: "a file for another tenant's batch", method: "POST", path: "/batches/{draft}/contacts", headers: { "x-organization-id": otherOrganizationId }, body: form({}, { name: "c.csv", text: "phone\n+4915120000001\n" }), status: 404, code: "batch_not_found" },
  { name: "a file for an unknown batch", method: "POST", path: "/batches/batch_unknown/contacts", body: form({}, { name: "c.csv", text: "phone\n+4915120000001\n" }), status: 404, code: "batch_not_found" },
  // paths
  { name: "a malformed percent-escape", method: "GET", path: "/batches/%E0%A4%A", status: 400, code: "validation_error" },
  { name: "a percent-escape of no hex", method: "POST", path: "/batches/%ZZ/pause", status: 400, code: "validation_error" },
  { name: "NUL as a batch id", method: "GET", path: "/batches/%00", status: 400, code: "validation_error" },
  { name: "NUL inside a batch id", method: "POST", path: "/batches/batch_%00x/cancel", status: 400, code: "validation_error" },
  { name: "a 1,000-character batch id", method: "DELETE", path: `/batches/${"b".repeat(1_000)}`, status: 400, code: "validation_error" },
  { name: "NUL as a contact id", method: "DELETE", path: "/batches/{draft}/contacts/%00", status: 400, code: "validation_error" },
  { name: "NUL in a batch's event stream id", method: "GET", path: "/batches/%00/events", status: 400, code: "validation_error" },
  // query strings
  { name: "a page past the integer range", method: "GET", path: "/batches/{draft}?contactsPage=99999999999999999999", status: 400, code: "invalid_page" },
  { name: "a page of 1e400", method: "GET", path: "/batches/{draft}?contactsPage=1e400", status: 400, code: "invalid_page" },
  { name: "a page past the last one any batch can have", method: "GET", path: "/batches/{draft}?contactsPage=2000001", status: 400, code: "invalid_page" },
  { name: "a negative page size", method: "GET", path: "/batches/{draft}?contactsPageSize=-1", status: 400, code: "invalid_page_size" },
  { name: "a page given twice", method: "GET", path: "/batches/{draft}?contactsPage=1&contactsPage=2", status: 400, code: "validation_error" },
  { name: "a status given twice", method: "GET", path: "/batches/{draft}?contactStatus=pending&contactStatus=queued", status: 400, code: "validation_error" },
  { name: "NUL as a contact status", method: "GET", path: "/batches/{draft}?contactStatus=%00", status: 400, code: "invalid_contact_status" },
  { name: "a list limit of 1e9", method: "GET", path: "/batches?limit=1000000000", status: 400, code: "validation_error" },
  { name: "an offset past the integer range", method: "GET", path: "/batches?offset=99999999999", status: 400, code: "validation_error" },
  { name: "NUL as an agent filter", method: "GET", path: "/batches?agentId=%00", status: 400, code: "validation_error" },
  { name: "a list status as a list", method: "GET", path: "/batches?status=draft&status=running", status: 400, code: "validation_error" },
  // headers
  { name: "no organization", method: "GET", path: "/batches", headers: { "x-organization-id": "" }, status: 401, code: "unauthorized" },
  { name: "an idempotency key of 1,000 characters", method: "POST", path: "/batches", headers: { "idempotency-key": "k".repeat(1_000) }, json: { ...settings, contacts: [contact] }, status: 400, code: "validation_error" },
  { name: "an idempotency key on a refused upload", method: "POST", path: "/batches/{draft}/contacts", headers: { "idempotency-key": "k".repeat(300) }, json: { contacts: [contact] }, status: 400, code: "validation_error" },
  // webhook bodies
  { name: "a webhook body over its limit", method: "POST", path: "/hooks", host: true, headers: { "content-type": "application/json", "x-signature": "ok" }, body: "x".repeat(4_096), status: 413, code: "file_too_large" },
  { name: "a webhook body in an unknown charset", method: "POST", path: "/hooks", host: true, headers: { "content-type": "text/plain; charset=klingon", "x-signature": "ok" }, body: "{}", status: 415, code: "unsupported_file_type" },
  { name: "a webhook body that is bad gzip", method: "POST", path: "/hooks", host: true, headers: { "content-type": "application/json", "content-encoding": "gzip", "x-signature": "ok" }, body: new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]), status: 400, code: "validation_error" },
  { name: "a webhook body in an unknown encoding", method: "POST", path: "/hooks", host: true, headers: { "content-type": "application/json", "content-encoding": "zstd-x", "x-signature": "ok" }, body: "{}", status: 415, code: "unsupported_file_type" },
  { name: "a gzip bomb past the webhook limit", method: "POST", path: "/hooks", host: true, headers: { "content-type": "application/json", "content-encoding": "gzip", "x-signature": "ok" }, body: gzipSync(Buffer.alloc(1_000_000)), status: 413, code: "file_too_large" },
  { name: "an unsigned webhook", method: "POST", path: "/hooks", host: true, headers: { "content-type": "application/json" }, body: "{}", status: 401, code: "" }
]

const tableCounts = (server: Server.TestServer) =>
  (server.runtime as unknown as { runPromise: <A>(effect: Effect.Effect<A, unknown, SqlClient.SqlClient>) => Promise<A> })
    .runPromise(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const tables = yield* sql<{ name: string }>`
        SELECT table_name AS name FROM information_schema.tables
        WHERE table_name LIKE 'outdial_%' ORDER BY table_name`
      const counts: Record<string, number> = {}
      for (const { name } of tables) {
        const [row] = yield* sql.unsafe<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`)
        counts[name] = Number(row!.n)
      }
      return counts
    }))

const suite = (name: string, store: () => Layer.Layer<BatchStore.BatchStore, unknown>) =>
  describe(name, () => {
    let server: Server.TestServer
    let draft: string
    const errorLogs: Array<string> = []
    beforeAll(async () => {
      server = await Server.start(store(), { errorLogs, maxJsonBytes })
      const created = await fetch(`${server.url}/batches`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-organization-id": organizationId },
        body: JSON.stringify({ ...settings, draft: true, contacts: [contact] })
      })
      draft = ((await created.json()) as { batchJobId: string }).batchJobId
    }, 60_000)
    afterAll(async () => {
      await server?.close()
    })

    const send = async (request: Hostile) => {
      const url = `${request.host === true ? server.origin : server.url}${request.path.replaceAll("{draft}", draft)}`
      const response = await fetch(url, {
        method: request.method,
        headers: {
          "x-organization-id": organizationId,
          ...(request.json === undefined ? {} : { "content-type": "application/json" }),
          ...request.headers
        },
        ...(request.json === undefined && request.body === undefined
          ? {}
          : { body: request.json === undefined ? request.body as RequestInit["body"] : JSON.stringify(request.json) })
      })
      return { status: response.status, text: await response.text(), type: response.headers.get("content-type") ?? "" }
    }

    const assertRefused = (
      request: Hostile,
      reply: { status: number; text: string; type: string },
      check: typeof expect | typeof expect.soft = expect
    ) => {
      const label = `${request.name}: ${reply.status} ${reply.text.slice(0, 300)}`
      check(reply.status, label).toBe(request.status)
      check(reply.type, label).toMatch(/^application\/json/)
      // No stack, no file path, no HTML page, no driver's words.
      check(reply.text, label).not.toMatch(/\n\s+at |\/work\/|node_modules|<html|<pre>|postgres|pglite|SqlError/i)
      // What an error echoes is bounded, however large the input.
      check(reply.text.length, label).toBeLessThan(8_192)
      if (request.code === "" || !reply.type.startsWith("application/json")) return
      const body = JSON.parse(reply.text)
      check(Object.keys(body), label).toEqual(["error"])
      check(Object.keys(body.error).sort(), label).toEqual(["code", "details", "message"])
      check(body.error.code, label).toBe(request.code)
      check(typeof body.error.message, label).toBe("string")
      check(typeof body.error.details, label).toBe("object")
    }

    it(`refuses each of ${corpus.length} hostile requests with its 4xx, storing nothing`, async () => {
      expect(corpus.length).toBeGreaterThanOrEqual(60)
      for (const request of corpus) {
        const before = await tableCounts(server)
        const reply = await send(request)
        assertRefused(request, reply, expect.soft)
        expect.soft(await tableCounts(server), request.name).toEqual(before)
        const alive = await fetch(`${server.url}/batches`, { headers: { "x-organization-id": organizationId } })
        expect(alive.status, `alive after ${request.name}`).toBe(200)
      }
      expect(errorLogs).toEqual([])
    }, 120_000)

    it("refuses random text with NUL characters in every place a client writes text", async () => {
      const withNul = fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([a, b]) => `${a}\u0000${b}`)
      const place = fc.constantFrom(
        (text: string): Hostile => ({ name: "name", method: "POST", path: "/batches", json: { ...settings, name: text, contacts: [contact] }, status: 400, code: "validation_error" }),
        (text: string): Hostile => ({ name: "field", method: "POST", path: "/batches/validate", json: { contacts: [{ ...contact, [text.replaceAll("\u0000", "") || "k"]: text }] }, status: 400, code: "validation_error" }),
        (text: string): Hostile => ({ name: "id", method: "GET", path: `/batches/${encodeURIComponent(text)}`, status: 400, code: "validation_error" }),
        (text: string): Hostile => ({ name: "filter", method: "GET", path: `/batches?agentId=${encodeURIComponent(text)}`, status: 400, code: "validation_error" }),
        (text: string): Hostile => ({ name: "form field", method: "POST", path: "/batches", body: form({ ...settings, description: text }, { name: "c.csv", text: "phone\n+4915120000001\n" }), status: 400, code: "validation_error" })
      )
      const before = await tableCounts(server)
      await fc.assert(
        fc.asyncProperty(withNul, place, async (text, make) => {
          const request = make(text)
          assertRefused(request, await send(request))
        }),
        { numRuns: 60 }
      )
      expect(await tableCounts(server)).toEqual(before)
    }, 120_000)

    it("refuses random deep JSON and random wrongly typed settings with a 400", async () => {
      const setting = fc.constantFrom("concurrentCallLimit", "maxAttempts", "retryDelay", "maxCallsPerDay", "callingWindows", "workingDays", "timezone", "name")
      const wrong = fc.oneof(
        fc.integer({ min: 2, max: 50 }).map((depth) => nested(depth + 32)),
        fc.double({ min: 1e12, max: 1e300, noNaN: true }),
        fc.constant(-1),
        fc.array(fc.constant({}), { minLength: 1, maxLength: 3 }),
        fc.constant(true)
      )
      const before = await tableCounts(server)
      await fc.assert(
        fc.asyncProperty(setting, wrong, async (key, value) => {
          const request: Hostile = { name: `${key}`, method: "POST", path: "/batches", json: { ...settings, contacts: [contact], [key]: value }, status: 400, code: "validation_error" }
          const reply = await send(request)
          expect(reply.status, `${key}=${JSON.stringify(value).slice(0, 80)}: ${reply.text.slice(0, 200)}`).toBe(400)
          assertRefused({ ...request, code: "" }, reply)
        }),
        { numRuns: 60 }
      )
      expect(await tableCounts(server)).toEqual(before)
    }, 120_000)
  })

const reachable = await isReachable()
if (reachable) {
  suite("hostile input, router on PostgreSQL", () =>
    Layer.unwrap(Effect.map(freshDatabase("outdial_hostile"), ({ url }) => PgStorage.layer({ url: Redacted.make(url) }))))
}
suite("hostile input, router on embedded PGlite", () => PgStorage.layerEmbedded())
