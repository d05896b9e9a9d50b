/**
 * The batch API over loopback, on the machine's PostgreSQL (a fresh
 * database, dropped afterwards):
 *
 * (a) `GET /batches/:id` with a status-filtered page of 50 contacts on a
 *     batch of 1,000,000 (statuses spread as a half-done batch would have
 *     them), p50 / p95 over 400 requests, pages drawn from the first 200;
 * (b) `POST /batches` with a 10,000-row CSV (multipart), from the first byte
 *     sent to the response: the median of 5;
 * (c) `GET /batches/:id/contacts?search=…` on the same batch, a page of 50,
 *     p50 / p95 over 400 searches: a name (`Contact 123456`), a digit
 *     substring (`2012-3456`) and an E.164 prefix (`+49 151 2012 34`) in
 *     turn, each drawn at random; the plans of one of each are printed
 *     (EXPLAIN ANALYZE) to show the search index serves them.
 *
 * Last line JSON: {"readP50Ms","readP95Ms","create10kMs","searchP50Ms","searchP95Ms"}.
 */
import { ContactSearch } from "@outdial/core"
import { Router } from "@outdial/http-express"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as SqlClient from "effect/sql/SqlClient"
import express from "express"
import type { AddressInfo } from "node:net"
import { Agent, request } from "node:http"
import * as Search from "../packages/adapter-postgres/src/internal/search.ts"
import { benchDatabase, contactStatuses, largeBatch, latencies, percentile, round, servedEngine } from "./largeBatch.ts"

const organizationId = "org_bench"
const contacts = Number(process.env.BENCH_CONTACTS ?? 1_000_000)

// Keep-alive, as a client in front of the API would.
const agent = new Agent({ keepAlive: true, maxSockets: 1 })
const get = (url: string) =>
  new Promise<number>((resolve, reject) => {
    request(url, { agent, headers: { "x-organization-id": organizationId } }, (response) => {
      response.resume()
      response.on("end", () => resolve(response.statusCode ?? 0))
    }).on("error", reject).end()
  })

const main = async () => {
  const database = await benchDatabase("outdial_bench_http")
  try {
    const runtime = ManagedRuntime.make(servedEngine(database.url, organizationId))
    const app = express()
    app.use("/api/v1", Router.makeRouter(runtime, { resolveOrganization: (req) => req.get("x-organization-id") }))
    const server = app.listen(0, "127.0.0.1")
    await new Promise<void>((resolve) => server.once("listening", () => resolve()))
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`

    // The million-contact batch is stored directly: the API caps a file at 10,000 contacts by default.
    const { batchId } = await runtime.runPromise(largeBatch(organizationId, contacts))
    const read = async (i: number) => {
      const status = await get(
        `${api}/batches/${batchId}?contactStatus=${contactStatuses[i % contactStatuses.length]}&contactsPage=${1 + ((i * 7919) % 200)}&contactsPageSize=50`
      )
      if (status !== 200) throw new Error(`GET answered ${status}`)
    }
    const { p50: readP50Ms, p95: readP95Ms } = await latencies(read)
    console.log(`(a) GET /batches/:id with a filtered page of 50 at ${contacts.toLocaleString()} contacts: p50 ${readP50Ms} ms, p95 ${readP95Ms} ms`)

    const csv = `phone,name,plan\n${
      Array.from({ length: 10_000 }, (_, i) => `+49151${40_000_000 + i},Contact ${i},pro`).join("\n")
    }\n`
    const creates: Array<number> = []
    for (let i = 0; i < 5; i++) {
      const form = new FormData()
      form.append("name", `Create ${i}`)
      form.append("agentId", "agent")
      form.append("draft", "true")
      form.append("file", new Blob([csv], { type: "text/csv" }), "contacts.csv")
      const started = performance.now()
      const response = await fetch(`${api}/batches`, { method: "POST", body: form, headers: { "x-organization-id": organizationId } })
      await response.text()
      creates.push(performance.now() - started)
      if (response.status !== 201) throw new Error(`POST answered ${response.status}`)
    }
    creates.sort((a, b) => a - b)
    const create10kMs = round(percentile(creates, 0.5), 1)
    console.log(`(b) POST /batches with a 10,000-row CSV: median ${create10kMs} ms (runs: ${creates.map((t) => t.toFixed(0)).join(", ")} ms)`)

    // Contact n has the phone +49151 followed by 20,000,000 + n (StoreFixtures.newContacts).
    const pick = (i: number) => 1 + ((i * 104_729) % contacts)
    const searches = [
      (n: number) => `Contact ${n}`,
      (n: number) => { const d = String(20_000_000 + n); return `${d.slice(0, 4)}-${d.slice(4)}` },
      (n: number) => { const d = String(20_000_000 + n); return `+49 151 ${d.slice(0, 4)} ${d.slice(4, 6)}` }
    ]
    const searchOf = (i: number) => searches[i % searches.length]!(pick(i))
    const search = async (i: number) => {
      const status = await get(`${api}/batches/${batchId}/contacts?search=${encodeURIComponent(searchOf(i))}&pageSize=50`)
      if (status !== 200) throw new Error(`GET answered ${status}`)
    }
    const { p50: searchP50Ms, p95: searchP95Ms } = await latencies(search)
    console.log(`(c) GET /batches/:id/contacts?search= at ${contacts.toLocaleString()} contacts: p50 ${searchP50Ms} ms, p95 ${searchP95Ms} ms`)
    // The plan of the first page of one search of each kind, as the store makes it.
    const plans = await runtime.runPromise(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const explain = (text: string) =>
        Effect.map(Search.explain(sql, batchId, ContactSearch.make(text)), (lines) => lines.filter((line) => /Index|Scan|Execution/.test(line)))
      return { name: yield* explain(searchOf(0)), digits: yield* explain(searchOf(1)), prefix: yield* explain(searchOf(2)) }
    }))
    for (const [kind, lines] of Object.entries(plans)) console.log(`    plan of a ${kind} search: ${lines.map((l) => l.trim()).join(" | ")}`)

    server.closeAllConnections()
    server.close()
    await runtime.dispose()
    console.log(JSON.stringify({ readP50Ms, readP95Ms, create10kMs, searchP50Ms, searchP95Ms }))
  } finally {
    agent.destroy()
    await database.drop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
