/**
 * Batched dialing writes: `beginAttempts` and `finishAttempts` (through the
 * port's fallback for a store without them) act as the single writes would,
 * contact by contact, under one lease check.
 */
import { assert, describe } from "@effect/vitest"
import * as BatchStore from "@outdial/core/BatchStore"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { after, assertSame, assertTime, begin, callResult, checkCounters, current, day, dialDecision, failure, seed, type Suite, takeLease } from "./helpers.ts"

const start = (contact: { readonly id: string; readonly attemptCount: number }, at = after(1)): BatchStore.AttemptStart => ({
  contactId: contact.id,
  attemptNumber: contact.attemptCount + 1,
  callerNumberId: "num_suite_1",
  startedAt: at,
  localDate: day,
  decision: dialDecision(at)
})

export const batchedWrites = (it: Suite): void => {
  describe("batched dialing writes", () => {
    it.effect("beginAttempts begins each waiting contact as beginAttempt would, and refuses only those that do not wait", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 5 })
        const lease = yield* takeLease(batch.id)
        yield* begin(lease, contacts[2]!)
        const results = yield* BatchStore.beginAttempts(store, lease, [contacts[3]!, contacts[2]!, contacts[0]!].map((c) => start(c)))
        assert.deepStrictEqual(results.map((r) => r._tag), ["Success", "Failure", "Success"])
        const refused = results[1]!
        assert.isTrue(Result.isFailure(refused) && refused.failure.from === "dialing")
        for (const [i, contact] of [[0, contacts[3]!], [2, contacts[0]!]] as const) {
          const begun = Result.getOrThrow(results[i]!)
          assert.strictEqual(begun.contact.id, contact.id)
          assert.strictEqual(begun.contact.status, "dialing")
          assert.strictEqual(begun.contact.attemptCount, 1)
          assertTime(begun.contact.lastAttemptAt, after(1))
          assert.strictEqual(begun.attempt.contactId, contact.id)
          assert.strictEqual(begun.attempt.state, "dialing")
          assertSame(yield* current(batch.id, contact.id), begun.contact)
        }
        assert.strictEqual((yield* store.openAttempts(batch.id)).length, 3)
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, day), 3)
        const breakdown = yield* store.statusBreakdown(batch.id)
        assert.deepStrictEqual([breakdown.dialing, breakdown.pending], [3, 2])
        yield* checkCounters(batch.id)
      }))

    it.effect("a refunded attempt (a callback) grants the contact one more attempt, once, alone or batched", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 3 })
        const lease = yield* takeLease(batch.id)
        const begun = (yield* BatchStore.beginAttempts(store, lease, contacts.map((c) => start(c)))).map(Result.getOrThrow)
        const before = begun[0]!.contact.maxAttempts
        const end = (i: number, refundAttempt: boolean): BatchStore.AttemptEnd => ({
          attemptId: begun[i]!.attempt.id,
          result: callResult("completed"),
          endedAt: after(60),
          status: "queued",
          nextRetryAt: after(86_400),
          decision: null,
          refundAttempt
        })
        const alone = yield* store.finishAttempt(lease, end(0, true))
        const batched = yield* BatchStore.finishAttempts(store, lease, [end(1, true), end(2, false), end(0, true)])
        assert.deepStrictEqual(
          [alone.contact.maxAttempts, batched[0]!.contact.maxAttempts, batched[1]!.contact.maxAttempts],
          [before + 1, before + 1, before]
        )
        // Recorded already: the repeat refunds nothing more.
        assert.strictEqual(batched[2]!.contact.maxAttempts, before + 1)
        assert.strictEqual((yield* current(batch.id, contacts[0]!.id)).maxAttempts, before + 1)
        assert.deepStrictEqual([alone.contact.attemptCount, alone.contact.status], [1, "queued"])
        assertTime(alone.contact.nextRetryAt, after(86_400))
        yield* checkCounters(batch.id)
      }))

    it.effect("finishAttempts records each end as finishAttempt would, an end already recorded changing nothing", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 4 })
        const lease = yield* takeLease(batch.id)
        const begun = (yield* BatchStore.beginAttempts(store, lease, contacts.map((c) => start(c)))).map(Result.getOrThrow)
        const end = (i: number, outcome: "completed" | "busy", retryAt?: number): BatchStore.AttemptEnd => ({
          attemptId: begun[i]!.attempt.id,
          result: callResult(outcome),
          endedAt: after(60 + i),
          status: retryAt === undefined ? outcome : "queued",
          nextRetryAt: retryAt === undefined ? null : after(retryAt),
          decision: null
        })
        const first = yield* store.finishAttempt(lease, end(0, "completed"))
        yield* store.cancelContacts(batch.id, after(30))
        const ended = yield* BatchStore.finishAttempts(store, lease, [end(2, "busy", 3600), end(0, "busy"), end(1, "busy"), end(3, "completed")])
        assert.deepStrictEqual(ended.map((e) => e.attempt.id), [2, 0, 1, 3].map((i) => begun[i]!.attempt.id))
        // Recorded already: the first record stands.
        assertSame(ended[1], first)
        // Cancelled while dialing: the contact keeps `cancelled`, the attempt records the call.
        const [retry, , busy, done] = ended
        for (const e of [retry!, busy!, done!]) assert.strictEqual(e.attempt.state, "finished")
        assert.deepStrictEqual([retry!.contact.status, busy!.contact.status, done!.contact.status], ["queued", "busy", "completed"])
        assertTime(retry!.contact.nextRetryAt, after(3600))
        assert.isNull(retry!.contact.completedAt)
        assertTime(busy!.contact.completedAt, after(61))
        assert.strictEqual(busy!.contact.errorCode, 486)
        assert.strictEqual(done!.contact.callDuration, 42.5)
        assert.strictEqual(busy!.attempt.outcome, "busy")
        for (const e of ended) assertSame(yield* current(batch.id, e.contact.id), e.contact)
        assert.deepStrictEqual(yield* store.openAttempts(batch.id), [])
        yield* checkCounters(batch.id)
      }))

    it.effect("batched writes under a lease taken over change nothing and fail with LeaseLost", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 3 })
        const stale = yield* takeLease(batch.id)
        const open = Result.getOrThrow((yield* BatchStore.beginAttempts(store, stale, [start(contacts[0]!)]))[0]!)
        yield* store.releaseLease(stale)
        yield* takeLease(batch.id)
        yield* failure(BatchStore.beginAttempts(store, stale, contacts.slice(1).map((c) => start(c))), "LeaseLost")
        yield* failure(
          BatchStore.finishAttempts(store, stale, [{
            attemptId: open.attempt.id,
            result: callResult("completed"),
            endedAt: after(60),
            status: "completed",
            nextRetryAt: null,
            decision: null
          }]),
          "LeaseLost"
        )
        assert.deepStrictEqual((yield* store.openAttempts(batch.id)).map((a) => a.id), [open.attempt.id])
        for (const c of contacts.slice(1)) assert.strictEqual((yield* current(batch.id, c.id)).status, "pending")
        yield* checkCounters(batch.id)
      }))
  })
}
