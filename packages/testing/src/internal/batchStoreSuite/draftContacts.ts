/** Contacts of a draft: added, removed and listed before the batch runs. */
import { assert, describe } from "@effect/vitest"
import { BatchStore, type Page } from "@outdial/core/BatchStore"
import * as Contact from "@outdial/core/Contact"
import * as Effect from "effect/Effect"
import {
  after,
  allContacts,
  assertTime,
  begin,
  call,
  callResult,
  checkCounters,
  deferDecision,
  failure,
  finish,
  idsOf,
  newContacts,
  seed,
  type Suite,
  takeLease,
  uniqueId
} from "./helpers.ts"

export const draftContacts = (it: Suite): void => {
  describe("contacts of a draft", () => {
    it.effect("addContacts appends, skipping externalIds the batch holds or the call repeats", () =>
      Effect.gen(function*() {
        const { batch, store } = yield* seed({ count: 2, externalIds: true, batch: { status: "draft" } })
        yield* store.updateBatch(batch.id, ["draft"], "update", { retryPolicy: { ...batch.retryPolicy, maxAttempts: 5 } })
        // A second file: its rows count from 2 again.
        const more = newContacts(5, { from: 1, externalIds: true })
        const appended = [
          more[0]!,
          more[1]!,
          { ...more[1]!, phone: "+4915199999998" },
          { ...more[2]!, externalId: null },
          { ...more[3]!, externalId: null }
        ]
        assert.deepStrictEqual(yield* store.addContacts(batch.id, appended, after(10)), {
          added: 3,
          skipped: 2,
          storedNumbers: [more[0]!.phone]
        })
        const stored = yield* store.getBatch(batch.organizationId, batch.id)
        assert.strictEqual(stored.totalContacts, 5)
        assertTime(stored.updatedAt, after(10))
        const contacts = yield* allContacts(batch.id)
        assert.deepStrictEqual(contacts.map((c) => c.externalId), ["ext-1", "ext-2", "ext-3", null, null])
        assert.deepStrictEqual(contacts.map((c) => c.row), [2, 3, 3, 4, 5], "stored order, not row numbers")
        assert.deepStrictEqual(contacts.map((c) => c.maxAttempts), [3, 3, 5, 5, 5], "the policy as it is now")
        assert.isTrue(contacts.every((c) => c.status === "pending" && c.attemptCount === 0))
        assert.strictEqual(new Set(idsOf(contacts)).size, 5)

        // The same request again: only rows without an externalId are added twice.
        assert.deepStrictEqual(yield* store.addContacts(batch.id, appended, after(20)), {
          added: 2,
          skipped: 3,
          storedNumbers: [more[0]!.phone, more[1]!.phone, more[2]!.phone, more[3]!.phone]
        })
        assert.deepStrictEqual(yield* store.addContacts(batch.id, [], after(30)), { added: 0, skipped: 0, storedNumbers: [] })
        assert.strictEqual((yield* store.getBatch(batch.organizationId, batch.id)).totalContacts, 7)
        yield* checkCounters(batch.id)
      }))

    it.effect("addContacts refuses a batch that is final", () =>
      Effect.gen(function*() {
        for (const status of ["completed", "cancelled", "failed"] as const) {
          const { batch, store } = yield* seed({ batch: { status } })
          const refused = yield* failure(store.addContacts(batch.id, newContacts(2, { from: 10 }), after(1)), "InvalidTransition")
          assert.strictEqual(refused.entity, "batch")
          assert.strictEqual(refused.from, status)
          assert.strictEqual((yield* store.getBatch(batch.organizationId, batch.id)).totalContacts, 3)
          yield* checkCounters(batch.id)
        }
        yield* failure(BatchStore.use((store) => store.addContacts(uniqueId("batch"), newContacts(1), after(1))), "BatchNotFound")
      }))

    it.effect("removeContact removes one contact of a draft", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 5, externalIds: true, batch: { status: "draft" } })
        const removed = contacts[1]!
        yield* store.removeContact(batch.id, removed.id, after(5))
        assert.isUndefined(yield* store.getContact(batch.id, removed.id))
        const stored = yield* store.getBatch(batch.organizationId, batch.id)
        assert.strictEqual(stored.totalContacts, 4)
        assertTime(stored.updatedAt, after(5))
        const pages = [1, 2, 3].map((page) => store.listContacts(batch.id, { page, pageSize: 2 }))
        const [first, second, third] = [yield* pages[0]!, yield* pages[1]!, yield* pages[2]!]
        assert.deepStrictEqual(idsOf(first.items), [contacts[0]!.id, contacts[2]!.id])
        assert.deepStrictEqual(idsOf(second.items), [contacts[3]!.id, contacts[4]!.id])
        assert.deepStrictEqual([first.total, second.total, third.total, third.items.length], [4, 4, 4, 0])
        yield* checkCounters(batch.id)

        const missing = yield* failure(store.removeContact(batch.id, removed.id, after(6)), "ContactNotFound")
        assert.strictEqual(missing.contactId, removed.id)
        // Its externalId is free again.
        const readded = yield* store.addContacts(batch.id, [{ ...newContacts(2)[1]!, row: 2 }], after(7))
        assert.deepStrictEqual(readded, { added: 1, skipped: 0, storedNumbers: [] })
        yield* failure(store.removeContact(uniqueId("batch"), removed.id, after(6)), "BatchNotFound")

        yield* store.updateBatch(batch.id, ["draft"], "cancel", { status: "cancelled" })
        const refused = yield* failure(store.removeContact(batch.id, contacts[0]!.id, after(8)), "InvalidTransition")
        assert.strictEqual(refused.from, "cancelled")
        assert.isDefined(yield* store.getContact(batch.id, contacts[0]!.id))
        yield* checkCounters(batch.id)
      }))

    it.effect("listContacts pages through contacts in row order, of every status or one", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 7 })
        const ids = idsOf(contacts)
        const page = (n: number, pageSize: number, status?: Contact.ContactStatus) =>
          store.listContacts(batch.id, { page: n, pageSize, status }).pipe(
            Effect.map((result) => ({ ids: idsOf(result.items), total: result.total }))
          )
        assert.deepStrictEqual(yield* page(1, 3), { ids: ids.slice(0, 3), total: 7 })
        assert.deepStrictEqual(yield* page(2, 3), { ids: ids.slice(3, 6), total: 7 })
        assert.deepStrictEqual(yield* page(3, 3), { ids: ids.slice(6), total: 7 })
        assert.deepStrictEqual(yield* page(4, 3), { ids: [], total: 7 })
        assert.deepStrictEqual(yield* page(1, 500), { ids, total: 7 })

        const lease = yield* takeLease(batch.id)
        yield* begin(lease, contacts[1]!)
        yield* begin(lease, contacts[4]!)
        assert.deepStrictEqual(yield* page(1, 1, "dialing"), { ids: [ids[1]!], total: 2 })
        assert.deepStrictEqual(yield* page(2, 1, "dialing"), { ids: [ids[4]!], total: 2 })
        assert.deepStrictEqual(yield* page(3, 1, "dialing"), { ids: [], total: 2 })
        assert.deepStrictEqual(yield* page(2, 2, "pending"), { ids: [ids[3]!, ids[5]!], total: 5 })
        assert.deepStrictEqual(yield* page(1, 10, "completed"), { ids: [], total: 0 })
        assert.deepStrictEqual(yield* page(1, 3), { ids: ids.slice(0, 3), total: 7 }, "statuses do not reorder")
        assert.deepStrictEqual(
          yield* store.listContacts(uniqueId("batch"), { page: 1, pageSize: 10 }),
          { items: [], total: 0 }
        )
        yield* checkCounters(batch.id)
      }))

    it.effect("listContacts of a waiting status reads its contacts with and without a due time in row order", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 10 })
        const ids = idsOf(contacts)
        const lease = yield* takeLease(batch.id)
        // Pending with a due time between pending ones without; queued with a due time and without.
        for (const i of [2, 5, 9]) yield* store.decide(lease, ids[i]!, deferDecision(after(i), after(600 + i)))
        yield* call(lease, contacts[3]!, "no_answer", after(20), after(900))
        const { attempt } = yield* begin(lease, contacts[6]!, after(21))
        yield* finish(lease, attempt.id, "busy", after(22), { nextRetryAt: after(23) })
        const asap = yield* begin(lease, contacts[7]!, after(24))
        yield* store.finishAttempt(lease, {
          attemptId: asap.attempt.id,
          result: callResult("carrier_error"),
          endedAt: after(25),
          status: "queued",
          nextRetryAt: null,
          decision: null
        })
        const byPage = (status: Contact.ContactStatus, pageSize: number) =>
          Effect.gen(function*() {
            const read: Array<string> = []
            for (let page = 1; ; page++) {
              const result = yield* store.listContacts(batch.id, { status, page, pageSize })
              read.push(...idsOf(result.items))
              if (result.items.length < pageSize) return { read, total: result.total }
            }
          })
        const byCursor = (status: Contact.ContactStatus, pageSize: number) =>
          Effect.gen(function*() {
            const read: Array<string> = []
            for (let after: string | undefined = undefined;;) {
              const { items }: Page<Contact.Contact> = yield* store.listContacts(batch.id, { status, page: 1, pageSize, after })
              read.push(...idsOf(items))
              if (items.length < pageSize) return read
              after = items.at(-1)!.id
            }
          })
        const pending = [0, 1, 2, 4, 5, 8, 9].map((i) => ids[i]!)
        const queued = [3, 6, 7].map((i) => ids[i]!)
        for (const pageSize of [1, 2, 3, 50]) {
          assert.deepStrictEqual(yield* byPage("pending", pageSize), { read: pending, total: 7 }, `pages of ${pageSize}`)
          assert.deepStrictEqual(yield* byPage("queued", pageSize), { read: queued, total: 3 }, `pages of ${pageSize}`)
          assert.deepStrictEqual(yield* byCursor("pending", pageSize), pending, `pages of ${pageSize}`)
          assert.deepStrictEqual(yield* byCursor("queued", pageSize), queued, `pages of ${pageSize}`)
        }
        assert.deepStrictEqual(idsOf(yield* allContacts(batch.id, "pending")), pending)
        yield* checkCounters(batch.id)
      }))

    it.effect("listContacts after a contact reads the matches that follow it, across removed and skipped rows", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 6, externalIds: true, batch: { status: "draft" } })
        // A repeated externalId is skipped and a contact removed: row order keeps gaps.
        const more = newContacts(4, { from: 6, externalIds: true })
        yield* store.addContacts(batch.id, [more[0]!, { ...more[1]!, externalId: contacts[0]!.externalId }, ...more.slice(2)], after(1))
        const removed = contacts[2]!
        yield* store.removeContact(batch.id, removed.id, after(2))
        const all = yield* allContacts(batch.id)
        const ids = idsOf(all)
        assert.strictEqual(ids.length, 8)
        const read = (options: { page?: number; pageSize: number; after?: string; status?: Contact.ContactStatus }) =>
          store.listContacts(batch.id, { page: options.page ?? 1, ...options }).pipe(
            Effect.map((result) => ({ ids: idsOf(result.items), total: result.total }))
          )
        // Following each page's last contact visits every contact once, as page numbers do.
        const walked: Array<string> = []
        let last: string | undefined
        for (let n = 1; n <= 4; n++) {
          const byCursor = yield* read({ pageSize: 3, after: last })
          assert.deepStrictEqual(byCursor, yield* read({ page: n, pageSize: 3 }), `page ${n}`)
          walked.push(...byCursor.ids)
          last = byCursor.ids.at(-1) ?? last
        }
        assert.deepStrictEqual(walked, ids)
        // `page` is ignored beside `after`; a removed contact still marks its place.
        assert.deepStrictEqual(yield* read({ page: 9, pageSize: 2, after: ids[0] }), { ids: ids.slice(1, 3), total: 8 })
        assert.deepStrictEqual(yield* read({ pageSize: 2, after: removed.id }), { ids: ids.slice(2, 4), total: 8 })
        assert.deepStrictEqual(yield* read({ pageSize: 2, after: ids.at(-1) }), { ids: [], total: 8 })

        yield* store.updateBatch(batch.id, ["draft"], "schedule", { status: "pending" })
        const lease = yield* takeLease(batch.id)
        for (const i of [1, 4, 6]) yield* begin(lease, all[i]!)
        assert.deepStrictEqual(yield* read({ pageSize: 2, status: "dialing", after: ids[1] }), { ids: [ids[4]!, ids[6]!], total: 3 })
        assert.deepStrictEqual(yield* read({ pageSize: 2, status: "pending", after: ids[1] }), { ids: [ids[2]!, ids[3]!], total: 5 })
        assert.deepStrictEqual(yield* read({ pageSize: 2, status: "pending", after: ids[5] }), { ids: [ids[7]!], total: 5 })
        assert.deepStrictEqual(yield* read({ page: 3, pageSize: 2, status: "pending" }), { ids: [ids[7]!], total: 5 })
        yield* checkCounters(batch.id)
      }))
  })
}
