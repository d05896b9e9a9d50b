/**
 * A contact's history (every attempt and decision, kept by the writes that
 * record them, bounded) and the search of a batch's contacts.
 */
import { assert, describe } from "@effect/vitest"
import * as BatchStoreModule from "@outdial/core/BatchStore"
import { BatchStore, type NewContact } from "@outdial/core/BatchStore"
import * as Contact from "@outdial/core/Contact"
import { decisionsKept } from "@outdial/core/ContactHistory"
import * as ContactSearch from "@outdial/core/ContactSearch"
import * as Effect from "effect/Effect"
import { after, assertSame, begin, call, deferDecision, dialDecision, finish, makeBatch, seed, skipDecision, type Suite, takeLease, uniqueId } from "./helpers.ts"

const people: ReadonlyArray<NewContact> = [
  { row: 2, phone: "+14155550100", name: "Ann Lee", externalId: null, customFields: {}, numberValidated: true },
  { row: 3, phone: "+14155550101", name: "Joanna 100% Real_Name", externalId: null, customFields: {}, numberValidated: true },
  { row: 4, phone: "+442079460555", name: "O'Brien \\ Sons", externalId: null, customFields: {}, numberValidated: true },
  { row: 5, phone: "+12025550103", name: null, externalId: null, customFields: {}, numberValidated: true },
  { row: 6, phone: "5551234", name: "BJORN", externalId: null, customFields: {}, numberValidated: false }
]

const found = (store: BatchStore["Service"], batchId: string, text: string, options: {
  readonly status?: Contact.ContactStatus
  readonly page?: number
  readonly pageSize?: number
  readonly after?: string
} = {}) =>
  Effect.map(
    store.listContacts(batchId, {
      search: ContactSearch.make(text),
      status: options.status,
      page: options.page ?? 1,
      pageSize: options.pageSize ?? 50,
      after: options.after
    }),
    (page) => ({ rows: page.items.map((contact) => contact.row), total: page.total })
  )

