/**
 * Retention across processes: two stores sharing one database (two pools,
 * as two processes have them; one client on embedded PGlite when no server
 * is reachable), driven by a TestClock. Keys and events are stamped with the
 * engine's clock when written, both stores prune at the same instant, and
 * only one of them does the work.
 */
import { assert, describe, it } from "@effect/vitest"
import { EmbeddedPostgres, Migrations, PgBatchStore, PgStorage } from "@outdial/adapter-postgres"
import type { Batch } from "@outdial/core/Batch"
import { BatchStore } from "@outdial/core/BatchStore"
import * as Retention from "@outdial/core/Retention"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as SqlClient from "effect/sql/SqlClient"
import { TestClock } from "effect/testing"
import { makeBatch } from "@outdial/testing/StoreFixtures"
import { freshDatabase, isReachable } from "./database.ts"

const reachable = await isReachable()

const hour = 3_600_000
const day = 24 * hour
const start = Date.UTC(2026, 0, 5, 12, 0)
// Small chunks, so that pruning loops over several deletes.
const options = { pruneChunkSize: 2 }

/** Two stores on one database, each with the SqlClient it runs on. */
const twoStores = reachable
  ? Effect.gen(function*() {
    const { url } = yield* freshDatabase("outdial_retention")
    const one = yield* Layer.build(PgStorage.layer({ url: Redacted.make(url) }, { ...options, listen: false }))
    const two = yield* Layer.build(PgStorage.layer({ url: Redacted.make(url) }, { ...options, listen: false }))
    return [one, two] as const
  })
  : Effect.gen(function*() {
    // PGlite is one session: both stores share its client, as two engines in one process would.
    const client = yield* Layer.build(EmbeddedPostgres.layer())
    yield* Migrations.run.pipe(Effect.provide(client))
    const store = () => Layer.build(Layer.provide(PgBatchStore.layer(options), Layer.succeedContext(client)))
    const one = Context.merge(client, yield* store())
    const two = Context.merge(client, yield* store())
    return [one, two] as const
  })

let n = 0
const draft = (at: number): Batch =>
  makeBatch({
    id: `batch_retention_${++n}`,
    organizationId: "org_retention",
    name: `Draft ${n}`,
    createdAt: DateTime.makeUnsafe(at),
    updatedAt: DateTime.makeUnsafe(at)
  })

describe(`Retention on ${reachable ? "PostgreSQL" : "embedded PGlite"}`, () => {
  it.effect("two stores sharing a database prune once per interval, old rows only, on the engine's clock", () =>
    Effect.gen(function*() {
      // The pools run on the live clock; the stores' writes and prunes on the test's.
      const [one, two] = yield* TestClock.withLive(twoStores)
      const a = Context.get(one, BatchStore)
      const b = Context.get(two, BatchStore)
      const sql = Context.get(one, SqlClient.SqlClient)

      /** A completed key and a draft (its `created` event) written at the current test time. */
      const write = (store: BatchStore["Service"], key: string) =>
        Effect.gen(function*() {
          assert.isUndefined(yield* store.reserveIdempotencyKey("org_retention:create", key, `body-${key}`))
          yield* store.completeIdempotencyKey("org_retention:create", key, { key })
          const now = DateTime.toEpochMillis(yield* DateTime.now)
          yield* store.createBatch(draft(now), [])
        })
      const prune = (context: Context.Context<BatchStore>) => Retention.pruneNow.pipe(Effect.provide(context))
      const both = Effect.all([prune(one), prune(two)], { concurrency: 2 })
      const keys = sql<{ key: string }>`SELECT key FROM outdial_idempotency_keys ORDER BY key`.pipe(
        Effect.map((rows) => rows.map((row) => row.key))
      )
      const events = sql<{ name: string }>`SELECT payload->>'name' AS name FROM outdial_events ORDER BY id`.pipe(
        Effect.map((rows) => rows.map((row) => row.name))
      )

      // Pruning happens at `t`, 8 days after `start`.
      const t = start + 8 * day
      yield* TestClock.setTime(start) // 8 days old at `t`: key and event go
      yield* write(a, "k1")
      yield* write(b, "k2")
      yield* write(a, "k3")
      yield* TestClock.setTime(t - 3 * day) // 3 days old: the key goes, the event stays
      yield* write(b, "k4")
      yield* TestClock.setTime(t - 23 * hour - 30 * 60_000) // 23.5 hours old: both stay, for now
      yield* write(a, "k5")
      yield* TestClock.setTime(t - hour) // an hour old: both stay
      yield* write(b, "k6")
      assert.deepStrictEqual(yield* events, ["Draft 1", "Draft 2", "Draft 3", "Draft 4", "Draft 5", "Draft 6"])

      yield* TestClock.setTime(t)
      const first = yield* both
      assert.deepStrictEqual(first.map((r) => r.ran).sort(), [false, true])
      assert.deepStrictEqual(first.find((r) => r.ran), { ran: true, idempotencyKeys: 4, events: 3 })
      assert.deepStrictEqual(first.find((r) => !r.ran), { ran: false, idempotencyKeys: 0, events: 0 })
      assert.deepStrictEqual(yield* keys, ["k5", "k6"])
      assert.deepStrictEqual(yield* events, ["Draft 4", "Draft 5", "Draft 6"])
      // A young key still replays, from either store; a pruned one is free again.
      assert.deepStrictEqual(yield* b.reserveIdempotencyKey("org_retention:create", "k5", "body-k5"), {
        response: { key: "k5" }
      })
      assert.isUndefined(yield* a.reserveIdempotencyKey("org_retention:create", "k1", "another body"))
      yield* a.releaseIdempotencyKey("org_retention:create", "k1")

      // Within the interval neither store prunes, though k5 has turned 24 hours old meanwhile.
      yield* TestClock.adjust(59 * 60_000)
      assert.deepStrictEqual((yield* both).map((r) => r.ran), [false, false])
      assert.deepStrictEqual(yield* keys, ["k5", "k6"])

      // Once the interval has passed since the last prune, one of them prunes again.
      yield* TestClock.adjust(60_000)
      const second = yield* both
      assert.deepStrictEqual(second.map((r) => r.ran).sort(), [false, true])
      assert.deepStrictEqual(second.find((r) => r.ran), { ran: true, idempotencyKeys: 1, events: 0 })
      assert.deepStrictEqual(yield* keys, ["k6"])
      assert.deepStrictEqual(yield* events, ["Draft 4", "Draft 5", "Draft 6"])
    }), { timeout: 60_000 })
})
