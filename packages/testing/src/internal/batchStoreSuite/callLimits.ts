/**
 * Limits across an organization's batches: `attemptsByNumber` sees the
 * attempts of every batch of the organization (and of no other), answered
 * ones apart, abandoned ones not at all; `beginAttemptsWithin` begins no
 * more than the organization's free slots and each caller number's calls
 * per second allow, and says when the next may.
 */
import { assert, describe } from "@effect/vitest"
import type { AttemptStart, NewContact } from "@outdial/core/BatchStore"
import { BatchStore } from "@outdial/core/BatchStore"
import type { Contact } from "@outdial/core/Contact"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { after, allContacts, begin, callResult, day, dialDecision, makeBatch, type Suite, takeLease, uniqueId } from "./helpers.ts"

const contactOf = (phone: string, row: number): NewContact => ({
  row,
  phone,
  numberValidated: true,
  name: null,
  externalId: null,
  customFields: {}
})

/** A running batch of the organization with contacts of the given phones. */
const batchOf = (organizationId: string, phones: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const batch = makeBatch({ status: "running", organizationId })
    yield* store.createBatch(batch, phones.map((phone, i) => contactOf(phone, i + 2)))
    return { batch, contacts: yield* allContacts(batch.id), lease: yield* takeLease(batch.id) }
  })

const startOf = (contact: Contact, callerNumberId: string, at: DateTime.Utc): AttemptStart => ({
  contactId: contact.id,
  attemptNumber: contact.attemptCount + 1,
  callerNumberId,
  startedAt: at,
  localDate: day,
  decision: dialDecision(at)
})

const millis = (seconds: number) => DateTime.toEpochMillis(after(seconds))

export const callLimits = (it: Suite): void => {
  describe("limits across an organization's batches", () => {
    it.effect("attemptsByNumber counts the organization's attempts to a number in every batch, answered ones apart", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const organizationId = uniqueId("org")
        const phone = `+1202${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`
        const first = yield* batchOf(organizationId, [phone])
        const second = yield* batchOf(organizationId, [phone, "+12025550199"])
        const elsewhere = yield* batchOf(uniqueId("org"), [phone])
        const a = yield* begin(first.lease, first.contacts[0]!, after(10))
        yield* store.finishAttempt(first.lease, {
          attemptId: a.attempt.id,
          result: callResult("completed"),
          endedAt: after(70),
          status: "completed",
          nextRetryAt: null,
          decision: null
        })
        yield* begin(second.lease, second.contacts[0]!, after(100))
        yield* begin(elsewhere.lease, elsewhere.contacts[0]!, after(5))
        const abandoned = yield* begin(second.lease, second.contacts[1]!, after(110))
        yield* store.abandonAttempt(second.lease, abandoned.attempt.id)

        const history = yield* store.attemptsByNumber(organizationId, [phone, "+12025550199", "+12025550198"], after(0))
        assert.deepStrictEqual([...history.keys()], [phone])
        const found = history.get(phone)!
        assert.deepStrictEqual(found.starts, [millis(10), millis(100)])
        assert.deepStrictEqual(found.connected, [millis(10)])
        assert.deepStrictEqual(found.open, [millis(100)])
        const later = yield* store.attemptsByNumber(organizationId, [phone], after(50))
        assert.deepStrictEqual(later.get(phone)!.starts, [millis(100)])
      }))

    it.effect("beginAttemptsWithin begins no more than the organization's free slots and each caller's calls per second", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const organizationId = uniqueId("org")
        const phones = (n: number, from: number) => Array.from({ length: n }, (_, i) => `+4915130${String(from + i).padStart(6, "0")}`)
        const busy = yield* batchOf(organizationId, phones(2, 0))
        const next = yield* batchOf(organizationId, phones(6, 100))
        const caller = uniqueId("num")
        const other = uniqueId("num")
        // Two calls in flight elsewhere in the organization, one from `caller` half a second ago.
        yield* store.beginAttemptsWithin(busy.lease, [startOf(busy.contacts[0]!, caller, after(9.5))], {
          organizationId,
          maxConcurrentCalls: null,
          maxCallsPerSecondPerNumber: null
        })
        yield* begin(busy.lease, busy.contacts[1]!, after(9))
        const limits = { organizationId, maxConcurrentCalls: 5, maxCallsPerSecondPerNumber: 2 }
        const callers = [caller, caller, other, other, other, caller]
        const paced = yield* store.beginAttemptsWithin(
          next.lease,
          next.contacts.map((contact, i) => startOf(contact, callers[i]!, after(10))),
          limits
        )
        assert.deepStrictEqual(paced.results.map((r) => r === undefined ? "held" : r._tag), [
          "Success",
          "held",
          "Success",
          "Success",
          "held",
          "held"
        ])
        assert.strictEqual(paced.retryAt, millis(10.5))
        assert.strictEqual((yield* store.openAttempts(next.batch.id)).length, 3)
        const waiting = yield* allContacts(next.batch.id, "pending")
        assert.strictEqual(waiting.length, 3)
        // All five slots are taken now: nothing begins, whatever the second.
        const full = yield* store.beginAttemptsWithin(next.lease, [startOf(waiting[0]!, uniqueId("num"), after(20))], limits)
        assert.deepStrictEqual([full.results[0], full.retryAt], [undefined, undefined])
        // A contact that no longer waits answers InvalidTransition, as in beginAttempts.
        const begun = next.contacts[0]!
        const again = yield* store.beginAttemptsWithin(next.lease, [startOf(begun, uniqueId("num"), after(20))], {
          ...limits,
          maxConcurrentCalls: null
        })
        assert.isTrue(again.results[0] !== undefined && Result.isFailure(again.results[0]))
      }))
  })
}