export const historyAndSearch = (it: Suite): void => {
  describe("contact history", () => {
    it.effect("every attempt by number and every decision in order, each stored by the write that made it", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 2 })
        if (store.contactHistory === undefined) return
        const [first, second] = contacts as [Contact.Contact, Contact.Contact]
        const lease = yield* takeLease(batch.id)
        yield* store.decide(lease, first.id, deferDecision(after(1), after(60)))
        const begun = yield* begin(lease, first, after(61))
        yield* finish(lease, begun.attempt.id, "busy", after(70), { nextRetryAt: after(400), decision: deferDecision(after(70), after(400)) })
        const again = yield* store.beginAttempt(lease, {
          contactId: first.id,
          attemptNumber: 2,
          callerNumberId: "num_suite_2",
          startedAt: after(400),
          localDate: "2030-01-07",
          decision: dialDecision(after(400))
        })
        yield* finish(lease, again.attempt.id, "completed", after(460))
        yield* store.decide(lease, second.id, skipDecision(after(5)))

        const history = yield* store.contactHistory(batch.id, first.id)
        assert.deepStrictEqual(history.attempts.map((a) => [a.attemptNumber, a.callerNumberId, a.outcome]), [
          [1, "num_suite_1", "busy"],
          [2, "num_suite_2", "completed"]
        ])
        assertSame(history.decisions, [
          deferDecision(after(1), after(60)),
          dialDecision(after(61)),
          deferDecision(after(70), after(400)),
          dialDecision(after(400))
        ])
        assertSame((yield* store.contactHistory(batch.id, second.id)).decisions, [skipDecision(after(5))])
        assertSame(yield* store.contactHistory(batch.id, uniqueId("c")), { attempts: [], decisions: [] })
        assertSame(yield* store.contactHistory(uniqueId("batch"), first.id), { attempts: [], decisions: [] })
      }))

    it.effect(`keeps the latest ${decisionsKept} decisions of a contact`, () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 1 })
        if (store.contactHistory === undefined) return
        const lease = yield* takeLease(batch.id)
        const total = decisionsKept + 5
        for (let i = 0; i < total; i++) yield* store.decide(lease, contacts[0]!.id, deferDecision(after(i), after(i + 1)))
        const { decisions } = yield* store.contactHistory(batch.id, contacts[0]!.id)
        assert.strictEqual(decisions.length, decisionsKept)
        assertSame(decisions[0], deferDecision(after(5), after(6)), "the oldest kept")
        assertSame(decisions.at(-1), deferDecision(after(total - 1), after(total)), "the latest")
      }))

    it.effect("batched begins and ends store their decisions as single ones do", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 2 })
        if (store.contactHistory === undefined) return
        const lease = yield* takeLease(batch.id)
        const begun = yield* BatchStoreModule.beginAttempts(store, lease, contacts.map((contact, i) => ({
          contactId: contact.id,
          attemptNumber: 1,
          callerNumberId: `num_suite_${i + 1}`,
          startedAt: after(10),
          localDate: "2030-01-07",
          decision: dialDecision(after(10))
        })))
        const attemptIds = begun.map((result) => result._tag === "Success" ? result.success.attempt.id : "")
        yield* BatchStoreModule.finishAttempts(store, lease, attemptIds.map((attemptId) => ({
          attemptId,
          result: { outcome: "no_answer", sipCode: 480, duration: null, roomName: null, failureReason: null },
          endedAt: after(20),
          status: "queued",
          nextRetryAt: after(600),
          decision: deferDecision(after(20), after(600))
        })))
        for (const [i, contact] of contacts.entries()) {
          const history = yield* store.contactHistory(batch.id, contact.id)
          assertSame(history.decisions, [dialDecision(after(10)), deferDecision(after(20), after(600))])
          assert.deepStrictEqual(history.attempts.map((a) => [a.callerNumberId, a.outcome]), [[`num_suite_${i + 1}`, "no_answer"]])
        }
      }))

    it.effect("a refused or lost write stores no decision", () =>
      Effect.gen(function*() {
        const { batch, contacts, store } = yield* seed({ count: 1 })
        if (store.contactHistory === undefined) return
        const lease = yield* takeLease(batch.id)
        yield* call(lease, contacts[0]!, "completed", after(1))
        yield* Effect.flip(store.decide(lease, contacts[0]!.id, skipDecision(after(2))))
        yield* Effect.flip(store.decide({ ...lease, epoch: lease.epoch + 7 }, contacts[0]!.id, skipDecision(after(3))))
        assertSame((yield* store.contactHistory(batch.id, contacts[0]!.id)).decisions, [dialDecision(after(1))])
      }))
  })

  describe("contact search", () => {
    it.effect("names by case-insensitive substring, numbers by digits; with status and paging", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const draft = makeBatch()
        yield* store.createBatch(draft, people)
        const id = draft.id
        assert.deepStrictEqual(yield* found(store, id, "ann"), { rows: [2, 3], total: 2 })
        assert.deepStrictEqual(yield* found(store, id, "  LEE "), { rows: [2], total: 1 })
        assert.deepStrictEqual(yield* found(store, id, "bjorn"), { rows: [6], total: 1 })
        assert.deepStrictEqual(yield* found(store, id, "415-55"), { rows: [2, 3], total: 2 }, "digit substring")
        assert.deepStrictEqual(yield* found(store, id, "(415) 555"), { rows: [2, 3], total: 2 })
        assert.deepStrictEqual(yield* found(store, id, "+1 415"), { rows: [2, 3], total: 2 }, "a + is a prefix")
        assert.deepStrictEqual(yield* found(store, id, "+44"), { rows: [4], total: 1 })
        assert.deepStrictEqual(yield* found(store, id, "555"), { rows: [2, 3, 4, 5, 6], total: 5 })
        assert.deepStrictEqual(yield* found(store, id, "+555"), { rows: [6], total: 1 }, "a number kept as written")
        assert.deepStrictEqual(yield* found(store, id, "555", { pageSize: 2, page: 2 }), { rows: [4, 5], total: 5 })
        const firstPage = yield* store.listContacts(id, { search: ContactSearch.make("555"), page: 1, pageSize: 2 })
        assert.deepStrictEqual(
          yield* found(store, id, "555", { pageSize: 2, after: firstPage.items[1]!.id }),
          { rows: [4, 5], total: 5 },
          "by keyset"
        )
        assert.deepStrictEqual(yield* found(store, id, "555", { status: "pending", pageSize: 1 }), { rows: [2], total: 5 })
        assert.deepStrictEqual(yield* found(store, id, "555", { status: "completed" }), { rows: [], total: 0 })
        assert.deepStrictEqual(yield* found(store, uniqueId("batch"), "ann"), { rows: [], total: 0 })
      }))

    // Enough contacts that a store may look up a search's rare part and leave its common part (every
    // name's "contact", every number's "+4915") to the rule: whichever way, the rule decides.
    it.effect("a batch of many alike contacts: searches common and rare alike find what the rule matches", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const draft = makeBatch()
        const contacts = Array.from({ length: 1_200 }, (_, i): NewContact => ({
          row: i + 2,
          phone: `+4915120${String(100_000 + i * 7)}`,
          name: i % 100 === 7 ? null : `Contact ${i}`,
          externalId: null,
          customFields: {},
          numberValidated: true
        }))
        yield* store.createBatch(draft, contacts)
        for (const text of ["Contact 1", "contact 1042", "ONTACT 99", "ct 7", "1042", "+49 151 2010 7", "+4915120", "2010-42", "99", "7 ", "+49151201074", "contact 12000"]) {
          const search = ContactSearch.make(text)
          const rows = contacts.filter((c) => ContactSearch.matches(search, c)).map((c) => c.row)
          assert.deepStrictEqual(yield* found(store, draft.id, text), { rows: rows.slice(0, 50), total: rows.length }, text)
        }
      }))

    it.effect("takes wildcards, backslashes and quotes literally", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const draft = makeBatch()
        yield* store.createBatch(draft, people)
        assert.deepStrictEqual(yield* found(store, draft.id, "100%"), { rows: [3], total: 1 })
        assert.deepStrictEqual(yield* found(store, draft.id, "%"), { rows: [3], total: 1 })
        assert.deepStrictEqual(yield* found(store, draft.id, "_"), { rows: [3], total: 1 })
        assert.deepStrictEqual(yield* found(store, draft.id, "a_n"), { rows: [], total: 0 }, "_ is no wildcard")
        assert.deepStrictEqual(yield* found(store, draft.id, "o'brien"), { rows: [4], total: 1 })
        assert.deepStrictEqual(yield* found(store, draft.id, "\\"), { rows: [4], total: 1 })
        assert.deepStrictEqual(yield* found(store, draft.id, "'; DROP TABLE x; --"), { rows: [], total: 0 })
      }))
  })
}
