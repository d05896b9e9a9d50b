/**
 * Outdial quickstart: a host app with nothing to set up. Express serves the
 * batch API (the `@outdial/http-express` router under `/api/v1`) over an
 * engine on embedded PostgreSQL (PGlite, in this process) that dials through
 * the simulated telephony provider. The demo then acts as a client: it
 * uploads `contacts.csv` (some rows broken on purpose, to show the
 * validation report), follows the batch's Server-Sent Events with a progress
 * bar, prints the final breakdown, and keeps serving the API and the
 * dashboard (`@outdial/dashboard` under `/outdial`), printing their URLs.
 * `--once` exits instead.
 *
 * It also registers a webhook endpoint of its own (a route of this app,
 * `POST /demo/webhooks`) and prints the signed deliveries it got, serves
 * the engine's metrics at `/metrics`, and exports traces over OTLP when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set (see `tracing.ts`).
 *
 *   npx -y pnpm@10 demo            # PORT=3000 unless set
 *   npx -y pnpm@10 demo -- --once
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { Directory, Engine, SimulatedTelephony, WebhookSettings } from "@outdial/core"
import { Dashboard } from "@outdial/dashboard"
import { MetricsRoute, Router } from "@outdial/http-express"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import express from "express"
import { readFile } from "node:fs/promises"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import * as Tracing from "./tracing.ts"

const organizationId = "org_demo"
const once = process.argv.includes("--once")

// The host's own agents and numbers, as its Directory would report them.
const directory = Directory.layerStatic({
  agents: [{ id: "agent_renewals", organizationId, ready: true, phoneNumberIds: ["num_us", "num_de"] }],
  callerNumbers: [
    { id: "num_us", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent_renewals" },
    { id: "num_de", organizationId, number: "+4930901820", outboundEnabled: true, agentId: "agent_renewals" }
  ]
})

// The engine with its dispatcher over the host's ports, in one call.
const engine = Engine.layerWith({
  store: PgStorage.layerEmbedded(),
  // Calls ring up to a second and talk one to three: the demo finishes in seconds.
  telephony: SimulatedTelephony.layer({ ringSeconds: { min: 0, max: 1 }, talkSeconds: { min: 1, max: 3 }, rejectSeconds: { min: 0, max: 1 } }),
  directory,
  // The demo's receiver lives on loopback, which hosts serving many tenants keep refused (SSRF).
  config: { webhooks: { ...WebhookSettings.defaults, allowPrivateNetworks: true, pollIntervalMillis: 100 } }
}).pipe(Layer.provideMerge(Tracing.layer("outdial-quickstart")))

const bar = (done: number, total: number, width = 32): string => {
  const filled = total === 0 ? width : Math.round((done / total) * width)
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`
}

const counts = (breakdown: Readonly<Record<string, number>>): string =>
  Object.entries(breakdown).filter(([, n]) => n > 0).map(([status, n]) => `${status} ${n}`).join(" · ")

const listen = (app: express.Express, port: number) =>
  new Promise<ReturnType<express.Express["listen"]>>((resolve, reject) => {
    const server = app.listen(port, "127.0.0.1")
    server.once("listening", () => resolve(server))
    server.once("error", reject)
  })

/** Reads Server-Sent Events from a response body, one `{ event, data }` at a time. */
async function* serverSentEvents(body: ReadableStream<Uint8Array>) {
  const decoder = new TextDecoder()
  let buffer = ""
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message"
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (data !== undefined) yield { event, data: JSON.parse(data) }
    }
  }
}

