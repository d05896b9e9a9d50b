/**
 * The conformance suite of the `BatchStore` port: one set of tests every
 * adapter runs against its own layer, so that the in-memory reference and a
 * database keep the same contract.
 *
 * The tests share one store, as they would share a database: each works in
 * organizations and batches of its own (random ids) and never assumes the
 * store is otherwise empty. Times are fixed instants, never the clock.
 *
 * Longer than ~400 lines because it is one contract's tests in one place;
 * it leaves the runtime package for a testing package of its own.
 *
 * ```ts
 * import * as BatchStoreSuite from "@outdial/core/BatchStoreSuite"
 *
 * BatchStoreSuite.run("PgBatchStore", PgBatchStore.layer.pipe(Layer.provide(database)))
 * ```
 *
 * Needs `vitest` and `@effect/vitest`, which `@outdial/core` lists as
 * optional peers: only a test imports this module.
 *
 * @since 0.1.0
 */
import { assert, describe, layer } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import { randomUUID } from "node:crypto"
import * as Attempt from "./Attempt.ts"
import * as BatchModel from "./Batch.ts"
import type { Batch } from "./Batch.ts"
import type { AttemptEnd, Lease, NewContact } from "./BatchStore.ts"
import { BatchStore } from "./BatchStore.ts"
import type { CallOutcome } from "./CallOutcome.ts"
import * as Contact from "./Contact.ts"
import type { CallResult } from "./Telephony.ts"

/**
 * An id no other test (nor an earlier run against the same database) uses.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const uniqueId = (prefix: string): string => `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 16)}`

/**
 * The instant the suite's batches are created at; every other time is an
 * offset from it.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const baseTime: DateTime.Utc = DateTime.makeUnsafe("2030-01-07T08:00:00.000Z")

/**
 * `seconds` after `baseTime`.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const after = (seconds: number): DateTime.Utc =>
  DateTime.makeUnsafe(DateTime.toEpochMillis(baseTime) + seconds * 1000)

/**
 * A draft with every field set, in an organization of its own unless
 * `overrides` says otherwise.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const makeBatch = (overrides: Partial<Batch> = {}): Batch => ({
  id: uniqueId("batch"),
  organizationId: uniqueId("org"),
  name: "Suite batch",
  description: "Made by the BatchStore conformance suite",
  agentId: "agent_suite",
  phoneNumberIds: ["num_suite_1", "num_suite_2"],
  phoneRotationStrategy: "round_robin",
  status: "draft",
  statusReason: null,
  concurrentCallLimit: 5,
  retryPolicy: {
    maxAttempts: 3,
    retryableOutcomes: ["no_answer", "busy", "timeout", "carrier_error", "failed"],
    delaySeconds: [1800, 3600],
    delayByOutcome: { busy: 300 }
  },
  defaultCountry: "DE",
  timezone: "Europe/Berlin",
  callingWindows: [{ start: "09:00", end: "20:00" }],
  workingDays: [1, 2, 3, 4, 5],
  maxCallsPerDay: 1000,
  scheduledStartTime: after(3600),
  actualStartTime: null,
  completedAt: null,
  estimatedCompletionTime: null,
  createdAt: baseTime,
  updatedAt: baseTime,
  totalContacts: 0,
  estimatedDuration: "about 1 hour",
  estimatedCost: "1.50",
  ...overrides
})

/**
 * `count` contacts as an import yields them, numbered from `from` (for
 * distinct phones across calls); rows count from 2, as in a CSV with a
 * header. With `externalIds`, contact n carries `ext-n`.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const newContacts = (
  count: number,
  options: { readonly from?: number; readonly externalIds?: boolean } = {}
): Array<NewContact> =>
  Array.from({ length: count }, (_, i) => {
    const n = (options.from ?? 0) + i + 1
    return {
      row: i + 2,
      phone: `+49151${String(20_000_000 + n)}`,
      name: `Contact ${n}`,
      externalId: options.externalIds === true ? `ext-${n}` : null,
      customFields: { index: String(n), plan: n % 2 === 0 ? "gold" : "basic" }
    }
  })

/**
 * Options of `run`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Contacts of the scale check's batch; 20,000 unless set. */
  readonly scaleContacts?: number | undefined
  /** How long building the layer may take (starting a database, say). */
  readonly timeout?: Duration.Input | undefined
}

const ttl = 30_000
const day = "2030-01-07"

