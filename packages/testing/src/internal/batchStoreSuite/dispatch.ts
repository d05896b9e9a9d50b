/**
 * Dispatch: dialable contacts, attempts begun and finished under a lease, retries and moves.
 * Longer than ~400 lines because these are one part of the contract's tests, read together.
 */
import { assert, describe } from "@effect/vitest"
import * as Attempt from "@outdial/core/Attempt"
import * as Contact from "@outdial/core/Contact"
import type { CallResult } from "@outdial/core/Telephony"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { after, allContacts, assertSame, assertTime, baseTime, begin, call, callResult, checkCounters, current, day, deferDecision, dialableIds, dialDecision, failure, finish, idsOf, makeBatch, seed, skipDecision, type Suite, takeLease, uniqueId } from "./helpers.ts"

export const dispatch = (it: Suite): void => {
  describe("dispatch", () => {
    it.effect("dialable: pending contacts in row order, up to a limit, without the excluded; reads only", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 5 })
        const ids = idsOf(contacts)
        assert.deepStrictEqual(yield* dialableIds(batch.id, baseTime), ids)
        assert.deepStrictEqual(yield* dialableIds(batch.id, baseTime), ids, "a second read finds the same")
        assert.deepStrictEqual(yield* dialableIds(batch.id, baseTime, 2), ids.slice(0, 2))
        assert.deepStrictEqual(yield* dialableIds(batch.id, baseTime, 2, new Set([ids[0]!, ids[2]!])), [ids[1]!, ids[3]!])
        assert.deepStrictEqual(yield* dialableIds(batch.id, baseTime, 0), [])
        assertSame(yield* store.dialable(batch.id, baseTime, 1, new Set()), [contacts[0]])
        assert.deepStrictEqual(yield* dialableIds(uniqueId("batch"), baseTime), [])
        assert.isUndefined(yield* store.nextDueAt(batch.id), "no contact waits for a time")
        assert.isUndefined(yield* store.nextDueAt(uniqueId("batch")))
        assertSame(yield* allContacts(batch.id), contacts)
      }))

    it.effect("dialable: due contacts first, earliest first then in row order; future ones wait", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 6 })
        const [c1, c2, c3, c4, c5, c6] = contacts as [Contact.Contact, ...Array<Contact.Contact>]
        const lease = yield* takeLease(batch.id)
        yield* call(lease, c1, "no_answer", after(1), after(600))
        yield* call(lease, c2!, "busy", after(2), after(300))
        yield* store.decide(lease, c3!.id, deferDecision(after(3), after(1200)))
        yield* store.decide(lease, c4!.id, deferDecision(after(4), after(300)))
        yield* call(lease, c6!, "completed", after(5))
        const ids = (c: Contact.Contact | undefined) => c!.id

        assert.deepStrictEqual(yield* dialableIds(batch.id, after(10)), [ids(c5)])
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(300)), [ids(c2), ids(c4), ids(c5)])
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(900)), [ids(c2), ids(c4), ids(c1), ids(c5)])
        assert.deepStrictEqual(
          yield* dialableIds(batch.id, after(1800)),
          [ids(c2), ids(c4), ids(c1), ids(c3), ids(c5)]
        )
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(1800), 2), [ids(c2), ids(c4)])
        assert.deepStrictEqual(
          yield* dialableIds(batch.id, after(900), 2, new Set([ids(c2)])),
          [ids(c4), ids(c1)]
        )
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(900), 10, new Set([ids(c5)])), [
          ids(c2),
          ids(c4),
          ids(c1)
        ])
        assertTime(yield* store.nextDueAt(batch.id), after(300))

        // Dialing the due ones moves the next due time on; once nothing waits, there is none.
        const dueC2 = yield* current(batch.id, ids(c2))
        yield* call(lease, dueC2, "completed", after(310))
        const dueC4 = yield* current(batch.id, ids(c4))
        yield* begin(lease, dueC4, after(311))
        assertTime(yield* store.nextDueAt(batch.id), after(600))
        for (const id of [ids(c1), ids(c3), ids(c5)]) {
          yield* call(lease, yield* current(batch.id, id), "completed", after(2000))
        }
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(5000)), [])
        assert.isUndefined(yield* store.nextDueAt(batch.id))
        yield* checkCounters(batch.id)
      }))

    it.effect("beginAttempt moves a waiting contact to dialing and records its attempt", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 3 })
        const lease = yield* takeLease(batch.id)
        const contact = contacts[0]!
        const decision = dialDecision(after(10))
        const begun = yield* store.beginAttempt(lease, {
          contactId: contact.id,
          attemptNumber: 1,
          callerNumberId: "num_suite_2",
          startedAt: after(10),
          localDate: day,
          decision
        })
        assertSame(begun.contact, {
          ...contact,
          status: "dialing",
          attemptCount: 1,
          lastAttemptAt: after(10),
          nextRetryAt: null,
          lastDecision: decision
        })
        assertSame(begun.attempt, {
          id: Attempt.makeId(batch.id, contact.id, 1),
          batchId: batch.id,
          contactId: contact.id,
          attemptNumber: 1,
          state: "dialing",
          callerNumberId: "num_suite_2",
          startedAt: after(10),
          endedAt: null,
          outcome: null,
          sipCode: null,
          duration: null,
          roomName: null,
          failureReason: null
        })
        assertSame(yield* store.getContact(batch.id, contact.id), begun.contact)
        assertSame(yield* store.openAttempts(batch.id), [begun.attempt])
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, day), 1)
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, "2030-01-08"), 0)
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(11)), idsOf(contacts.slice(1)))

        const again = yield* failure(
          store.beginAttempt(lease, {
            contactId: contact.id,
            attemptNumber: 2,
            callerNumberId: "num_suite_1",
            startedAt: after(12),
            localDate: day,
            decision: null
          }),
          "InvalidTransition"
        )
        assert.strictEqual(again.entity, "contact")
        assert.strictEqual(again.from, "dialing")

        // Without a decision, the contact keeps the one it had.
        yield* store.decide(lease, contacts[1]!.id, deferDecision(after(13), after(14)))
        const undecided = yield* store.beginAttempt(lease, {
          contactId: contacts[1]!.id,
          attemptNumber: 1,
          callerNumberId: "num_suite_1",
          startedAt: after(15),
          localDate: day,
          decision: null
        })
        assertSame(undecided.contact.lastDecision, deferDecision(after(13), after(14)))
        const open = yield* store.openAttempts(batch.id)
        assert.deepStrictEqual(idsOf(open).sort(), [begun.attempt.id, undecided.attempt.id].sort())
        yield* checkCounters(batch.id)
      }))

    it.effect("beginAttempt refuses a contact that does not wait, and an attempt number that is not the next", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 3 })
        const lease = yield* takeLease(batch.id)
        yield* call(lease, contacts[0]!, "completed", after(1))
        const ended = yield* failure(begin(lease, yield* current(batch.id, contacts[0]!.id), after(2)), "InvalidTransition")
        assert.strictEqual(ended.from, "completed")
        yield* store.decide(lease, contacts[1]!.id, skipDecision(after(3)))
        const skipped = yield* failure(begin(lease, contacts[1]!, after(4)), "InvalidTransition")
        assert.strictEqual(skipped.from, "skipped")

        const exit = yield* Effect.exit(store.beginAttempt(lease, {
          contactId: contacts[2]!.id,
          attemptNumber: 2,
          callerNumberId: "num_suite_1",
          startedAt: after(5),
          localDate: day,
          decision: null
        }))
        assert.isTrue(Exit.isFailure(exit), "attempt 2 of a contact never dialed")
        assertSame(yield* current(batch.id, contacts[2]!.id), contacts[2])
        assert.deepStrictEqual(yield* store.openAttempts(batch.id), [])
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, day), 1)
        yield* checkCounters(batch.id)
      }))

    it.effect("attemptsOnDay counts the attempts begun on each local day", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 4 })
        const lease = yield* takeLease(batch.id)
        const first = yield* begin(lease, contacts[0]!, after(1), "2030-01-07")
        yield* begin(lease, contacts[1]!, after(2), "2030-01-07")
        yield* begin(lease, contacts[2]!, after(86_400), "2030-01-08")
        yield* finish(lease, first.attempt.id, "no_answer", after(60), { nextRetryAt: after(90_000) })
        yield* begin(lease, yield* current(batch.id, contacts[0]!.id), after(90_000), "2030-01-08")
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, "2030-01-07"), 2, "finished attempts count")
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, "2030-01-08"), 2)
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, "2030-01-09"), 0)
        assert.strictEqual(yield* store.attemptsOnDay(uniqueId("batch"), "2030-01-07"), 0)
      }))

    it.effect("finishAttempt records a final outcome on the attempt and the contact", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 3 })
        const lease = yield* takeLease(batch.id)
        const busy = yield* begin(lease, contacts[0]!, after(1))
        const result: CallResult = {
          outcome: "busy",
          sipCode: 486,
          duration: null,
          roomName: "room-busy",
          failureReason: "Busy Here"
        }
        const ended = yield* store.finishAttempt(lease, {
          attemptId: busy.attempt.id,
          result,
          endedAt: after(65),
          status: "busy",
          nextRetryAt: null,
          decision: null
        })
        assertSame(ended.contact, {
          ...busy.contact,
          status: "busy",
          completedAt: after(65),
          nextRetryAt: null,
          errorCode: 486,
          failureReason: "Busy Here",
          callDuration: null,
          roomName: "room-busy"
        })
        assertSame(ended.attempt, {
          ...busy.attempt,
          state: "finished",
          endedAt: after(65),
          outcome: "busy",
          sipCode: 486,
          duration: null,
          roomName: "room-busy",
          failureReason: "Busy Here"
        })
        assertSame(yield* store.getContact(batch.id, contacts[0]!.id), ended.contact)

        const answered = yield* begin(lease, contacts[1]!, after(2))
        const completed = yield* finish(lease, answered.attempt.id, "completed", after(120))
        assert.strictEqual(completed.contact.status, "completed")
        assert.strictEqual(completed.contact.callDuration, 42.5)
        assert.isNull(completed.contact.errorCode)
        assert.isNull(completed.contact.failureReason)
        assertTime(completed.contact.completedAt, after(120))
        assert.strictEqual(completed.attempt.duration, 42.5)
        assert.deepStrictEqual(yield* store.openAttempts(batch.id), [])
        const breakdown = yield* store.statusBreakdown(batch.id)
        assert.deepStrictEqual([breakdown.busy, breakdown.completed, breakdown.pending, breakdown.dialing], [1, 1, 1, 0])
        yield* checkCounters(batch.id)
      }))

    it.effect("finishAttempt queues a retry, which is dialed as the next attempt once due", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 2 })
        const lease = yield* takeLease(batch.id)
        const first = yield* begin(lease, contacts[0]!, after(1))
        const deferral = deferDecision(after(60), after(1800))
        const queued = yield* finish(lease, first.attempt.id, "no_answer", after(60), {
          nextRetryAt: after(1800),
          decision: deferral
        })
        assert.strictEqual(queued.contact.status, "queued")
        assertTime(queued.contact.nextRetryAt, after(1800))
        assert.isNull(queued.contact.completedAt)
        assert.strictEqual(queued.contact.attemptCount, 1)
        assert.strictEqual(queued.contact.errorCode, 480)
        assertSame(queued.contact.lastDecision, deferral)
        assert.strictEqual(queued.attempt.outcome, "no_answer")
        assertTime(yield* store.nextDueAt(batch.id), after(1800))
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(1799)), [contacts[1]!.id])
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(1800)), [contacts[0]!.id, contacts[1]!.id])

        const second = yield* begin(lease, queued.contact, after(1800))
        assert.strictEqual(second.attempt.id, Attempt.makeId(batch.id, contacts[0]!.id, 2))
        assert.strictEqual(second.contact.attemptCount, 2)
        assert.isNull(second.contact.nextRetryAt)
        const done = yield* finish(lease, second.attempt.id, "completed", after(1900))
        assert.strictEqual(done.contact.status, "completed")
        assert.strictEqual(done.contact.attemptCount, 2)
        assert.isUndefined(yield* store.nextDueAt(batch.id))

        // Queued without a time: due at once, among the contacts without one, in row order.
        const third = yield* begin(lease, contacts[1]!, after(2000))
        const asap = yield* store.finishAttempt(lease, {
          attemptId: third.attempt.id,
          result: callResult("carrier_error"),
          endedAt: after(2010),
          status: "queued",
          nextRetryAt: null,
          decision: null
        })
        assert.strictEqual(asap.contact.status, "queued")
        assert.isNull(asap.contact.nextRetryAt)
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(2011)), [contacts[1]!.id])
        assert.isUndefined(yield* store.nextDueAt(batch.id))
        yield* checkCounters(batch.id)
      }))

    it.effect("finishAttempt of an attempt already finished changes nothing", () =>
      Effect.gen(function*() {
        const { batch, contacts } = yield* seed({ count: 1 })
        const lease = yield* takeLease(batch.id)
        const begun = yield* begin(lease, contacts[0]!, after(1))
        const first = yield* finish(lease, begun.attempt.id, "completed", after(60))
        const again = yield* finish(lease, begun.attempt.id, "no_answer", after(120), { nextRetryAt: after(999) })
        assertSame(again, first)
        assertSame(yield* current(batch.id, contacts[0]!.id), first.contact)
        yield* checkCounters(batch.id)
      }))

    it.effect("abandonAttempt puts a contact back as it waited before its attempt", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 4 })
        const ids = idsOf(contacts)
        const lease = yield* takeLease(batch.id)

        // A first attempt: back to pending, found again in row order.
        const fresh = yield* begin(lease, contacts[0]!, after(1))
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(2)), ids.slice(1))
        const restored = yield* store.abandonAttempt(lease, fresh.attempt.id)
        assertSame(restored, contacts[0])
        assertSame(yield* current(batch.id, ids[0]!), contacts[0])
        assert.deepStrictEqual(yield* store.openAttempts(batch.id), [])
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, day), 0, "an abandoned attempt is not counted")
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(3)), ids)
        const redial = yield* begin(lease, restored, after(4))
        assert.strictEqual(redial.attempt.id, fresh.attempt.id, "the provider never saw the first")

        // A retry: back to queued, due when it was.
        const queued = yield* finish(lease, redial.attempt.id, "busy", after(10), { nextRetryAt: after(300) })
        const retry = yield* begin(lease, queued.contact, after(400))
        const requeued = yield* store.abandonAttempt(lease, retry.attempt.id)
        assertSame(requeued, queued.contact)
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(400)), ids)
        assertTime(yield* store.nextDueAt(batch.id), after(300))

        // A deferred contact keeps its status and its time.
        const deferred = yield* store.decide(lease, ids[1]!, deferDecision(after(20), after(200)))
        const tried = yield* begin(lease, deferred, after(250))
        const back = yield* store.abandonAttempt(lease, tried.attempt.id)
        assertSame(back, deferred)
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(250)), [ids[1]!, ids[2]!, ids[3]!])
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, day), 1)
        yield* checkCounters(batch.id)
      }))

    it.effect("decide defers a waiting contact, keeping its status", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 3 })
        const ids = idsOf(contacts)
        const lease = yield* takeLease(batch.id)
        const deferral = deferDecision(after(1), after(600))
        const deferred = yield* store.decide(lease, ids[0]!, deferral)
        assertSame(deferred, { ...contacts[0], nextRetryAt: after(600), lastDecision: deferral })
        assertSame(yield* current(batch.id, ids[0]!), deferred)
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(599)), ids.slice(1))
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(600)), ids)
        assertTime(yield* store.nextDueAt(batch.id), after(600))

        // Deferred again, later: the earlier time no longer holds.
        yield* store.decide(lease, ids[0]!, deferDecision(after(2), after(900)))
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(600)), ids.slice(1))
        assertTime(yield* store.nextDueAt(batch.id), after(900))

        const queued = yield* call(lease, contacts[1]!, "no_answer", after(3), after(1800))
        const later = yield* store.decide(lease, ids[1]!, deferDecision(after(1800), after(3600)))
        assert.strictEqual(later.status, "queued")
        assert.strictEqual(later.attemptCount, queued.contact.attemptCount)
        assertTime(later.nextRetryAt, after(3600))

        // A deferral without an end waits until it was made.
        const { until: _, ...open } = deferDecision(after(5), after(5))
        const now = yield* store.decide(lease, ids[2]!, open)
        assertTime(now.nextRetryAt, after(5))
        yield* checkCounters(batch.id)
      }))

    it.effect("decide skips a waiting contact for good, and refuses one that does not wait", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 3 })
        const ids = idsOf(contacts)
        const lease = yield* takeLease(batch.id)
        yield* store.decide(lease, ids[0]!, deferDecision(after(1), after(60)))
        const skipped = yield* store.decide(lease, ids[0]!, skipDecision(after(5)))
        assertSame(skipped, {
          ...contacts[0],
          status: "skipped",
          completedAt: after(5),
          nextRetryAt: null,
          lastDecision: skipDecision(after(5))
        })
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(100)), ids.slice(1))
        assert.isUndefined(yield* store.nextDueAt(batch.id))
        const again = yield* failure(store.decide(lease, ids[0]!, skipDecision(after(6))), "InvalidTransition")
        assert.strictEqual(again.from, "skipped")
        yield* failure(store.decide(lease, ids[0]!, deferDecision(after(6), after(60))), "InvalidTransition")

        yield* begin(lease, contacts[1]!, after(7))
        const dialing = yield* failure(store.decide(lease, ids[1]!, deferDecision(after(8), after(60))), "InvalidTransition")
        assert.strictEqual(dialing.entity, "contact")
        assert.strictEqual(dialing.from, "dialing")
        yield* failure(store.decide(lease, ids[1]!, skipDecision(after(8))), "InvalidTransition")
        assert.strictEqual((yield* current(batch.id, ids[1]!)).status, "dialing")
        yield* checkCounters(batch.id)
      }))

    it.effect("cancelContacts cancels every waiting contact and leaves calls in flight to end", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 6 })
        const [inFlight, done, retry, deferred, ...fresh] = contacts as [Contact.Contact, ...Array<Contact.Contact>]
        const lease = yield* takeLease(batch.id)
        const flight = yield* begin(lease, inFlight, after(1))
        const completed = yield* call(lease, done!, "completed", after(2))
        yield* call(lease, retry!, "no_answer", after(3), after(600))
        yield* store.decide(lease, deferred!.id, deferDecision(after(4), after(900)))

        assert.strictEqual(yield* store.cancelContacts(batch.id, after(100)), 4)
        for (const id of [retry!.id, deferred!.id, ...idsOf(fresh)]) {
          const cancelled = yield* current(batch.id, id)
          assert.strictEqual(cancelled.status, "cancelled")
          assertTime(cancelled.completedAt, after(100))
          assert.isNull(cancelled.nextRetryAt)
        }
        assertSame(yield* current(batch.id, inFlight.id), flight.contact)
        assertSame(yield* current(batch.id, done!.id), completed.contact)
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(5000)), [])
        assert.isUndefined(yield* store.nextDueAt(batch.id))
        assert.strictEqual(yield* store.cancelContacts(batch.id, after(101)), 0)
        yield* checkCounters(batch.id)

        // The call in flight ends and is recorded; what then waits is cancelled in turn.
        const ended = yield* finish(lease, flight.attempt.id, "busy", after(120), { nextRetryAt: after(420) })
        assert.strictEqual(ended.contact.status, "queued")
        assert.strictEqual(yield* store.cancelContacts(batch.id, after(121)), 1)
        assert.strictEqual((yield* current(batch.id, inFlight.id)).status, "cancelled")
        assert.strictEqual((yield* store.statusBreakdown(batch.id)).cancelled, 5)
        assert.strictEqual(yield* store.cancelContacts(uniqueId("batch"), after(121)), 0)
        yield* checkCounters(batch.id)
      }))

    it.effect("requeueContacts queues contacts that ended in the given statuses, with more attempts", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({
          count: 6,
          batch: { retryPolicy: { ...makeBatch().retryPolicy, maxAttempts: 1 } }
        })
        const [noAnswer, busy, completed, invalid, dialing, pending] = contacts as [
          Contact.Contact,
          ...Array<Contact.Contact>
        ]
        const lease = yield* takeLease(batch.id)
        yield* call(lease, noAnswer, "no_answer", after(1))
        yield* call(lease, busy!, "busy", after(2))
        const answered = yield* call(lease, completed!, "completed", after(3))
        const rejected = yield* call(lease, invalid!, "invalid_number", after(4))
        const flight = yield* begin(lease, dialing!, after(5))

        const count = yield* store.requeueContacts(
          batch.id,
          ["no_answer", "busy", "timeout", "carrier_error", "failed", "dialing", "pending"],
          2,
          after(1000)
        )
        assert.strictEqual(count, 2)
        for (const contact of [noAnswer, busy!]) {
          const requeued = yield* current(batch.id, contact.id)
          assert.strictEqual(requeued.status, "queued")
          assertTime(requeued.nextRetryAt, after(1000))
          assert.isNull(requeued.completedAt)
          assert.strictEqual(requeued.attemptCount, 1)
          assert.strictEqual(requeued.maxAttempts, 3, "two more attempts")
        }
        assertSame(yield* current(batch.id, completed!.id), answered.contact)
        assertSame(yield* current(batch.id, invalid!.id), rejected.contact)
        assertSame(yield* current(batch.id, dialing!.id), flight.contact)
        assertSame(yield* current(batch.id, pending!.id), pending)
        assertTime(yield* store.nextDueAt(batch.id), after(1000))
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(999)), [pending!.id])
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(1000)), [noAnswer.id, busy!.id, pending!.id])
        const second = yield* begin(lease, yield* current(batch.id, noAnswer.id), after(1000))
        assert.strictEqual(second.attempt.attemptNumber, 2)
        assert.strictEqual(yield* store.requeueContacts(batch.id, ["no_answer"], 1, after(2000)), 0)
        assert.strictEqual(yield* store.requeueContacts(uniqueId("batch"), ["busy"], 1, after(2000)), 0)
        yield* checkCounters(batch.id)
      }))
  })
}
