/**
 * The webhook endpoint API over HTTP, end to end: endpoints registered and
 * managed, bad input refused with a typed 4xx, a batch's changes delivered
 * signed to a loopback receiver, the delivery log and redelivery, and the
 * engine's metrics scraped from `/metrics` and parsed, present and moving.
 */
import { WebhookEndpoints, WebhookSettings } from "@outdial/core"
import { WebhookReceiver } from "@outdial/testing"
import { Webhook } from "standardwebhooks"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { waitFor } from "../../../test/crash/processes.ts"
import { organizationId, otherOrganizationId, start, type TestServer } from "./server.ts"

let server: TestServer
let receiver: WebhookReceiver.Receiver

beforeAll(async () => {
  receiver = await WebhookReceiver.start()
  server = await start(undefined, {
    config: { webhooks: { ...WebhookSettings.defaults, allowPrivateNetworks: true, pollIntervalMillis: 50 } }
  })
})
afterAll(async () => {
  await server?.close()
  await receiver?.close()
})

const call = async (method: string, path: string, body?: unknown, organization = organizationId) => {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { "x-organization-id": organization, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
}

/** The Prometheus text format, sample by sample: `name{labels}` → value. */
const parseMetrics = (text: string): Map<string, number> => {
  const samples = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line)
    assert.isNotNull(match, `a sample line: ${line}`)
    samples.set(match![1]!, Number(match![2]))
  }
  return samples
}
const sum = (samples: Map<string, number>, name: string) =>
  [...samples].filter(([key]) => key === name || key.startsWith(`${name}{`)).reduce((n, [, v]) => n + v, 0)

