/**
 * One engine process of bench:batches: the PostgreSQL store with default
 * lease and rescan settings, calls of a few seconds in real time
 * (SimulatedTelephony; talk time BENCH_TALK_SECONDS to twice that, default 2), and a store wrapper that counts the lease and rescan
 * traffic this process causes. Prints `STATS {json}` (cumulative) every second.
 *
 *   worker.ts <databaseUrl> <ownerId>
 */
import { PgStorage } from "@outdial/adapter-postgres"
import {
  BatchStore,
  Credits,
  Dispatcher,
  Engine,
  EngineConfig,
  EngineEvents,
  SimulatedTelephony
} from "@outdial/core"
import type { Utc as DateTimeUtc } from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { directory } from "./shared.ts"

const [databaseUrl, ownerId] = process.argv.slice(2) as [string, string]
const talkSeconds = Number(process.env.BENCH_TALK_SECONDS ?? 2)

const stats = {
  acquireTries: 0,
  acquired: 0,
  renewals: 0,
  renewalWrites: 0,
  releases: 0,
  rescans: 0,
  rescannedBatches: 0,
  notifies: 0,
  dials: 0
}

const count = <A>(f: (a: A) => unknown) => <E>(self: Effect.Effect<A, E>) =>
  Effect.tap(self, (a) => Effect.sync(() => void f(a)))

// Counts what this process asks of the store's lease and rescan paths.
const counted = Layer.effect(BatchStore.BatchStore)(Effect.gen(function*() {
  const store = yield* BatchStore.BatchStore
  return BatchStore.BatchStore.of({
    ...store,
    activeBatches: (contender) =>
      store.activeBatches(contender).pipe(count((batches) => {
        stats.rescans++
        stats.rescannedBatches += batches.length
      })),
    acquireLease: (batchId, owner, now, ttl) =>
      store.acquireLease(batchId, owner, now, ttl).pipe(count((lease) => {
        stats.acquireTries++
        if (lease !== undefined) stats.acquired++
      })),
    renewLease: (lease, now, ttl) =>
      store.renewLease(lease, now, ttl).pipe(count(() => {
        stats.renewalWrites++
        stats.renewals++
      })),
    ...(store.renewLeases === undefined ? {} : {
      renewLeases: (leases: Parameters<NonNullable<typeof store.renewLeases>>[0], now: DateTimeUtc, ttl: number) =>
        store.renewLeases!(leases, now, ttl).pipe(count((renewed) => {
          stats.renewalWrites++
          stats.renewals += renewed.length
        }))
    }),
    releaseLease: (lease) => store.releaseLease(lease).pipe(count(() => stats.releases++)),
    beginAttempt: (lease, attempt) => store.beginAttempt(lease, attempt).pipe(count(() => stats.dials++)),
    ...(store.changes === undefined ? {} : { changes: store.changes.pipe(Stream.tap(() => Effect.sync(() => void stats.notifies++))) })
  })
}))

const storage = PgStorage.layer({ url: Redacted.make(databaseUrl), maxConnections: 8 })

const engine = Engine.layer.pipe(
  Layer.provideMerge(Dispatcher.layer),
  Layer.provide(EngineConfig.layer({ ownerId, maxContacts: 1_000 })),
  Layer.provideMerge(Layer.mergeAll(
    Layer.provideMerge(counted, storage),
    SimulatedTelephony.layer({
      seed: 15,
      outcomes: { completed: 0.7, no_answer: 0.2, busy: 0.1 },
      ringSeconds: { min: 1, max: 2 },
      talkSeconds: { min: talkSeconds, max: talkSeconds * 2 },
      rejectSeconds: 1,
      record: false
    }),
    directory,
    Credits.layerUnlimited(),
    EngineEvents.layer()
  ))
)

const main = Effect.gen(function*() {
  yield* Engine.Engine
  console.log("READY")
  setInterval(() => console.log(`STATS ${JSON.stringify(stats)}`), 1_000).unref()
  return yield* Effect.never
})

Effect.runPromise(main.pipe(Effect.provide(engine))).catch((error) => {
  console.error(error)
  process.exit(1)
})
