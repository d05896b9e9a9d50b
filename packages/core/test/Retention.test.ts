/**
 * Retention on the engine's clock: idempotency keys older than the retention
 * age are pruned while the engine runs, younger ones still replay, and a
 * store that cannot prune never takes the engine down.
 */
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import * as BatchStore from "../src/BatchStore.ts"
import * as MemoryBatchStore from "../src/MemoryBatchStore.ts"
import * as Engine from "../src/Engine.ts"
import { StoreError } from "../src/OutdialError.ts"
import { layer as engine, organizationId } from "@outdial/testing/TestEngine"

const monday = Date.UTC(2026, 10, 23, 9, 0)
const hour = 3_600_000

const draft = (name: string, key: string) =>
  Effect.flatMap(Engine.Engine, (outdial) =>
    outdial.createBatch(organizationId, { name, agentId: "agent_sales", draft: true }, undefined, {
      key,
      fingerprint: `body-${name}`
    }))

describe("Retention", () => {
  it.effect("prunes idempotency keys past their age on the engine's clock; younger ones still replay", () =>
    Effect.andThen(
      TestClock.setTime(monday),
      Effect.provide(
        Effect.gen(function*() {
          const old = yield* draft("Old", "key-old")
          yield* TestClock.adjust(23 * hour)
          const young = yield* draft("Young", "key-young")
          // Both still replay just before the old key's 24 hours are up.
          assert.strictEqual((yield* draft("Old", "key-old")).batchJobId, old.batchJobId)

          // The hourly prune after the old key turned 24 hours old removes it.
          yield* TestClock.adjust(2 * hour)
          assert.strictEqual((yield* draft("Young", "key-young")).batchJobId, young.batchJobId)
          const again = yield* draft("Old", "key-old")
          assert.notStrictEqual(again.batchJobId, old.batchJobId)
          // The key is free for any body now, and bound to the new one.
          const reused = yield* Effect.flip(draft("Other", "key-old"))
          assert.strictEqual(reused._tag, "IdempotencyKeyReused")
        }),
        engine()
      )
    ))

  it.effect("the memory store prunes once per interval", () =>
    Effect.gen(function*() {
      const store = MemoryBatchStore.make()
      const at = (millis: number) => DateTime.makeUnsafe(monday + millis)
      yield* TestClock.setTime(monday)
      yield* store.reserveIdempotencyKey("org:create", "a", "f")
      yield* TestClock.adjust(2 * hour)
      yield* store.reserveIdempotencyKey("org:create", "b", "f")
      const request = (now: number) => ({
        now: at(now),
        idempotencyKeysBefore: at(now - 2 * hour + 1),
        eventsBefore: at(now),
        minIntervalMillis: hour
      })
      assert.deepStrictEqual(yield* store.prune(request(2 * hour)), { ran: true, idempotencyKeys: 1, events: 0 })
      // Within the interval: nothing, even with a key now old enough.
      assert.deepStrictEqual(yield* store.prune(request(3 * hour - 1)), { ran: false, idempotencyKeys: 0, events: 0 })
      assert.deepStrictEqual(yield* store.prune(request(3 * hour)), { ran: true, idempotencyKeys: 0, events: 0 })
      assert.deepStrictEqual(yield* store.prune(request(4 * hour)), { ran: true, idempotencyKeys: 1, events: 0 })
    }))

  it.effect("a failing prune is retried every interval and never stops the engine", () => {
    let calls = 0
    const failing = Layer.sync(BatchStore.BatchStore)(() => ({
      ...MemoryBatchStore.make(),
      prune: () =>
        Effect.suspend(() => {
          calls++
          return Effect.fail(new StoreError({ message: "the database is away", cause: null }))
        })
    }))
    return Effect.andThen(
      TestClock.setTime(monday),
      Effect.provide(
        Effect.gen(function*() {
          yield* TestClock.adjust(0)
          assert.strictEqual(calls, 1)
          yield* TestClock.adjust(3 * hour)
          assert.strictEqual(calls, 4)
          // Still serving.
          const created = yield* draft("Alive", "key-alive")
          assert.strictEqual(created.status, "draft")
        }),
        engine({ store: failing })
      )
    )
  })
})
