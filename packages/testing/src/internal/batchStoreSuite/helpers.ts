/**
 * What the sections of the `BatchStore` conformance suite share: assertions
 * that survive a round trip through storage, and short forms of the store's
 * dialing steps.
 */
import { assert } from "@effect/vitest"
import type { Batch } from "@outdial/core/Batch"
import type { AttemptEnd, Lease } from "@outdial/core/BatchStore"
import { BatchStore } from "@outdial/core/BatchStore"
import type { CallOutcome } from "@outdial/core/CallOutcome"
import * as Contact from "@outdial/core/Contact"
import type { CallResult } from "@outdial/core/Telephony"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Vitest from "@effect/vitest"
import { after, baseTime, makeBatch, newContacts, uniqueId } from "../../StoreFixtures.ts"

/** The `it` a section declares its tests with: effects needing the store. */
export type Suite = Vitest.Vitest.MethodsNonLive<BatchStore>

export { after, baseTime, makeBatch, newContacts, uniqueId }

export const ttl = 30_000
export const day = "2030-01-07"

// Values compared across a round trip through storage: instants by their ISO
// form, since a driver rebuilds `DateTime`s.
export const plain = (value: unknown): unknown =>
  DateTime.isDateTime(value)
    ? DateTime.formatIso(value)
    : Array.isArray(value)
    ? value.map(plain)
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
    : value

export const assertSame = (actual: unknown, expected: unknown, message?: string) =>
  assert.deepStrictEqual(plain(actual), plain(expected), message)

export const timeOf = (time: DateTime.Utc | null | undefined) =>
  time === null || time === undefined ? null : DateTime.formatIso(time)

export const assertTime = (actual: DateTime.Utc | null | undefined, expected: DateTime.Utc | null, message?: string) =>
  assert.strictEqual(timeOf(actual), timeOf(expected), message)

export const idsOf = (items: ReadonlyArray<{ readonly id: string }>) => items.map((item) => item.id)

/** Fails the test unless `effect` fails with a `tag` error, and returns that error. */
export const failure = <A, E, R, T extends string>(effect: Effect.Effect<A, E, R>, tag: T) =>
  Effect.flip(effect).pipe(Effect.map((error) => {
    assert.strictEqual((error as { readonly _tag?: unknown })._tag, tag)
    return error as Extract<E, { readonly _tag: T }>
  }))

export const dialDecision = (at: DateTime.Utc): Contact.Decision => ({
  kind: "dial",
  policy: "eligibility",
  reason: "inside the calling window",
  at
})

export const deferDecision = (at: DateTime.Utc, until: DateTime.Utc): Contact.Decision => ({
  kind: "defer",
  policy: "calling-window",
  reason: "outside the calling window",
  at,
  until
})

export const skipDecision = (at: DateTime.Utc): Contact.Decision => ({
  kind: "skip",
  policy: "pre-dial",
  reason: "the lead has converted",
  at
})

export const callResult = (outcome: CallOutcome, overrides: Partial<CallResult> = {}): CallResult => ({
  outcome,
  sipCode: outcome === "busy" ? 486 : outcome === "completed" ? null : 480,
  duration: outcome === "completed" ? 42.5 : null,
  roomName: `room-${outcome}`,
  failureReason: outcome === "completed" ? null : `ended: ${outcome}`,
  ...overrides
})

/** Every contact of a batch, page by page. */
export const allContacts = (batchId: string, status?: Contact.ContactStatus) =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const all: Array<Contact.Contact> = []
    for (let page = 1;; page++) {
      const result = yield* store.listContacts(batchId, { status, page, pageSize: 500 })
      all.push(...result.items)
      if (result.items.length < 500) {
        assert.strictEqual(all.length, result.total, "total counts every contact listed")
        return all
      }
    }
  })

/** The counters agree with the contacts, whatever happened before. */
export const checkCounters = (batchId: string) =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const breakdown = yield* store.statusBreakdown(batchId)
    const contacts = yield* allContacts(batchId)
    const recount = Object.fromEntries(Contact.statuses.map((status) => [status, 0])) as Record<
      Contact.ContactStatus,
      number
    >
    for (const contact of contacts) recount[contact.status]++
    assert.deepStrictEqual({ ...breakdown }, recount, "statusBreakdown equals a recount")
    for (const status of Contact.statuses) {
      const page = yield* store.listContacts(batchId, { status, page: 1, pageSize: 1 })
      assert.strictEqual(page.total, recount[status], `total of ${status} contacts`)
    }
    const batch = yield* store.findBatch(batchId)
    if (batch !== undefined) assert.strictEqual(batch.totalContacts, contacts.length, "totalContacts")
  })

/** A stored batch of `count` contacts, and its contacts in row order. */
export const seed = (
  options: { readonly count?: number; readonly batch?: Partial<Batch>; readonly externalIds?: boolean } = {}
) =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const batch = makeBatch({ status: "running", ...options.batch })
    yield* store.createBatch(batch, newContacts(options.count ?? 3, { externalIds: options.externalIds ?? false }))
    const contacts = yield* allContacts(batch.id)
    return { store, batch, contacts }
  })

export const takeLease = (batchId: string, now: DateTime.Utc = baseTime, ownerId: string = uniqueId("owner")) =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const lease = yield* store.acquireLease(batchId, ownerId, now, ttl)
    assert.isDefined(lease, "a free lease is taken")
    return lease!
  })

export const begin = (lease: Lease, contact: Contact.Contact, at: DateTime.Utc = baseTime, localDate: string = day) =>
  BatchStore.use((store) =>
    store.beginAttempt(lease, {
      contactId: contact.id,
      attemptNumber: contact.attemptCount + 1,
      callerNumberId: "num_suite_1",
      startedAt: at,
      localDate,
      decision: dialDecision(at)
    }))

export const finish = (
  lease: Lease,
  attemptId: string,
  outcome: CallOutcome,
  endedAt: DateTime.Utc,
  retry: { readonly nextRetryAt: DateTime.Utc; readonly decision?: Contact.Decision } | undefined = undefined
) =>
  BatchStore.use((store) => {
    const end: AttemptEnd = {
      attemptId,
      result: callResult(outcome),
      endedAt,
      status: retry === undefined ? outcome : "queued",
      nextRetryAt: retry?.nextRetryAt ?? null,
      decision: retry?.decision ?? null
    }
    return store.finishAttempt(lease, end)
  })

/** Dials `contact` and records `outcome`, queued for `nextRetryAt` when given. */
export const call = (
  lease: Lease,
  contact: Contact.Contact,
  outcome: CallOutcome,
  at: DateTime.Utc,
  nextRetryAt?: DateTime.Utc
) =>
  Effect.flatMap(
    begin(lease, contact, at),
    ({ attempt }) => finish(lease, attempt.id, outcome, at, nextRetryAt === undefined ? undefined : { nextRetryAt })
  )

export const current = (batchId: string, contactId: string) =>
  BatchStore.use((store) => store.getContact(batchId, contactId)).pipe(
    Effect.map((contact) => {
      assert.isDefined(contact, `contact ${contactId} is stored`)
      return contact!
    })
  )

export const dialableIds = (batchId: string, now: DateTime.Utc, limit = 100, exclude: ReadonlySet<string> = new Set()) =>
  BatchStore.use((store) => store.dialable(batchId, now, limit, exclude)).pipe(
    Effect.map(idsOf)
  )
