/**
 * A retry runs a cancelled or failed batch again over what it left undone —
 * a failed one only once the cause of its failure is gone — and says how
 * many contacts it re-queued.
 */
import { assert, describe, it } from "@effect/vitest"
import { advance, layer as engine, organizationId, rows, settle } from "@outdial/testing/TestEngine"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import * as Directory from "../src/Directory.ts"
import * as Engine from "../src/Engine.ts"

const monday = Date.UTC(2026, 10, 23, 9, 0)
const minuteCalls = { outcomes: { completed: 1 }, ringSeconds: 0, talkSeconds: 60 }

/** The fixture agent and numbers, whose numbers can be switched off for outbound calls. */
const switchable = () => {
  const state = { outbound: true }
  const layer = Layer.succeed(Directory.Directory)({
    agent: (org, id) =>
      Effect.succeed(org === organizationId && id === "agent_sales" ? { id, organizationId, ready: true, phoneNumberIds: ["num_1"] } : undefined),
    callerNumber: (org, id) =>
      Effect.succeed(org === organizationId && id === "num_1"
        ? { id, organizationId, number: "+12025550100", outboundEnabled: state.outbound, agentId: "agent_sales" }
        : undefined),
    destinationPolicy: () => Effect.succeed(undefined)
  })
  return { state, layer }
}

describe("retry of a finished batch", () => {
  it.effect("a cancelled batch runs again over the contacts its cancel ended", () => {
    // The clock is set before the engine starts: moving it years ahead afterwards replays every hourly prune.
    return Effect.andThen(TestClock.setTime(monday), Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const created = yield* outdial.createBatch(organizationId, { name: "Again", agentId: "agent_sales", concurrentCallLimit: 2, contacts: rows(10) })
      yield* settle
      yield* advance("90 seconds")
      yield* outdial.cancel(organizationId, created.batchJobId)
      yield* advance("5 minutes")
      const cancelled = yield* outdial.getBatch(organizationId, created.batchJobId)
      const ended = cancelled.progress.statusBreakdown.cancelled
      assert.isAbove(ended, 0)
      const retried = yield* outdial.retry(organizationId, created.batchJobId)
      assert.strictEqual(retried.status, "running")
      assert.strictEqual(retried.requeued, ended)
      yield* settle
      yield* advance("1 hour")
      const done = yield* outdial.getBatch(organizationId, created.batchJobId)
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.progress.successfulCalls, 10)
    }).pipe(Effect.provide(engine({ telephony: minuteCalls }))))
  })

  it.effect("a failed batch is refused while its cause remains, then runs again once it is gone", () => {
    const directory = switchable()
    return Effect.andThen(TestClock.setTime(monday), Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const created = yield* outdial.createBatch(organizationId, { name: "Broken", agentId: "agent_sales", concurrentCallLimit: 1, contacts: rows(3) })
      yield* settle
      yield* advance("90 seconds")
      // The number loses outbound calling: the next takeover fails the batch.
      directory.state.outbound = false
      yield* outdial.pause(organizationId, created.batchJobId)
      yield* advance("5 minutes")
      yield* outdial.resume(organizationId, created.batchJobId)
      yield* settle
      yield* advance("5 minutes")
      const failed = yield* outdial.getBatch(organizationId, created.batchJobId)
      assert.strictEqual(failed.status, "failed")
      const refused = yield* Effect.flip(outdial.retry(organizationId, created.batchJobId))
      assert.strictEqual(refused._tag, "InvalidTransition")
      assert.match(refused.message, /^Cannot retry a batch that is failed: .*cannot place outbound calls/)
      assert.strictEqual((yield* outdial.getBatch(organizationId, created.batchJobId)).status, "failed")
      directory.state.outbound = true
      const retried = yield* outdial.retry(organizationId, created.batchJobId)
      assert.strictEqual(retried.status, "running")
      yield* settle
      yield* advance("1 hour")
      const done = yield* outdial.getBatch(organizationId, created.batchJobId)
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.progress.successfulCalls, 3)
    }).pipe(Effect.provide(engine({ telephony: minuteCalls, directory: directory.layer }))))
  })
})
