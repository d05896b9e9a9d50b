/** Batches: create, read, list, update under a status guard, delete. */
import { assert, describe } from "@effect/vitest"
import * as BatchModel from "@outdial/core/Batch"
import type { Batch } from "@outdial/core/Batch"
import { BatchStore } from "@outdial/core/BatchStore"
import * as Contact from "@outdial/core/Contact"
import * as Effect from "effect/Effect"
import { after, assertSame, assertTime, begin, call, checkCounters, day, failure, idsOf, makeBatch, newContacts, seed, type Suite, takeLease, ttl, uniqueId } from "./helpers.ts"

export const batches = (it: Suite): void => {
  describe("batches", () => {
    it.effect("createBatch stores the batch and its contacts, in the order given", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const batch = makeBatch({ totalContacts: 99 })
        const rows = [9, 2, 5]
        const news = newContacts(3, { externalIds: true }).map((c, i) => ({ ...c, row: rows[i]! }))
        yield* store.createBatch(batch, [...news, { ...news[0]!, row: 12, phone: "+4915199999999" }])
        const stored = yield* store.getBatch(batch.organizationId, batch.id)
        assertSame(stored, { ...batch, totalContacts: 3 }, "a repeated externalId is stored once")
        assertSame(yield* store.findBatch(batch.id), stored)

        const page = yield* store.listContacts(batch.id, { page: 1, pageSize: 10 })
        assert.strictEqual(page.total, 3)
        assert.deepStrictEqual(page.items.map((c) => c.row), rows)
        assert.strictEqual(new Set(idsOf(page.items)).size, 3, "contacts get distinct ids")
        page.items.forEach((contact, i) => {
          const source = news[i]!
          assertSame(
            contact,
            Contact.fresh({ id: contact.id, batchId: batch.id, maxAttempts: batch.retryPolicy.maxAttempts }, source)
          )
        })
        assertSame(yield* store.getContact(batch.id, page.items[1]!.id), page.items[1])
        assert.isUndefined(yield* store.getContact(batch.id, "no-such-contact"))
        // Ids shaped almost like a store's own name no contact: a suffix, a NUL, too many digits.
        const id = page.items[1]!.id
        for (const near of [`${id}x`, `${id}\u0000`, `${id}${"9".repeat(12)}`, "c0", "c", ""]) {
          assert.isUndefined(yield* store.getContact(batch.id, near), JSON.stringify(near))
        }
        assert.isUndefined(yield* store.getContact(uniqueId("batch"), page.items[1]!.id))
        yield* checkCounters(batch.id)
      }))

    it.effect("createBatch stores a batch without contacts", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const batch = makeBatch({ description: null, scheduledStartTime: null, maxCallsPerDay: null })
        yield* store.createBatch(batch, [])
        assertSame(yield* store.getBatch(batch.organizationId, batch.id), batch)
        assert.deepStrictEqual(yield* store.listContacts(batch.id, { page: 1, pageSize: 50 }), { items: [], total: 0 })
        yield* checkCounters(batch.id)
      }))

    it.effect("getBatch is scoped to an organization; findBatch is not", () =>
      Effect.gen(function*() {
        const { batch, store } = yield* seed()
        const other = yield* failure(store.getBatch(uniqueId("org"), batch.id), "BatchNotFound")
        assert.strictEqual(other.batchId, batch.id)
        yield* failure(store.getBatch(batch.organizationId, uniqueId("batch")), "BatchNotFound")
        assert.strictEqual((yield* store.findBatch(batch.id))?.id, batch.id)
        assert.isUndefined(yield* store.findBatch(uniqueId("batch")))
      }))

    it.effect("listBatches filters an organization's batches, newest first, a page at a time", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const organizationId = uniqueId("org")
        const prefix = uniqueId("batch")
        const make = (n: number, seconds: number, agentId: string, status: Batch["status"]) =>
          makeBatch({ id: `${prefix}_${n}`, organizationId, createdAt: after(seconds), agentId, status })
        // 3 and 4 were created at the same instant: the larger id comes first.
        const batches = [
          make(1, 0, "agent_a", "draft"),
          make(2, 60, "agent_b", "running"),
          make(4, 120, "agent_a", "completed"),
          make(3, 120, "agent_a", "running"),
          makeBatch({ agentId: "agent_a" })
        ]
        for (const batch of batches) yield* store.createBatch(batch, newContacts(1))
        const list = (options: { agentId?: string; status?: Batch["status"]; limit?: number; offset?: number }) =>
          store.listBatches(organizationId, { limit: 100, offset: 0, ...options }).pipe(
            Effect.map((page) => ({ ids: page.items.map((b) => b.id.slice(prefix.length + 1)), total: page.total }))
          )
        assert.deepStrictEqual(yield* list({}), { ids: ["4", "3", "2", "1"], total: 4 })
        assert.deepStrictEqual(yield* list({ limit: 2 }), { ids: ["4", "3"], total: 4 })
        assert.deepStrictEqual(yield* list({ limit: 2, offset: 2 }), { ids: ["2", "1"], total: 4 })
        assert.deepStrictEqual(yield* list({ limit: 2, offset: 3 }), { ids: ["1"], total: 4 })
        assert.deepStrictEqual(yield* list({ offset: 4 }), { ids: [], total: 4 })
        assert.deepStrictEqual(yield* list({ agentId: "agent_a" }), { ids: ["4", "3", "1"], total: 3 })
        assert.deepStrictEqual(yield* list({ status: "running" }), { ids: ["3", "2"], total: 2 })
        assert.deepStrictEqual(yield* list({ agentId: "agent_a", status: "running" }), { ids: ["3"], total: 1 })
        assert.deepStrictEqual(yield* list({ agentId: "agent_none" }), { ids: [], total: 0 })
        const page = yield* store.listBatches(organizationId, { limit: 1, offset: 0 })
        assertSame(page.items[0], { ...batches[2], totalContacts: 1 })
        assert.deepStrictEqual(yield* store.listBatches(uniqueId("org"), { limit: 10, offset: 0 }), { items: [], total: 0 })
      }))

    it.effect("updateBatch applies a patch only in an expected status", () =>
      Effect.gen(function*() {
        const { batch, store } = yield* seed({ batch: { status: "draft" } })
        const updated = yield* store.updateBatch(batch.id, ["draft"], "update", {
          name: "Renamed",
          concurrentCallLimit: 9,
          retryPolicy: { ...batch.retryPolicy, maxAttempts: 5 },
          updatedAt: after(5),
          totalContacts: 1000
        })
        const expected = {
          ...batch,
          name: "Renamed",
          concurrentCallLimit: 9,
          retryPolicy: { ...batch.retryPolicy, maxAttempts: 5 },
          updatedAt: after(5),
          totalContacts: 3
        }
        assertSame(updated, expected, "the store keeps its own count of contacts")
        assertSame(yield* store.getBatch(batch.organizationId, batch.id), expected)

        const refused = yield* failure(
          store.updateBatch(batch.id, ["pending", "scheduled"], "start", { status: "running" }),
          "InvalidTransition"
        )
        assert.strictEqual(refused.entity, "batch")
        assert.strictEqual(refused.action, "start")
        assert.strictEqual(refused.from, "draft")
        assertSame(yield* store.getBatch(batch.organizationId, batch.id), expected)

        const scheduled = yield* store.updateBatch(batch.id, ["draft"], "schedule", {
          status: "pending",
          scheduledStartTime: null
        })
        assert.strictEqual(scheduled.status, "pending")
        assert.isNull(scheduled.scheduledStartTime)
        const started = yield* store.updateBatch(batch.id, ["pending", "scheduled"], "start", {
          status: "running",
          actualStartTime: after(10)
        })
        assertTime(started.actualStartTime, after(10))
        yield* failure(store.updateBatch(uniqueId("batch"), ["draft"], "update", { name: "x" }), "BatchNotFound")
      }))

    it.effect("deleteBatch removes a batch in an expected status with its contacts and attempts", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 4, batch: { status: "paused" } })
        const lease = yield* takeLease(batch.id)
        yield* call(lease, contacts[0]!, "completed", after(1))
        yield* begin(lease, contacts[1]!, after(2))

        const refused = yield* failure(store.deleteBatch(batch.id, ["draft", "completed"]), "InvalidTransition")
        assert.strictEqual(refused.action, "delete")
        assert.strictEqual(refused.from, "paused")
        assert.isDefined(yield* store.findBatch(batch.id))

        yield* store.deleteBatch(batch.id, ["paused", "completed"])
        assert.isUndefined(yield* store.findBatch(batch.id))
        yield* failure(store.getBatch(batch.organizationId, batch.id), "BatchNotFound")
        assert.deepStrictEqual(yield* store.listContacts(batch.id, { page: 1, pageSize: 10 }), { items: [], total: 0 })
        assert.isUndefined(yield* store.getContact(batch.id, contacts[2]!.id))
        const zeros = yield* store.statusBreakdown(batch.id)
        assert.isTrue(Contact.statuses.every((status) => zeros[status] === 0))
        assert.deepStrictEqual(yield* store.openAttempts(batch.id), [])
        assert.strictEqual(yield* store.attemptsOnDay(batch.id, day), 0)
        assert.deepStrictEqual(yield* store.dialable(batch.id, after(10), 10, new Set()), [])
        yield* failure(begin(lease, contacts[2]!, after(3)), "LeaseLost")
        assert.isUndefined(yield* store.acquireLease(batch.id, "owner", after(10), ttl))
        yield* failure(store.deleteBatch(batch.id, ["paused"]), "BatchNotFound")
        assert.isFalse((yield* store.listBatches(batch.organizationId, { limit: 10, offset: 0 })).total > 0)
      }))

    it.effect("activeBatches lists pending, scheduled and running batches", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const organizationId = uniqueId("org")
        const statuses = BatchModel.statuses
        const byStatus = new Map(statuses.map((status) => [status, makeBatch({ organizationId, status })]))
        for (const batch of byStatus.values()) yield* store.createBatch(batch, newContacts(1))
        const ours = new Set([...byStatus.values()].map((b) => b.id))
        const active = () =>
          store.activeBatches().pipe(Effect.map((all) => all.filter((b) => ours.has(b.id)).map((b) => b.status).sort()))
        assert.deepStrictEqual(yield* active(), ["pending", "running", "scheduled"])
        yield* store.updateBatch(byStatus.get("running")!.id, ["running"], "complete", { status: "completed" })
        yield* store.updateBatch(byStatus.get("paused")!.id, ["paused"], "resume", { status: "running" })
        assert.deepStrictEqual(yield* active(), ["pending", "running", "scheduled"])
        yield* store.updateBatch(byStatus.get("pending")!.id, ["pending"], "pause", { status: "paused" })
        assert.deepStrictEqual(yield* active(), ["running", "scheduled"])
      }))
  })
}