// Values compared across a round trip through storage: instants by their ISO
// form, since a driver rebuilds `DateTime`s.
const plain = (value: unknown): unknown =>
  DateTime.isDateTime(value)
    ? DateTime.formatIso(value)
    : Array.isArray(value)
    ? value.map(plain)
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
    : value

const assertSame = (actual: unknown, expected: unknown, message?: string) =>
  assert.deepStrictEqual(plain(actual), plain(expected), message)

const timeOf = (time: DateTime.Utc | null | undefined) =>
  time === null || time === undefined ? null : DateTime.formatIso(time)

const assertTime = (actual: DateTime.Utc | null | undefined, expected: DateTime.Utc | null, message?: string) =>
  assert.strictEqual(timeOf(actual), timeOf(expected), message)

const idsOf = (items: ReadonlyArray<{ readonly id: string }>) => items.map((item) => item.id)

/** Fails the test unless `effect` fails with a `tag` error, and returns that error. */
const failure = <A, E, R, T extends string>(effect: Effect.Effect<A, E, R>, tag: T) =>
  Effect.flip(effect).pipe(Effect.map((error) => {
    assert.strictEqual((error as { readonly _tag?: unknown })._tag, tag)
    return error as Extract<E, { readonly _tag: T }>
  }))

const dialDecision = (at: DateTime.Utc): Contact.Decision => ({
  kind: "dial",
  policy: "eligibility",
  reason: "inside the calling window",
  at
})

const deferDecision = (at: DateTime.Utc, until: DateTime.Utc): Contact.Decision => ({
  kind: "defer",
  policy: "calling-window",
  reason: "outside the calling window",
  at,
  until
})

const skipDecision = (at: DateTime.Utc): Contact.Decision => ({
  kind: "skip",
  policy: "pre-dial",
  reason: "the lead has converted",
  at
})

const callResult = (outcome: CallOutcome, overrides: Partial<CallResult> = {}): CallResult => ({
  outcome,
  sipCode: outcome === "busy" ? 486 : outcome === "completed" ? null : 480,
  duration: outcome === "completed" ? 42.5 : null,
  roomName: `room-${outcome}`,
  failureReason: outcome === "completed" ? null : `ended: ${outcome}`,
  ...overrides
})

/** Every contact of a batch, page by page. */
const allContacts = (batchId: string, status?: Contact.ContactStatus) =>
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
const checkCounters = (batchId: string) =>
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
const seed = (
  options: { readonly count?: number; readonly batch?: Partial<Batch>; readonly externalIds?: boolean } = {}
) =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const batch = makeBatch({ status: "running", ...options.batch })
    yield* store.createBatch(batch, newContacts(options.count ?? 3, { externalIds: options.externalIds ?? false }))
    const contacts = yield* allContacts(batch.id)
    return { store, batch, contacts }
  })

const takeLease = (batchId: string, now: DateTime.Utc = baseTime, ownerId: string = uniqueId("owner")) =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const lease = yield* store.acquireLease(batchId, ownerId, now, ttl)
    assert.isDefined(lease, "a free lease is taken")
    return lease!
  })

const begin = (lease: Lease, contact: Contact.Contact, at: DateTime.Utc = baseTime, localDate: string = day) =>
  BatchStore.use((store) =>
    store.beginAttempt(lease, {
      contactId: contact.id,
      attemptNumber: contact.attemptCount + 1,
      callerNumberId: "num_suite_1",
      startedAt: at,
      localDate,
      decision: dialDecision(at)
    }))

