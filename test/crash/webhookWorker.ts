/**
 * One engine process of the webhook crash test: the PostgreSQL store and
 * the sender, nothing else dialing. With `--create` it registers the
 * endpoint and creates a batch whose changes become deliveries.
 *
 *   webhookWorker.ts <databaseUrl> <receiverUrl> <ownerId> [--create]
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { Engine, EngineConfig, SimulatedTelephony, WebhookSettings } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { directory, organizationId } from "./directory.ts"

const [databaseUrl, receiverUrl, ownerId, mode] = process.argv.slice(2) as [string, string, string, string?]

const engine = Engine.layerWith({
  store: PgStorage.layer({ url: Redacted.make(databaseUrl), maxConnections: 4 }),
  telephony: SimulatedTelephony.layer({ ringSeconds: { min: 0, max: 0.01 }, talkSeconds: { min: 0.01, max: 0.02 } }),
  directory,
  config: {
    ownerId,
    leaseTtlMillis: 2_000,
    rescanIntervalMillis: 300,
    reconcilePollMillis: 50,
    webhooks: { ...WebhookSettings.defaults, allowPrivateNetworks: true, timeoutMillis: 1_000, pollIntervalMillis: 50, concurrency: 8 }
  } satisfies Partial<EngineConfig.EngineConfig>
})

const main = Effect.gen(function*() {
  if (mode === "--create") {
    const outdial = yield* Engine.Engine
    yield* outdial.webhooks.create(organizationId, { url: receiverUrl })
    const created = yield* outdial.createBatch(organizationId, {
      name: "Webhook crash test",
      agentId: "agent_crash",
      concurrentCallLimit: 10,
      contacts: Array.from({ length: 40 }, (_, i) => ({ phone: `+49151${30_000_000 + i}` }))
    })
    console.log(`BATCH ${created.batchJobId}`)
  }
  console.log("READY")
  return yield* Effect.never
})

Effect.runPromise(main.pipe(Effect.provide(engine))).catch((error) => {
  console.error(error)
  process.exit(1)
})
