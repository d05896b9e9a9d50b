/** Leases: one holder at a time, renewed, released, taken over with a new epoch. */
import { assert, describe } from "@effect/vitest"
import { BatchStore } from "@outdial/core/BatchStore"
import * as Effect from "effect/Effect"
import { after, allContacts, assertSame, assertTime, baseTime, begin, call, checkCounters, day, deferDecision, failure, finish, seed, skipDecision, type Suite, takeLease, ttl, uniqueId } from "./helpers.ts"

export const leases = (it: Suite): void => {
  describe("leases", () => {
    it.effect("a free lease is taken; another owner waits for its expiry and gets a larger epoch", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed()
        const first = yield* store.acquireLease(batch.id, "owner-a", baseTime, ttl)
        assert.isDefined(first)
        assert.strictEqual(first!.batchId, batch.id)
        assert.strictEqual(first!.ownerId, "owner-a")
        assertTime(first!.expiresAt, after(30))
        assert.isUndefined(yield* store.acquireLease(batch.id, "owner-b", after(29), ttl), "held until it expires")
        const second = yield* store.acquireLease(batch.id, "owner-b", after(30), ttl)
        assert.isDefined(second, "expired at expiresAt")
        assert.strictEqual(second!.ownerId, "owner-b")
        assert.isAbove(second!.epoch, first!.epoch)
        assertTime(second!.expiresAt, after(60))
        assert.isUndefined(yield* store.acquireLease(batch.id, "owner-a", after(31), ttl))

        // The first owner lost it: it can neither renew, nor free, nor write.
        assert.isUndefined(yield* store.renewLease(first!, after(31), ttl))
        yield* store.releaseLease(first!)
        assert.isUndefined(yield* store.acquireLease(batch.id, "owner-c", after(40), ttl), "still the second's")
        const lost = yield* failure(begin(first!, contacts[0]!, after(41)), "LeaseLost")
        assert.strictEqual(lost.batchId, batch.id)
        assert.strictEqual(lost.epoch, first!.epoch)
        yield* begin(second!, contacts[0]!, after(41))
        assert.isUndefined(yield* store.acquireLease(uniqueId("batch"), "owner-a", baseTime, ttl))
      }))

    it.effect("activeBatches for a contender keeps every batch it could take", () =>
      Effect.gen(function*() {
        const { batch, store } = yield* seed()
        const listed = (ownerId: string, seconds: number) =>
          store.activeBatches({ ownerId, now: after(seconds) }).pipe(Effect.map((all) => all.some((b) => b.id === batch.id)))
        assert.isTrue(yield* listed("owner-b", 0), "a free lease")
        yield* takeLease(batch.id, baseTime, "owner-a")
        assert.isTrue(yield* listed("owner-a", 1), "its own lease")
        assert.isTrue(yield* listed("owner-b", 30), "an expired lease")
        // Leaving out another owner's live lease is allowed, not required: nothing to assert for owner-b at 29 s.
        assert.isTrue((yield* store.activeBatches()).some((b) => b.id === batch.id), "without a contender, every batch")
      }))

    it.effect("renewLeases, where a store has it, renews the leases still held and leaves out lost ones", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        if (store.renewLeases === undefined) return
        const kept = yield* seed()
        const lost = yield* seed()
        const a = yield* takeLease(kept.batch.id, baseTime, "owner-a")
        const b = yield* takeLease(lost.batch.id, baseTime, "owner-a")
        const taken = yield* store.acquireLease(lost.batch.id, "owner-b", after(30), ttl)
        assert.isDefined(taken)
        // Past its expiry but not taken over: still the holder's, as with renewLease.
        const renewed = yield* store.renewLeases([a, b], after(40), ttl)
        assert.deepStrictEqual(renewed.map((lease) => [lease.batchId, lease.epoch]), [[a.batchId, a.epoch]])
        assertTime(renewed[0]!.expiresAt, after(70))
        assert.isUndefined(yield* store.acquireLease(kept.batch.id, "owner-b", after(69), ttl), "renewed to 70s")
        yield* begin(renewed[0]!, kept.contacts[0]!, after(41))
        yield* failure(begin(b, lost.contacts[0]!, after(41)), "LeaseLost")
        assert.deepStrictEqual(yield* store.renewLeases([], after(42), ttl), [])
      }))

    it.effect("the holder may take its own lease again, which fences its older lease", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed()
        const first = yield* takeLease(batch.id, baseTime, "owner-a")
        const again = yield* store.acquireLease(batch.id, "owner-a", after(1), ttl)
        assert.isDefined(again)
        assert.isAbove(again!.epoch, first.epoch)
        yield* failure(store.decide(first, contacts[0]!.id, skipDecision(after(2))), "LeaseLost")
        yield* store.decide(again!, contacts[0]!.id, skipDecision(after(2)))
      }))

    it.effect("renewLease extends a lease nobody took over, keeping its epoch", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed()
        const lease = yield* takeLease(batch.id, baseTime, "owner-a")
        const renewed = yield* store.renewLease(lease, after(20), ttl)
        assert.isDefined(renewed)
        assert.strictEqual(renewed!.epoch, lease.epoch)
        assert.strictEqual(renewed!.ownerId, "owner-a")
        assertTime(renewed!.expiresAt, after(50))
        assert.isUndefined(yield* store.acquireLease(batch.id, "owner-b", after(40), ttl), "renewed past 40s")
        // Past its expiry, but nobody took it: still the holder's.
        const late = yield* store.renewLease(renewed!, after(100), ttl)
        assertTime(late?.expiresAt, after(130))
        yield* begin(late!, contacts[0]!, after(101))
        const taken = yield* store.acquireLease(batch.id, "owner-b", after(130), ttl)
        assert.isDefined(taken)
        assert.isUndefined(yield* store.renewLease(late!, after(131), ttl))
      }))

    it.effect("releaseLease frees the lease for anyone, and the released lease writes no more", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed()
        const first = yield* takeLease(batch.id, baseTime, "owner-a")
        yield* store.releaseLease(first)
        const second = yield* store.acquireLease(batch.id, "owner-b", after(1), ttl)
        assert.isDefined(second)
        assert.isAbove(second!.epoch, first.epoch)
        yield* failure(begin(first, contacts[0]!, after(2)), "LeaseLost")
        yield* store.releaseLease(second!)
        const third = yield* store.acquireLease(batch.id, "owner-a", after(3), ttl)
        assert.isAbove(third!.epoch, second!.epoch, "epochs grow through releases")
        assert.isUndefined(yield* store.renewLease(second!, after(4), ttl))
      }))

    it.effect("every write under a lost lease fails with LeaseLost and changes nothing", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 4 })
        const lost = yield* takeLease(batch.id, baseTime, "owner-a")
        const { attempt } = yield* begin(lost, contacts[0]!, after(1))
        const second = yield* call(lost, contacts[1]!, "completed", after(2))
        const holder = yield* store.acquireLease(batch.id, "owner-b", after(31), ttl)
        assert.isDefined(holder)
        const before = yield* allContacts(batch.id)

        yield* failure(begin(lost, contacts[2]!, after(32)), "LeaseLost")
        yield* failure(finish(lost, attempt.id, "completed", after(32)), "LeaseLost")
        yield* failure(finish(lost, second.attempt.id, "completed", after(32)), "LeaseLost")
        yield* failure(store.abandonAttempt(lost, attempt.id), "LeaseLost")
        yield* failure(store.decide(lost, contacts[3]!.id, deferDecision(after(32), after(600))), "LeaseLost")
        yield* failure(store.decide(lost, contacts[3]!.id, skipDecision(after(32))), "LeaseLost")
        assertSame(yield* allContacts(batch.id), before)
        assertSame(yield* store.openAttempts(batch.id), [attempt])
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, day), 2)

        // The new holder carries on where the old one stopped.
        const ended = yield* finish(holder!, attempt.id, "no_answer", after(40), { nextRetryAt: after(2000) })
        assert.strictEqual(ended.contact.status, "queued")
        yield* checkCounters(batch.id)
      }))
  })
}