describe("webhook endpoints over HTTP", () => {
  it("creates, reads, updates, rotates and deletes an endpoint; the secret is shown only when made", async () => {
    const created = await call("POST", "/webhooks", { url: "https://hooks.example.com/outdial", eventTypes: ["batch.completed"] })
    assert.strictEqual(created.status, 201)
    assert.match(created.body.secret, /^whsec_[A-Za-z0-9+/=]{32}$/)
    assert.include(created.body, { url: "https://hooks.example.com/outdial", enabled: true, disabledReason: null })
    const id = created.body.id

    const listed = await call("GET", "/webhooks")
    assert.deepStrictEqual(listed.body.items.map((e: any) => e.id), [id])
    assert.notProperty(listed.body.items[0], "secret")
    assert.strictEqual((await call("GET", "/webhooks", undefined, otherOrganizationId)).body.items.length, 0)
    assert.strictEqual((await call("GET", `/webhooks/${id}`, undefined, otherOrganizationId)).status, 404)

    const updated = await call("PATCH", `/webhooks/${id}`, { enabled: false, description: "ops", eventTypes: [] })
    assert.include(updated.body, { enabled: false, description: "ops" })
    assert.deepStrictEqual(updated.body.eventTypes, [])
    const rotated = await call("POST", `/webhooks/${id}/rotate-secret`)
    assert.strictEqual(rotated.status, 200)
    assert.notStrictEqual(rotated.body.secret, created.body.secret)
    assert.strictEqual((await call("DELETE", `/webhooks/${id}`)).status, 204)
    const gone = await call("GET", `/webhooks/${id}`)
    assert.strictEqual(gone.status, 404)
    assert.strictEqual(gone.body.error.code, "webhook_endpoint_not_found")
  })

  it("refuses bad input with a typed 4xx and stores nothing", async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ url: "ftp://hooks.example.com/x" }, 400, "invalid_webhook_url"],
      [{ url: "javascript:alert(1)" }, 400, "invalid_webhook_url"],
      [{ url: "not a url" }, 400, "invalid_webhook_url"],
      [{ url: "https://user:pass@hooks.example.com/" }, 400, "invalid_webhook_url"],
      [{ url: `https://hooks.example.com/${"a".repeat(3_000)}` }, 400, "validation_error"],
      [{ url: "https://hooks.example.com/\u0000" }, 400, "validation_error"],
      [{ url: "https://hooks.example.com/", eventTypes: ["batch.exploded"] }, 400, "unknown_event_type"],
      [{ url: "https://hooks.example.com/", eventTypes: "batch.completed" }, 400, "validation_error"],
      [{ url: 5 }, 400, "validation_error"],
      [{}, 400, "validation_error"],
      ["[1,2", 400, "validation_error"]
    ]
    for (const [body, status, code] of cases) {
      const answer = await call("POST", "/webhooks", body, "org_bad_input")
      assert.strictEqual(answer.status, status, JSON.stringify(body).slice(0, 80))
      assert.strictEqual(answer.body.error.code, code, JSON.stringify(body).slice(0, 80))
    }
    assert.strictEqual((await call("GET", "/webhooks", undefined, "org_bad_input")).body.items.length, 0)
    const unknown = await call("PATCH", "/webhooks/whe_nope", { enabled: true })
    assert.strictEqual(unknown.body.error.code, "webhook_endpoint_not_found")
    assert.strictEqual((await call("GET", "/webhooks/whe_nope/deliveries")).status, 404)
    assert.strictEqual((await call("POST", "/webhooks/whe_nope/deliveries/1/redeliver")).status, 404)
    const created = await call("POST", "/webhooks", { url: "https://hooks.example.com/" }, "org_bad_input")
    const badLimit = await call("GET", `/webhooks/${created.body.id}/deliveries?limit=abc`, undefined, "org_bad_input")
    assert.strictEqual(badLimit.body.error.code, "invalid_page_size")
    const badStatus = await call("GET", `/webhooks/${created.body.id}/deliveries?status=lost`, undefined, "org_bad_input")
    assert.strictEqual(badStatus.status, 400)
    const noDelivery = await call("POST", `/webhooks/${created.body.id}/deliveries/99999/redeliver`, undefined, "org_bad_input")
    assert.strictEqual(noDelivery.body.error.code, "webhook_delivery_not_found")
    const badType = await call("PATCH", `/webhooks/${created.body.id}`, { eventTypes: ["%"] }, "org_bad_input")
    assert.strictEqual(badType.body.error.code, "unknown_event_type")
  })

  it("refuses addresses in private networks unless the host allows them", () => {
    const strict = { allowPrivateNetworks: false }
    for (const url of ["http://127.0.0.1/", "http://localhost:8080/", "http://10.1.2.3/", "http://169.254.169.254/latest", "http://[::1]/", "http://192.168.0.10/", "http://[::ffff:127.0.0.1]/"]) {
      assert.isDefined(WebhookEndpoints.urlProblem(url, strict), url)
    }
    assert.isUndefined(WebhookEndpoints.urlProblem("https://hooks.example.com/", strict))
    assert.isUndefined(WebhookEndpoints.urlProblem("http://127.0.0.1:9/", { allowPrivateNetworks: true }))
  })

  it("delivers a batch's changes signed, keeps a log, redelivers, and the metrics move", async () => {
    const before = parseMetrics(await (await fetch(`${server.origin}/metrics`)).text())
    const created = await call("POST", "/webhooks", { url: receiver.url, description: "demo" })
    const endpointId = created.body.id
    const batch = await call("POST", "/batches", {
      name: "Webhooks",
      agentId: "agent_sales",
      contacts: [{ phone: "+4915139990002" }, { phone: "+4915139990002" , externalId: "b" }, { phone: "+4915139990002", externalId: "c" }]
    })
    assert.strictEqual(batch.status, 201)
    const batchId = batch.body.batchJobId
    const messages = await waitFor("the batch.completed message", async () => {
      const all = WebhookReceiver.messages(receiver)
      return all.some((m) => m.type === "batch.completed" && m.data.batchId === batchId) ? all : undefined
    }, 30_000)
    const verifier = new Webhook(created.body.secret)
    for (const request of receiver.received) {
      verifier.verify(request.body, { "webhook-id": request.id, "webhook-timestamp": request.timestamp, "webhook-signature": request.signature })
    }
    const types = messages.map((m) => m.type)
    assert.includeMembers(types, ["batch.created", "batch.started", "contact.dialing", "contact.completed", "batch.completed"])
    assert.strictEqual(types.filter((t) => t === "contact.completed").length, 3)

    const log = await waitFor("every delivery delivered", async () => {
      const answer = await call("GET", `/webhooks/${endpointId}/deliveries?limit=500`)
      return answer.body.items.length === messages.length && answer.body.items.every((d: any) => d.status === "delivered")
        ? answer.body.items
        : undefined
    }, 30_000)
    assert.include(log[0], { attempts: 1, lastResponseCode: 204, nextAttemptAt: null })
    const redelivered = await call("POST", `/webhooks/${endpointId}/deliveries/${log[0].id}/redeliver`)
    assert.include(redelivered.body, { status: "pending", attempts: 0 })
    await waitFor("the redelivery", async () =>
      receiver.received.filter((r) => r.id === log[0].messageId).length === 2 ? true : undefined, 30_000)

    const after = parseMetrics(await (await fetch(`${server.origin}/metrics`)).text())
    for (
      const name of [
        "outdial_dials_started_total",
        "outdial_call_outcomes_total",
        "outdial_webhook_deliveries_total",
        "outdial_dispatch_lag_seconds_count",
        "outdial_store_latency_seconds_count"
      ]
    ) {
      assert.isAbove(sum(after, name), sum(before, name), `${name} moved`)
    }
    assert.isTrue([...after.keys()].some((key) => key.startsWith("outdial_calls_in_flight{")), "calls in flight per organization")
    assert.isTrue([...after.keys()].some((key) => key.startsWith("outdial_call_outcomes_total{") && key.includes("completed")))
  }, 60_000)
})
