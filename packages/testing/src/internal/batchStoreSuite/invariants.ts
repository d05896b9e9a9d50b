/** Invariants: counters and due times agree with a scan through random changes, and at scale. */
import { assert } from "@effect/vitest"
import { BatchStore } from "@outdial/core/BatchStore"
import type { CallOutcome } from "@outdial/core/CallOutcome"
import * as Contact from "@outdial/core/Contact"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { after, allContacts, assertTime, begin, callResult, checkCounters, deferDecision, dialableIds, finish, makeBatch, newContacts, seed, skipDecision, type Suite, takeLease, uniqueId } from "./helpers.ts"
import type { Options } from "./options.ts"

export const invariants = (it: Suite, options: Options): void => {
  it.effect("statusBreakdown equals a recount after every kind of change", () =>
    Effect.gen(function*() {
      const { batch, contacts, store } = yield* seed({ count: 10, externalIds: true, batch: { status: "draft" } })
      const zeros = yield* store.statusBreakdown(uniqueId("batch"))
      assert.isTrue(Contact.statuses.every((status) => zeros[status] === 0), "zeros for an unknown batch")
      const breakdown = yield* store.statusBreakdown(batch.id)
      assert.strictEqual(breakdown.pending, 10)
      yield* checkCounters(batch.id)
      yield* store.addContacts(batch.id, newContacts(4, { from: 8, externalIds: true }), after(1))
      yield* checkCounters(batch.id)
      yield* store.removeContact(batch.id, contacts[9]!.id, after(2))
      yield* checkCounters(batch.id)
      yield* store.updateBatch(batch.id, ["draft"], "schedule", { status: "running" })
      const lease = yield* takeLease(batch.id)
      const all = yield* allContacts(batch.id)
      assert.strictEqual(all.length, 11)
      const flights = []
      for (const contact of all.slice(0, 6)) flights.push(yield* begin(lease, contact, after(3)))
      yield* checkCounters(batch.id)
      const outcomes: ReadonlyArray<CallOutcome> = ["completed", "busy", "invalid_number", "timeout"]
      for (const [i, outcome] of outcomes.entries()) yield* finish(lease, flights[i]!.attempt.id, outcome, after(60))
      yield* finish(lease, flights[4]!.attempt.id, "no_answer", after(60), { nextRetryAt: after(600) })
      yield* checkCounters(batch.id)
      yield* store.abandonAttempt(lease, flights[5]!.attempt.id)
      yield* store.decide(lease, all[6]!.id, deferDecision(after(61), after(900)))
      yield* store.decide(lease, all[7]!.id, skipDecision(after(62)))
      yield* checkCounters(batch.id)
      yield* store.requeueContacts(batch.id, ["busy", "timeout"], 1, after(63))
      yield* checkCounters(batch.id)
      yield* begin(lease, all[8]!, after(64))
      yield* store.cancelContacts(batch.id, after(65))
      yield* checkCounters(batch.id)
      const final = yield* store.statusBreakdown(batch.id)
      assert.deepStrictEqual(
        [final.completed, final.invalid_number, final.skipped, final.dialing, final.cancelled, final.pending],
        [1, 1, 1, 1, 7, 0]
      )
    }))

  it.effect("dialable and nextDueAt agree with a scan of the contacts through random changes", () =>
    Effect.gen(function*() {
      const { batch, store } = yield* seed({ count: 40 })
      const lease = yield* takeLease(batch.id)
      // A fixed pseudo-random sequence, so a failure replays.
      let state = 20_300_107
      const random = (n: number) => {
        state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
        return Math.floor((state / 2_147_483_648) * n)
      }
      let now = 0
      const open = new Map<string, string>()
      for (let step = 0; step < 400; step++) {
        now += random(120)
        const contacts = yield* allContacts(batch.id)
        const contact = contacts[random(contacts.length)]!
        const roll = random(100)
        if (contact.status === "pending" || contact.status === "queued") {
          if (roll < 50) {
            const begun = yield* begin(lease, contact, after(now))
            open.set(contact.id, begun.attempt.id)
          } else if (roll < 95) {
            yield* store.decide(lease, contact.id, deferDecision(after(now), after(now + random(3600) - 600)))
          } else {
            yield* store.decide(lease, contact.id, skipDecision(after(now)))
          }
        } else if (contact.status === "dialing") {
          const attemptId = open.get(contact.id)!
          open.delete(contact.id)
          if (roll < 25) {
            yield* store.abandonAttempt(lease, attemptId)
          } else {
            const retryAt = roll < 35 ? null : roll < 75 ? after(now + random(3600) - 600) : undefined
            yield* store.finishAttempt(lease, {
              attemptId,
              result: callResult(retryAt === undefined ? "completed" : "no_answer"),
              endedAt: after(now),
              status: retryAt === undefined ? "completed" : "queued",
              nextRetryAt: retryAt ?? null,
              decision: null
            })
          }
        } else if (roll < 30) {
          yield* store.requeueContacts(batch.id, [contact.status], 1, after(now + random(1200) - 600))
        }

        if (step % 10 !== 9) continue
        const latest = yield* allContacts(batch.id)
        const waiting = latest
          .map((c, index) => ({ c, index }))
          .filter(({ c }) => c.status === "pending" || c.status === "queued")
        const dueOf = (c: Contact.Contact) =>
          c.nextRetryAt === null ? Number.POSITIVE_INFINITY : DateTime.toEpochMillis(c.nextRetryAt)
        const exclude = new Set(waiting.filter(() => random(5) === 0).map(({ c }) => c.id))
        const limit = 1 + random(30)
        const expected = waiting
          .filter(({ c }) => !exclude.has(c.id) && (c.nextRetryAt === null || dueOf(c) <= DateTime.toEpochMillis(after(now))))
          .sort((a, b) => dueOf(a.c) - dueOf(b.c) || a.index - b.index)
          .slice(0, limit)
          .map(({ c }) => c.id)
        assert.deepStrictEqual(yield* dialableIds(batch.id, after(now), limit, exclude), expected, `step ${step}`)
        const times = waiting.map(({ c }) => dueOf(c)).filter(Number.isFinite)
        assertTime(
          yield* store.nextDueAt(batch.id),
          times.length === 0 ? null : DateTime.makeUnsafe(Math.min(...times)),
          `step ${step}`
        )
        yield* checkCounters(batch.id)
      }
    }))

  it.effect("a batch of many contacts: counters, pages and dialing stay correct", () =>
    Effect.gen(function*() {
      const store = yield* BatchStore
      const size = options.scaleContacts ?? 20_000
      const batch = makeBatch({ status: "running" })
      yield* store.createBatch(batch, newContacts(size, { externalIds: true }))
      assert.strictEqual((yield* store.getBatch(batch.organizationId, batch.id)).totalContacts, size)
      assert.strictEqual((yield* store.statusBreakdown(batch.id)).pending, size)
      const indexes = (items: ReadonlyArray<Contact.Contact>) => items.map((c) => Number(c.customFields.index))
      const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i + 1)

      const last = Math.ceil(size / 100)
      const page = yield* store.listContacts(batch.id, { page: last, pageSize: 100 })
      assert.strictEqual(page.total, size)
      assert.deepStrictEqual(indexes(page.items), range((last - 1) * 100, size))
      const middle = yield* store.listContacts(batch.id, { page: 3, pageSize: 7 })
      assert.deepStrictEqual(indexes(middle.items), range(14, 21))
      assert.deepStrictEqual((yield* store.listContacts(batch.id, { page: last + 1, pageSize: 100 })).items, [])

      const lease = yield* takeLease(batch.id)
      const first = yield* store.dialable(batch.id, after(1), 5, new Set())
      assert.deepStrictEqual(indexes(first), range(0, 5))
      const flights = []
      for (const contact of first.slice(0, 3)) flights.push(yield* begin(lease, contact, after(1)))
      yield* finish(lease, flights[0]!.attempt.id, "completed", after(30))
      yield* finish(lease, flights[1]!.attempt.id, "no_answer", after(30), { nextRetryAt: after(600) })
      assert.deepStrictEqual(indexes(yield* store.dialable(batch.id, after(31), 2, new Set())), [4, 5])
      assert.deepStrictEqual(indexes(yield* store.dialable(batch.id, after(600), 2, new Set())), [2, 4])

      const breakdown = yield* store.statusBreakdown(batch.id)
      assert.deepStrictEqual(
        [breakdown.pending, breakdown.queued, breakdown.dialing, breakdown.completed],
        [size - 3, 1, 1, 1]
      )
      const pending = yield* store.listContacts(batch.id, { status: "pending", page: 2, pageSize: 500 })
      assert.strictEqual(pending.total, size - 3)
      assert.deepStrictEqual(indexes(pending.items), range(503, Math.min(size, 1003)))
      const dialing = yield* store.listContacts(batch.id, { status: "dialing", page: 1, pageSize: 10 })
      assert.deepStrictEqual(indexes(dialing.items), [3])

      assert.strictEqual(yield* store.cancelContacts(batch.id, after(700)), size - 2)
      const cancelled = yield* store.statusBreakdown(batch.id)
      assert.deepStrictEqual([cancelled.cancelled, cancelled.dialing, cancelled.completed], [size - 2, 1, 1])
    }), 120_000)
}