const main = async () => {
  console.log("Starting embedded PostgreSQL (PGlite) and the engine…")
  const runtime = ManagedRuntime.make(engine)
  await runtime.context()

  const app = express()
  // The demo's own webhook receiver: what a host's backend would be.
  const received: Array<{ readonly id: string; readonly type: string; readonly signed: boolean }> = []
  app.post("/demo/webhooks", express.text({ type: "*/*" }), (request, response) => {
    const message = JSON.parse(request.body)
    received.push({ id: request.get("webhook-id") ?? "", type: message.type, signed: (request.get("webhook-signature") ?? "").startsWith("v1,") })
    response.status(204).end()
  })
  app.get("/metrics", MetricsRoute.makeHandler(runtime))
  app.use("/api/v1", Router.makeRouter(runtime, {
    // A real host resolves the organization from its own auth; the demo has one tenant.
    resolveOrganization: (request) => request.get("x-organization-id") ?? organizationId
  }))
  // The dashboard, a single-page app over the same API (same origin, so the host's auth applies).
  app.use("/outdial", Dashboard.makeRouter({ apiBase: "/api/v1" }))
  const wanted = Number(process.env.PORT ?? 3000)
  const server = await listen(app, wanted).catch(() => listen(app, 0))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const api = `${origin}/api/v1`
  console.log(`Batch API on ${api} (OpenAPI at ${api}/openapi.json)`)
  console.log(`Dashboard on ${origin}/outdial\n`)
  const endpoint = await (await fetch(`${api}/webhooks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url: api.replace(/\/api\/v1$/, "/demo/webhooks"), description: "the demo's receiver" })
  })).json() as any
  console.log(`POST /webhooks → endpoint ${endpoint.id} (secret ${endpoint.secret.slice(0, 12)}…, shown once)\n`)

  // The client side: upload the contact file as a browser form would.
  const csv = await readFile(fileURLToPath(new URL("./contacts.csv", import.meta.url)))
  const form = new FormData()
  form.append("name", "Plan renewals — quickstart")
  form.append("agentId", "agent_renewals")
  form.append("concurrentCallLimit", "25")
  form.append("maxAttempts", "2")
  form.append("retryDelay", "PT2S")
  form.append("phoneRotationStrategy", "round_robin")
  form.append("dropDuplicates", "true")
  form.append("file", new Blob([csv], { type: "text/csv" }), "contacts.csv")
  const createdResponse = await fetch(`${api}/batches`, { method: "POST", body: form })
  const created = await createdResponse.json() as any
  if (createdResponse.status !== 201) throw new Error(`create failed: ${JSON.stringify(created)}`)

  console.log(`POST /batches → ${createdResponse.status}: ${created.message} (batch ${created.batchJobId})`)
  console.log(`  estimated duration ${created.estimatedDuration}, estimated cost ${created.estimatedCost}`)
  for (const group of created.errorGroups) {
    console.log(`  rejected: ${group.count} × ${group.code} (rows ${group.rows.join(", ")}) — ${group.message}`)
  }
  for (const duplicate of created.duplicates) {
    console.log(`  duplicate: ${duplicate.phone} on rows ${duplicate.rows.join(", ")} (kept the first)`)
  }
  console.log(`\nGET /batches/${created.batchJobId}/events (Server-Sent Events):`)

  const events = await fetch(`${api}/batches/${created.batchJobId}/events`)
  for await (const { event, data } of serverSentEvents(events.body!)) {
    if (event === "progress") {
      const { progress } = data
      process.stdout.write(`\r${bar(progress.contactsProcessed, progress.totalContacts)}  ${counts(progress.statusBreakdown)}\u001b[K`)
    }
    if (event === "end") break
  }

  const final = await (await fetch(`${api}/batches/${created.batchJobId}?contactsPageSize=3`)).json() as any
  process.stdout.write(`\r${bar(final.progress.contactsProcessed, final.progress.totalContacts)}\u001b[K\n\n`)
  console.log(`Batch ${final.status} at ${final.timing.completedAt}`)
  console.log(`  successful calls ${final.progress.successfulCalls}, failed calls ${final.progress.failedCalls}`)
  console.log(`  ${counts(final.progress.statusBreakdown)}`)
  for (const contact of final.contacts) {
    console.log(`  ${contact.phoneNumber} ${contact.name}: ${contact.status} after ${contact.attemptCount} attempt(s), room ${contact.roomName}`)
  }

  // The sender runs beside the dialing: wait for the batch's last message to arrive.
  for (let i = 0; i < 100 && !received.some((m) => m.type === "batch.completed"); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const byType = new Map<string, number>()
  for (const message of received) byType.set(message.type, (byType.get(message.type) ?? 0) + 1)
  console.log(`\nWebhooks received: ${received.length} (${received.filter((m) => m.signed).length} signed)`)
  console.log(`  ${[...byType].map(([type, n]) => `${type} ${n}`).join(" · ")}`)
  const log = await (await fetch(`${api}/webhooks/${endpoint.id}/deliveries?limit=3`)).json() as any
  for (const delivery of log.items) {
    console.log(`  delivery ${delivery.id}: ${delivery.eventType} ${delivery.status} (HTTP ${delivery.lastResponseCode}, ${delivery.lastLatencyMillis} ms)`)
  }

  if (once) {
    server.close()
    await runtime.dispose()
    return
  }
  // Compile the dashboard's client now rather than on the first page load.
  await Dashboard.assets()
  console.log(`\nStill serving. Open the dashboard: ${origin}/outdial (the batch is at ${origin}/outdial#/batches/${created.batchJobId})
Or try:
  curl -s ${api}/batches | head -c 600; echo
  curl -s "${api}/batches/${created.batchJobId}?contactStatus=no_answer&contactsPageSize=5"
  curl -s -X POST ${api}/batches -H 'content-type: application/json' \\
    -d '{"name":"JSON batch","agentId":"agent_renewals","contacts":[{"phone":"+12025550123","name":"Ada","plan":"pro"}]}'
  curl -s -F name="From a file" -F agentId=agent_renewals -F file=@examples/quickstart/contacts.csv ${api}/batches
  curl -N ${api}/batches/<batchJobId>/events
  curl -s ${api}/webhooks/${endpoint.id}/deliveries?limit=5
  curl -s ${api.replace(/\/api\/v1$/, "/metrics")} | grep outdial_
Press Ctrl-C to stop.`)
  const stop = async () => {
    server.close()
    await runtime.dispose()
    process.exit(0)
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
