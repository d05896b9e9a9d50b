/**
 * One engine process of the crash test: the PostgreSQL store, the fake
 * provider, short leases. With `--create` it also creates the batch. With
 * `--limits=<json>` (organizationLimit.test.ts) the organization has those
 * limits (`maxConcurrentCalls`, `maxCallsPerSecondPerNumber`), and `--create`
 * makes a batch of `contacts` numbers of its own instead.
 *
 *   worker.ts <databaseUrl> <providerUrl> <ownerId> [--create] [--limits=<json>]
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { type CallLimits, Credits, Dispatcher, Engine, EngineConfig, EngineEvents } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { directory, organizationId } from "./directory.ts"
import * as HttpTelephony from "./HttpTelephony.ts"

const [databaseUrl, providerUrl, ownerId, ...flags] = process.argv.slice(2) as [string, string, string, ...Array<string>]
const mode = flags.find((flag) => flag === "--create")
const limitsFlag = flags.find((flag) => flag.startsWith("--limits="))
const limits = limitsFlag === undefined
  ? undefined
  : JSON.parse(limitsFlag.slice("--limits=".length)) as CallLimits.OrganizationLimits & { readonly contacts: number }
export { organizationId }
export const contacts = 2_000

const engine = Engine.layer.pipe(
  Layer.provideMerge(Dispatcher.layer),
  Layer.provide(EngineConfig.layer({
    ownerId,
    maxContacts: contacts,
    leaseTtlMillis: 2_000,
    rescanIntervalMillis: 300,
    reconcilePollMillis: 50,
    organizationLimits: () => limits
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
  if (mode === "--create" && limits !== undefined) {
    // Each process its own batch of the one organization; numbers distinct per process.
    const offset = Number(ownerId.replace(/\D/g, "")) * 100_000
    const created = yield* (yield* Engine.Engine).createBatch(organizationId, {
      name: `Limits ${ownerId}`,
      agentId: "agent_crash",
      concurrentCallLimit: 10,
      maxAttempts: 1,
      timezone: "UTC",
      workingDays: [1, 2, 3, 4, 5, 6, 7],
      callingWindow: { start: "00:00", end: "24:00" },
      contacts: Array.from({ length: limits.contacts }, (_, i) => ({ phone: `+49151${30_000_000 + offset + i}` }))
    })
    console.log(`BATCH ${created.batchJobId}`)
  } else if (mode === "--create") {
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
