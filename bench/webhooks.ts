/**
 * bench:webhooks — outgoing webhooks on the machine's PostgreSQL.
 *
 * 1. `webhooksPerSec`: deliveries sent by one process to a loopback
 *    receiver (fan-out, claim, sign, POST, record), from a backlog of
 *    recorded changes.
 * 2. `webhookRatio`: dispatch throughput (contacts finished per second, a
 *    batch through the simulated provider) with an endpoint subscribed to
 *    every change ÷ without one, in the same run. `webhookRatioDrained`
 *    counts the run with webhooks until its last delivery was sent too, so
 *    a sender that fell behind (or held back while dispatch ran) shows.
 *
 * The last line is JSON.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { BatchStore, Directory, Engine, SimulatedTelephony, WebhookDelivery, WebhookSettings } from "@outdial/core"
import { WebhookReceiver } from "@outdial/testing"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as SqlClient from "effect/sql/SqlClient"
import { createDatabase } from "../packages/adapter-postgres/test/database.ts"

const backlog = Number(process.env.WEBHOOKS ?? 2_000)
const contacts = Number(process.env.CONTACTS ?? 1_000)
const settings = { ...WebhookSettings.defaults, allowPrivateNetworks: true, concurrency: 64, pollIntervalMillis: 20 }

const directoryOf = (organizationId: string) =>
  Directory.layerStatic({
    agents: [{ id: "agent_bench", organizationId, ready: true, phoneNumberIds: ["num_a"] }],
    callerNumbers: [{ id: "num_a", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent_bench" }]
  })

const runtimeOf = (url: string, organizationId: string, webhooks: boolean) =>
  ManagedRuntime.make(Engine.layerWith({
    store: PgStorage.layer({ url: Redacted.make(url), maxConnections: 8 }),
    telephony: SimulatedTelephony.layer({ ringSeconds: { min: 0, max: 0 }, talkSeconds: { min: 0, max: 0.01 }, rejectSeconds: { min: 0, max: 0 } }),
    directory: directoryOf(organizationId),
    config: { maxContacts: contacts, webhooks: { ...settings, enabled: webhooks } }
  }))

/** Contacts finished per second of one batch; with webhooks, also until every delivery was sent. */
const dispatchRate = async (url: string, organizationId: string, receiverUrl: string | undefined) => {
  const runtime = runtimeOf(url, organizationId, receiverUrl !== undefined)
  try {
    return await runtime.runPromise(Effect.gen(function*() {
      const engine = yield* Engine.Engine
      if (receiverUrl !== undefined) yield* engine.webhooks.create(organizationId, { url: receiverUrl })
      const started = Date.now()
      const created = yield* engine.createBatch(organizationId, {
        name: "bench",
        agentId: "agent_bench",
        concurrentCallLimit: 100,
        maxAttempts: 1,
        contacts: Array.from({ length: contacts }, (_, i) => ({ phone: `+49151${40_000_000 + i}` }))
      })
      for (;;) {
        const batch = yield* engine.getBatch(organizationId, created.batchJobId, {})
        if (batch.status === "completed") break
        yield* Effect.sleep(50)
      }
      const dispatched = contacts / ((Date.now() - started) / 1000)
      if (receiverUrl === undefined) return { dispatched, drained: dispatched }
      const sql = yield* SqlClient.SqlClient
      for (;;) {
        const [left] = yield* sql<{ count: number }>`
          SELECT ((SELECT count(*) FROM outdial_webhook_changes) +
                  (SELECT count(*) FROM outdial_webhook_deliveries WHERE status = 'pending'))::int4 AS count`
        if (left!.count === 0) break
        yield* Effect.sleep(20)
      }
      return { dispatched, drained: contacts / ((Date.now() - started) / 1000) }
    }))
  } finally {
    await runtime.dispose()
  }
}

const main = async () => {
  const database = await createDatabase("outdial_bench_webhooks")
  const receiver = await WebhookReceiver.start()
  try {
    // 1. Deliveries per second from a backlog.
    const organizationId = "org_bench_send"
    const runtime = runtimeOf(database.url, organizationId, false)
    const webhooksPerSec = await runtime.runPromise(Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const store = yield* BatchStore.BatchStore
      yield* engine.webhooks.create(organizationId, { url: receiver.url })
      for (let i = 0; i < backlog; i++) {
        yield* store.webhooks!.recordChange({ kind: "deferred", organizationId, batchId: `b${i}`, policy: "bench", reason: "bench", until: null })
      }
      const started = Date.now()
      let sent = 0
      while (sent < backlog) {
        const pass = yield* WebhookDelivery.pass(store.webhooks!, { ownerId: "bench", settings, random: Math.random })
        sent += pass.sent
      }
      return backlog / ((Date.now() - started) / 1000)
    }))
    await runtime.dispose()
    console.log(`webhooksPerSec ${webhooksPerSec.toFixed(0)} (${backlog} deliveries, received ${receiver.received.length})`)

    // 2. Dispatch with webhooks off, then on, then off again (the mean of the two offs is the baseline).
    const off1 = await dispatchRate(database.url, "org_bench_off1", undefined)
    const on = await dispatchRate(database.url, "org_bench_on", receiver.url)
    const off2 = await dispatchRate(database.url, "org_bench_off2", undefined)
    const off = (off1.dispatched + off2.dispatched) / 2
    console.log(
      `dispatch: ${off.toFixed(0)} contacts/s without webhooks, ${on.dispatched.toFixed(0)} with (${
        on.drained.toFixed(0)
      } counting until every delivery was sent)`
    )
    console.log(JSON.stringify({
      webhooksPerSec: Math.round(webhooksPerSec),
      dispatchPerSecOff: Math.round(off),
      dispatchPerSecOn: Math.round(on.dispatched),
      dispatchPerSecOnDrained: Math.round(on.drained),
      webhookRatio: Number((on.dispatched / off).toFixed(3)),
      webhookRatioDrained: Number((on.drained / off).toFixed(3))
    }))
  } finally {
    await receiver.close()
    await database.drop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