const finish = (
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
const call = (
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

const current = (batchId: string, contactId: string) =>
  BatchStore.use((store) => store.getContact(batchId, contactId)).pipe(
    Effect.map((contact) => {
      assert.isDefined(contact, `contact ${contactId} is stored`)
      return contact!
    })
  )

const dialableIds = (batchId: string, now: DateTime.Utc, limit = 100, exclude: ReadonlySet<string> = new Set()) =>
  BatchStore.use((store) => store.dialable(batchId, now, limit, exclude)).pipe(
    Effect.map(idsOf)
  )

/**
 * Declares the suite: a `describe(name)` of tests sharing one store built
 * from `store`.
 *
 * @since 0.1.0
 * @category suite
 */
export const run = <E>(name: string, store: Layer.Layer<BatchStore, E>, options: Options = {}): void =>
  layer(store, options.timeout === undefined ? {} : { timeout: options.timeout })(name, (it) => {
    describe("idempotency keys", () => {
      it.effect("a key is held by its first request; a repeat meanwhile is in progress", () =>
        Effect.gen(function*() {
          const store = yield* BatchStore
          const scope = uniqueId("scope")
          assert.isUndefined(yield* store.reserveIdempotencyKey(scope, "key", "body-a"))
          yield* failure(store.reserveIdempotencyKey(scope, "key", "body-a"), "IdempotencyRequestInProgress")
          const reused = yield* failure(store.reserveIdempotencyKey(scope, "key", "body-b"), "IdempotencyKeyReused")
          assert.strictEqual(reused.key, "key")
        }))

      it.effect("a completed key replays its response, and only for the same body", () =>
        Effect.gen(function*() {
          const store = yield* BatchStore
          const scope = uniqueId("scope")
          const response = { batchJobId: "batch_1", totalContacts: 3, rejected: [{ row: 2, code: "invalid_number" }] }
          yield* store.reserveIdempotencyKey(scope, "key", "body-a")
          yield* store.completeIdempotencyKey(scope, "key", response)
          assert.deepStrictEqual(yield* store.reserveIdempotencyKey(scope, "key", "body-a"), { response })
          assert.deepStrictEqual(yield* store.reserveIdempotencyKey(scope, "key", "body-a"), { response })
          yield* failure(store.reserveIdempotencyKey(scope, "key", "body-b"), "IdempotencyKeyReused")
        }))

      it.effect("a released key is free again, for any body", () =>
        Effect.gen(function*() {
          const store = yield* BatchStore
          const scope = uniqueId("scope")
          yield* store.reserveIdempotencyKey(scope, "key", "body-a")
          yield* store.releaseIdempotencyKey(scope, "key")
          assert.isUndefined(yield* store.reserveIdempotencyKey(scope, "key", "body-b"))
          yield* failure(store.reserveIdempotencyKey(scope, "key", "body-b"), "IdempotencyRequestInProgress")
          yield* store.releaseIdempotencyKey(scope, "never-reserved")
        }))

      it.effect("scopes keep keys apart", () =>
        Effect.gen(function*() {
          const store = yield* BatchStore
          const [first, second] = [uniqueId("scope"), uniqueId("scope")]
          assert.isUndefined(yield* store.reserveIdempotencyKey(first, "key", "body-a"))
          assert.isUndefined(yield* store.reserveIdempotencyKey(second, "key", "body-b"))
          yield* store.completeIdempotencyKey(first, "key", { from: "first" })
          assert.deepStrictEqual(yield* store.reserveIdempotencyKey(first, "key", "body-a"), { response: { from: "first" } })
          yield* failure(store.reserveIdempotencyKey(second, "key", "body-b"), "IdempotencyRequestInProgress")
          yield* store.releaseIdempotencyKey(second, "key")
          assert.deepStrictEqual(yield* store.reserveIdempotencyKey(first, "key", "body-a"), { response: { from: "first" } })
        }))
    })

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
          assert.deepStrictEqual(yield* store.addContacts(batch.id, appended, after(10)), { added: 3, skipped: 2 })
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
          assert.deepStrictEqual(yield* store.addContacts(batch.id, appended, after(20)), { added: 2, skipped: 3 })
          assert.deepStrictEqual(yield* store.addContacts(batch.id, [], after(30)), { added: 0, skipped: 0 })
          assert.strictEqual((yield* store.getBatch(batch.organizationId, batch.id)).totalContacts, 7)
          yield* checkCounters(batch.id)
        }))

      it.effect("addContacts refuses a batch that is not a draft", () =>
        Effect.gen(function*() {
          const { batch, store } = yield* seed({ batch: { status: "pending" } })
          const refused = yield* failure(store.addContacts(batch.id, newContacts(2, { from: 10 }), after(1)), "InvalidTransition")
          assert.strictEqual(refused.entity, "batch")
          assert.strictEqual(refused.from, "pending")
          assert.strictEqual((yield* store.getBatch(batch.organizationId, batch.id)).totalContacts, 3)
          yield* failure(store.addContacts(uniqueId("batch"), newContacts(1), after(1)), "BatchNotFound")
          yield* checkCounters(batch.id)
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
          assert.deepStrictEqual(readded, { added: 1, skipped: 0 })
          yield* failure(store.removeContact(uniqueId("batch"), removed.id, after(6)), "BatchNotFound")

          yield* store.updateBatch(batch.id, ["draft"], "schedule", { status: "pending" })
          const refused = yield* failure(store.removeContact(batch.id, contacts[0]!.id, after(8)), "InvalidTransition")
          assert.strictEqual(refused.from, "pending")
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
    })

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
  })
