/**
 * Recipients of a live batch: contacts added to and removed from a batch
 * that is waiting, running or paused, while its dispatcher works, and what
 * a contact keeps of its import (an unvalidated number, typed custom fields).
 */
import { assert, describe } from "@effect/vitest"
import type { BatchStatus } from "@outdial/core/Batch"
import type { NewContact } from "@outdial/core/BatchStore"
import * as Contact from "@outdial/core/Contact"
import * as Effect from "effect/Effect"
import {
  after,
  allContacts,
  begin,
  call,
  checkCounters,
  deferDecision,
  dialableIds,
  failure,
  idsOf,
  newContacts,
  seed,
  type Suite,
  takeLease
} from "./helpers.ts"

const live: ReadonlyArray<BatchStatus> = ["pending", "scheduled", "running", "paused"]

export const liveContacts = (it: Suite): void => {
  describe("contacts of a live batch", () => {
    it.effect("addContacts adds to a pending, scheduled, running or paused batch, the counters following", () =>
      Effect.gen(function*() {
        for (const status of live) {
          const { batch, store } = yield* seed({ count: 2, externalIds: true, batch: { status } })
          const added = yield* store.addContacts(batch.id, newContacts(3, { from: 10, externalIds: true }), after(5))
          assert.deepStrictEqual(added, { added: 3, skipped: 0, storedNumbers: [] }, status)
          const stored = yield* store.getBatch(batch.organizationId, batch.id)
          assert.strictEqual(stored.status, status)
          assert.strictEqual(stored.totalContacts, 5)
          assert.strictEqual((yield* store.statusBreakdown(batch.id)).pending, 5)
          yield* checkCounters(batch.id)
        }
      }))

    it.effect("addContacts reports the numbers the batch holds, and skips them when asked", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 3, batch: { status: "running" } })
        const repeat = newContacts(2, { from: 1 })
        const fresh = newContacts(1, { from: 20 })
        const reported = yield* store.addContacts(batch.id, [...repeat, ...fresh], after(1))
        assert.deepStrictEqual(reported, { added: 3, skipped: 0, storedNumbers: [contacts[1]!.phone, contacts[2]!.phone] })
        const skipping = yield* store.addContacts(batch.id, [...repeat, ...newContacts(1, { from: 30 })], after(2), {
          skipStoredNumbers: true
        })
        assert.deepStrictEqual(skipping, { added: 1, skipped: 2, storedNumbers: [contacts[1]!.phone, contacts[2]!.phone] })
        assert.strictEqual((yield* store.getBatch(batch.organizationId, batch.id)).totalContacts, 7)
        yield* checkCounters(batch.id)
      }))

    it.effect("contacts added to a running batch are dialable after those it held, while its lease is held", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 2, batch: { status: "running" } })
        const lease = yield* takeLease(batch.id)
        yield* call(lease, contacts[0]!, "completed", after(1))
        yield* begin(lease, contacts[1]!, after(2))
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(3)), [])
        yield* store.addContacts(batch.id, newContacts(2, { from: 40 }), after(3))
        const all = yield* allContacts(batch.id)
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(4)), idsOf(all.slice(2)))
        // The lease holder dials them with the lease it took before they came.
        yield* begin(lease, all[2]!, after(5))
        assert.strictEqual((yield* store.statusBreakdown(batch.id)).dialing, 2)
        yield* checkCounters(batch.id)
      }))

    it.effect("removeContact removes a waiting contact of a running batch, and refuses one dialing or dialed", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 4, externalIds: true, batch: { status: "running" } })
        const lease = yield* takeLease(batch.id)
        yield* call(lease, contacts[0]!, "completed", after(1))
        yield* begin(lease, contacts[1]!, after(2))
        // A queued contact (a retry is due later) has not been dialed again yet: it may go.
        yield* call(lease, contacts[2]!, "busy", after(3), after(600))

        const dialing = yield* failure(store.removeContact(batch.id, contacts[1]!.id, after(4)), "InvalidTransition")
        assert.deepStrictEqual([dialing.entity, dialing.action, dialing.from], ["contact", "remove", "dialing"])
        assert.match(dialing.message, /in flight/)
        const dialed = yield* failure(store.removeContact(batch.id, contacts[0]!.id, after(4)), "InvalidTransition")
        assert.deepStrictEqual([dialed.entity, dialed.from], ["contact", "completed"])
        assert.match(dialed.message, /dialed already/)

        yield* store.removeContact(batch.id, contacts[2]!.id, after(5))
        yield* store.removeContact(batch.id, contacts[3]!.id, after(5))
        assert.deepStrictEqual(idsOf(yield* allContacts(batch.id)), idsOf(contacts.slice(0, 2)))
        assert.strictEqual((yield* store.getBatch(batch.organizationId, batch.id)).totalContacts, 2)
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(700)), [])
        assert.isUndefined(yield* store.nextDueAt(batch.id))
        yield* failure(store.removeContact(batch.id, contacts[3]!.id, after(6)), "ContactNotFound")
        yield* failure(store.removeContact(batch.id, "c999999", after(6)), "ContactNotFound")
        yield* failure(store.removeContact(batch.id, "not-an-id", after(6)), "ContactNotFound")
        yield* checkCounters(batch.id)
      }))

    it.effect("removeContact and addContacts refuse a final batch", () =>
      Effect.gen(function*() {
        for (const status of ["completed", "cancelled", "failed"] as const) {
          const { batch, contacts, store } = yield* seed({ count: 2, batch: { status } })
          const refused = yield* failure(store.removeContact(batch.id, contacts[0]!.id, after(1)), "InvalidTransition")
          assert.deepStrictEqual([refused.entity, refused.from], ["batch", status])
          yield* failure(store.addContacts(batch.id, newContacts(1, { from: 9 }), after(1)), "InvalidTransition")
          assert.strictEqual((yield* allContacts(batch.id)).length, 2)
        }
      }))

    it.effect("a contact removed after the dispatcher read it answers Contact.removed to its writes", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 3, batch: { status: "running" } })
        const lease = yield* takeLease(batch.id)
        yield* store.removeContact(batch.id, contacts[0]!.id, after(1))
        yield* store.removeContact(batch.id, contacts[1]!.id, after(1))
        const begun = yield* failure(begin(lease, contacts[0]!, after(2)), "InvalidTransition")
        assert.isTrue(Contact.isRemoved(begun))
        const decided = yield* failure(store.decide(lease, contacts[1]!.id, deferDecision(after(2), after(60))), "InvalidTransition")
        assert.isTrue(Contact.isRemoved(decided))
        yield* begin(lease, contacts[2]!, after(3))
        yield* checkCounters(batch.id)
      }))

    it.effect("a removal racing the dispatcher's dial of the same contact: exactly one of them wins", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 12, batch: { status: "running" } })
        const lease = yield* takeLease(batch.id)
        const outcomes = yield* Effect.forEach(contacts, (contact) =>
          Effect.all([
            Effect.result(begin(lease, contact, after(1))),
            Effect.result(store.removeContact(batch.id, contact.id, after(1)))
          ], { concurrency: 2 }), { concurrency: "unbounded" })
        for (const [i, [dialed, removed]] of outcomes.entries()) {
          assert.notStrictEqual(dialed._tag, removed._tag, `contact ${i}: one wins, the other is refused`)
          if (dialed._tag === "Failure") assert.isTrue(dialed.failure._tag === "InvalidTransition" && Contact.isRemoved(dialed.failure))
          if (removed._tag === "Failure") assert.strictEqual(removed.failure._tag, "InvalidTransition")
        }
        const dialing = outcomes.filter(([dialed]) => dialed._tag === "Success").length
        assert.strictEqual((yield* store.statusBreakdown(batch.id)).dialing, dialing)
        yield* checkCounters(batch.id)
      }))

    it.effect("updateBatch with unlessContactsLeft refuses while a contact waits or is dialed, and applies once none does", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 1, batch: { status: "running" } })
        const complete = () =>
          store.updateBatch(batch.id, ["running"], "complete", { status: "completed" }, { unlessContactsLeft: true })
        const lease = yield* takeLease(batch.id)
        const waiting = yield* failure(complete(), "InvalidTransition")
        assert.deepStrictEqual([waiting.entity, waiting.from], ["batch", "running"])
        assert.match(waiting.message, /contacts are left/)
        const { attempt } = yield* begin(lease, contacts[0]!, after(1))
        yield* failure(complete(), "InvalidTransition")
        yield* store.finishAttempt(lease, {
          attemptId: attempt.id,
          result: { outcome: "completed", sipCode: null, duration: 12, roomName: null, failureReason: null },
          endedAt: after(2),
          status: "completed",
          nextRetryAt: null,
          decision: null
        })
        assert.strictEqual((yield* complete()).status, "completed")
      }))

    it.effect("a contact keeps whether its number was validated, and its custom fields' JSON types", () =>
      Effect.gen(function*() {
        const { batch, store } = yield* seed({ count: 0, batch: { status: "draft" } })
        const typed: NewContact = {
          row: 1,
          phone: "1234567890",
          numberValidated: false,
          name: null,
          externalId: null,
          customFields: { seats: 3, ratio: 0.25, vip: true, churned: false, note: null, plan: "Pro", zip: "02134" }
        }
        yield* store.addContacts(batch.id, [typed, { ...newContacts(1)[0]!, row: 2 }], after(1))
        const [unvalidated, validated] = yield* allContacts(batch.id)
        assert.strictEqual(unvalidated!.phone, "1234567890")
        assert.isFalse(unvalidated!.numberValidated)
        assert.deepStrictEqual(unvalidated!.customFields, typed.customFields)
        assert.isTrue(validated!.numberValidated)
      }))
  })
}
