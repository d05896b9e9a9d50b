/**
 * One engine process of the crash test: the PostgreSQL store, the fake
 * provider, short leases. With `--create` it also creates the batch.
 *
 *   worker.ts <databaseUrl> <providerUrl> <ownerId> [--create]
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { Credits, Dispatcher, Engine, EngineConfig, EngineEvents } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { directory, organizationId } from "./directory.ts"
import * as HttpTelephony from "./HttpTelephony.ts"

const [databaseUrl, providerUrl, ownerId, mode] = process.argv.slice(2) as [string, string, string, string?]
export { organizationId }
export const contacts = 2_000

const engine = Engine.layer.pipe(
  Layer.provideMerge(Dispatcher.layer),
  Layer.provide(EngineConfig.layer({
    ownerId,
    maxContacts: contacts,
    leaseTtlMillis: 2_000,
    rescanIntervalMillis: 300,
    reconcilePollMillis: 50
  })),
  Layer.provideMerge(Layer.mergeAll(
    PgStorage.layer({ url: Redacted.make(databaseUrl), maxConnections: 4 }),
    HttpTelephony.layer(providerUrl),
    directory,
    Credits.layerUnlimited(),
    EngineEvents.layer()
  ))
)

const main = Effect.gen(function*() {
  if (mode === "--create") {
    const outdial = yield* Engine.Engine
    const created = yield* outdial.createBatch(organizationId, {
      name: "Crash test",
      agentId: "agent_crash",
      concurrentCallLimit: 10,
      maxAttempts: 2,
      retryDelay: "PT1S",
      timezone: "UTC",
      workingDays: [1, 2, 3, 4, 5, 6, 7],
      callingWindow: { start: "00:00", end: "24:00" },
      contacts: Array.from({ length: contacts }, (_, i) => ({ phone: `+49151${20_000_000 + i}`, name: `Contact ${i}` }))
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
