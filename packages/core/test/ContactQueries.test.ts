import { assert, describe, it } from "@effect/vitest"
import type { BatchStore } from "@outdial/core/BatchStore"
import * as ContactQueries from "@outdial/core/ContactQueries"
import * as Directory from "@outdial/core/Directory"
import * as MemoryBatchStore from "@outdial/core/MemoryBatchStore"
import { after, makeBatch, newContacts } from "@outdial/testing/StoreFixtures"
import * as Effect from "effect/Effect"

const organizationId = "org_history"

const directory = Effect.runSync(Effect.service(Directory.Directory).pipe(Effect.provide(Directory.layerStatic({
  agents: [],
  callerNumbers: [{ id: "num_a", organizationId, number: "+12025550100", outboundEnabled: true, agentId: null }]
}))))

/** A contact called twice, from two numbers, deferred in between. */
const calledTwice = (store: BatchStore["Service"]) =>
  Effect.gen(function*() {
    const batch = makeBatch({ organizationId, status: "running" })
    yield* store.createBatch(batch, newContacts(1))
    const contactId = "c1"
    const lease = (yield* store.acquireLease(batch.id, "owner", after(0), 60_000))!
    const dial = (n: number, callerNumberId: string, at: number) =>
      store.beginAttempt(lease, {
        contactId,
        attemptNumber: n,
        callerNumberId,
        startedAt: after(at),
        localDate: "2030-01-07",
        decision: { kind: "dial", policy: "eligibility", reason: "passed calling_window", at: after(at) }
      })
    const first = yield* dial(1, "num_a", 1)
    yield* store.finishAttempt(lease, {
      attemptId: first.attempt.id,
      result: { outcome: "no_answer", sipCode: 480, duration: null, roomName: "room-1", failureReason: null },
      endedAt: after(31),
      status: "queued",
      nextRetryAt: after(600),
      decision: null
    })
    const second = yield* dial(2, "num_gone", 600)
    yield* store.finishAttempt(lease, {
      attemptId: second.attempt.id,
      result: { outcome: "completed", sipCode: null, duration: 30, roomName: "room-2", failureReason: null },
      endedAt: after(660),
      status: "completed",
      nextRetryAt: null,
      decision: null
    })
    return { batchId: batch.id, contactId }
  })

describe("ContactQueries.getContact", () => {
  it.effect("every attempt with its caller number (null once the directory forgot it) and answer time", () =>
    Effect.gen(function*() {
      const store = MemoryBatchStore.make()
      const { batchId, contactId } = yield* calledTwice(store)
      const details = yield* ContactQueries.make({ store, directory }).getContact(organizationId, batchId, contactId)
      assert.isTrue(details.historyComplete)
      assert.deepStrictEqual(details.attempts.map((a) => [a.callerNumberId, a.callerNumber, a.outcome, a.providerCallId]), [
        ["num_a", "+12025550100", "no_answer", "room-1"],
        ["num_gone", null, "completed", "room-2"]
      ])
      assert.deepStrictEqual(details.attempts.map((a) => a.answeredAt), [null, "2030-01-07T08:10:30.000Z"])
      assert.deepStrictEqual(details.decisions.map((d) => [d.kind, d.at]), [
        ["dial", "2030-01-07T08:00:01.000Z"],
        ["dial", "2030-01-07T08:10:00.000Z"]
      ])
    }))

  it.effect("falls back on the last decision and open attempts for a store without history", () =>
    Effect.gen(function*() {
      const { contactHistory: _, ...store } = MemoryBatchStore.make()
      const { batchId, contactId } = yield* calledTwice(store)
      const details = yield* ContactQueries.make({ store, directory }).getContact(organizationId, batchId, contactId)
      assert.isFalse(details.historyComplete)
      assert.deepStrictEqual(details.attempts, [])
      assert.deepStrictEqual(details.decisions.map((d) => d.at), ["2030-01-07T08:10:00.000Z"])
    }))

  it.effect("refuses another organization's batch and an unknown contact", () =>
    Effect.gen(function*() {
      const store = MemoryBatchStore.make()
      const { batchId } = yield* calledTwice(store)
      const queries = ContactQueries.make({ store, directory })
      assert.strictEqual((yield* Effect.flip(queries.getContact("org_other", batchId, "c1")))._tag, "BatchNotFound")
      assert.strictEqual((yield* Effect.flip(queries.getContact(organizationId, batchId, "c9")))._tag, "ContactNotFound")
    }))
})
