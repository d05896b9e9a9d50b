/**
 * A store that cannot record a call's outcome must never make the dispatcher
 * spin: it backs off, retakes its lease a bounded number of times a minute,
 * and the batch still ends — completed once the store recovers, or failed
 * with the cause — with no contact left `dialing`, cancelled or not.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import * as BatchStore from "../src/BatchStore.ts"
import * as Dispatcher from "../src/Dispatcher.ts"
import * as Engine from "../src/Engine.ts"
import { StoreError } from "../src/OutdialError.ts"
import { allContacts, engineOnly, organizationId, ports, rows, sharedMemoryStore } from "@outdial/testing/TestEngine"

const monday = Date.UTC(2026, 10, 23, 9, 0)

type Failure = "none" | "outage" | "defect"

/** A shared store whose `finishAttempt` fails as `mode` says, counting lease takes by minute. */
const makeFaultyStore = () => {
  const state = { mode: "none" as Failure, leaseTakesByMinute: new Map<number, number>(), finishFailures: 0 }
  const layer = Layer.effect(BatchStore.BatchStore)(Effect.gen(function*() {
    const inner = yield* BatchStore.BatchStore
    return {
      ...inner,
      acquireLease: (batchId, ownerId, now, ttl) =>
        Effect.gen(function*() {
          const minute = Math.floor(((yield* Clock.currentTimeMillis) - monday) / 60_000)
          state.leaseTakesByMinute.set(minute, (state.leaseTakesByMinute.get(minute) ?? 0) + 1)
          return yield* inner.acquireLease(batchId, ownerId, now, ttl)
        }),
      finishAttempt: (lease, end) =>
        Effect.suspend(() => {
          if (state.mode === "none") return inner.finishAttempt(lease, end)
          state.finishFailures++
          // An outage is a store error (retried, then backed off); a defect is a bug in recording.
          return state.mode === "outage"
            ? Effect.fail(new StoreError({ message: "connection refused" }))
            : Effect.die(new RangeError("Invalid time value"))
        }),
      // The dispatcher records ends with one batched write where the store offers it; it fails alike.
      finishAttempts: (lease, ends) =>
        Effect.suspend(() => {
          if (state.mode === "none") return inner.finishAttempts!(lease, ends)
          state.finishFailures++
          return state.mode === "outage"
            ? Effect.fail(new StoreError({ message: "connection refused" }))
            : Effect.die(new RangeError("Invalid time value"))
        })
    } satisfies BatchStore.BatchStore["Service"]
  })).pipe(Layer.provide(sharedMemoryStore))
  return { state, layer }
}

const setup = (mode: Failure, maxRecordFailures = 10, contactCount = 4) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(monday)
    const faulty = makeFaultyStore()
    faulty.state.mode = mode
    const shared = yield* Layer.build(ports({
      store: faulty.layer,
      telephony: { outcomes: { completed: 1 }, ringSeconds: 1, talkSeconds: 20 }
    }))
    const live = yield* Layer.build(engineOnly({ ownerId: "process-a", maxRecordFailures })).pipe(Effect.provideContext(shared))
    const created = yield* Engine.Engine.use((engine) =>
      engine.createBatch(organizationId, { name: "Faulty store", agentId: "agent_sales", concurrentCallLimit: 2, contacts: rows(contactCount) })
    ).pipe(Effect.provideContext(live))
    const settle = Effect.provideContext(Effect.flatMap(Dispatcher.Dispatcher, (d) => d.settled), live)
    const advance = (seconds: number) =>
      Effect.gen(function*() {
        for (let i = 0; i < seconds; i++) {
          yield* settle
          yield* TestClock.adjust("1 second")
        }
      })
    const contacts = Effect.provideContext(allContacts(created.batchJobId), shared)
    const batch = Effect.provideContext(
      BatchStore.BatchStore.use((store) => store.getBatch(organizationId, created.batchJobId)),
      shared
    )
    return { faulty, live, batchId: created.batchJobId, advance, contacts, batch }
  })

const maxTakesPerMinute = (takes: ReadonlyMap<number, number>) => Math.max(0, ...takes.values())

describe("Dispatcher: failures to record an outcome", () => {
  it.effect("an outage backs off, retakes the lease a few times a minute, and the batch completes once it ends", () =>
    Effect.gen(function*() {
      const { advance, batch, contacts, faulty } = yield* setup("outage")
      yield* advance(5 * 60)
      assert.isAbove(faulty.state.finishFailures, 0)
      // Before the back-off a failing write made the runner retake its lease hundreds of times a second.
      assert.isAtMost(maxTakesPerMinute(faulty.state.leaseTakesByMinute), 6)
      assert.strictEqual((yield* batch).status, "running")
      faulty.state.mode = "none"
      yield* advance(15 * 60)
      assert.strictEqual((yield* batch).status, "completed")
      const all = yield* contacts
      assert.deepStrictEqual(all.map((c) => c.status), ["completed", "completed", "completed", "completed"])
      // Each call was recorded once, from the provider's answer: none was placed twice.
      assert.deepStrictEqual(all.map((c) => c.attemptCount), [1, 1, 1, 1])
    }).pipe(Effect.scoped))

  it.effect("a recording that keeps failing fails the batch with the cause, and leaves no contact dialing", () =>
    Effect.gen(function*() {
      const { advance, batch, contacts, faulty } = yield* setup("defect", 4)
      yield* advance(30 * 60)
      const failed = yield* batch
      assert.strictEqual(failed.status, "failed")
      assert.match(failed.statusReason ?? "", /^could not record call outcomes: .*Invalid time value/)
      assert.isAtMost(maxTakesPerMinute(faulty.state.leaseTakesByMinute), 6)
      const all = yield* contacts
      assert.deepStrictEqual(all.filter((c) => c.status === "dialing"), [])
    }).pipe(Effect.scoped))

  it.effect("cancel during an outage leaves no contact dialing once the store is back", () =>
    Effect.gen(function*() {
      const { advance, batch, batchId, contacts, faulty, live } = yield* setup("outage", 10, 20)
      yield* advance(90)
      yield* Engine.Engine.use((engine) => engine.cancel(organizationId, batchId)).pipe(Effect.provideContext(live))
      yield* advance(60)
      faulty.state.mode = "none"
      yield* advance(15 * 60)
      assert.strictEqual((yield* batch).status, "cancelled")
      const all = yield* contacts
      assert.deepStrictEqual(all.filter((c) => c.status === "dialing"), [])
      // The calls placed before the cancel were recorded with their outcome, the rest cancelled.
      assert.deepStrictEqual([...new Set(all.map((c) => c.status))].sort(), ["cancelled", "completed"])
    }).pipe(Effect.scoped))
})
