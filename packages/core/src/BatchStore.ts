/**
 * The storage port: everything the engine and the HTTP router keep about
 * batches, contacts and attempts. The engine decides (which status a contact
 * takes, when it is retried); a store applies those decisions atomically,
 * keeps per-batch counters so reads never scan contacts, and refuses a write
 * whose owner lost the batch's dispatch lease.
 *
 * Words used below: a batch's contacts keep the order they were stored in
 * (`createBatch`'s list, then each `addContacts` call's); that is "row
 * order", since `row` numbers restart with every file. A contact is
 * "waiting" when `pending` or `queued`. Every adapter is held to this
 * contract by the conformance suite, `@outdial/core/BatchStoreSuite`.
 *
 * Longer than ~400 lines because the port is one contract, each method's
 * documentation the promise every adapter keeps, read together.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { Attempt } from "./Attempt.ts"
import type { Batch, BatchStatus } from "./Batch.ts"
import type { DialLimits } from "./CallLimits.ts"
import type { HistoryLookup } from "./FrequencyCap.ts"
import type { CallResult } from "./Telephony.ts"
import type { Contact, ContactStatus, CustomFields, Decision } from "./Contact.ts"
import type * as ContactSearch from "./ContactSearch.ts"
import type { WebhookStore } from "./WebhookStore.ts"
import type {
  BatchNotFound,
  ContactNotFound,
  IdempotencyKeyReused,
  IdempotencyRequestInProgress,
  InvalidTransition,
  StoreError
} from "./OutdialError.ts"

/**
 * A contact to store, as the import produced it.
 *
 * @since 0.1.0
 * @category models
 */
export interface NewContact {
  /** The row number in its file, for messages; it does not order contacts. */
  readonly row: number
  readonly phone: string
  /** False for a number kept as written under `ignoreE164Validation`. */
  readonly numberValidated: boolean
  readonly name: string | null
  readonly externalId: string | null
  readonly customFields: CustomFields
}

/**
 * What an `addContacts` stored.
 *
 * @since 0.1.0
 * @category models
 */
export interface Added {
  readonly added: number
  /** Contacts given but not stored: a repeated `externalId`, or a stored number with `skipStoredNumbers`. */
  readonly skipped: number
  /** Distinct numbers among those given that the batch held before the call. */
  readonly storedNumbers: ReadonlyArray<string>
}

/**
 * Count of contacts in each status.
 *
 * @since 0.1.0
 * @category models
 */
export type StatusBreakdown = { readonly [S in ContactStatus]: number }

/**
 * @since 0.1.0
 * @category models
 */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly total: number
}

/**
 * The holder of a batch's dispatch lease. `epoch` grows with every takeover;
 * a write carrying an older epoch is refused.
 *
 * @since 0.1.0
 * @category models
 */
export interface Lease {
  readonly batchId: string
  readonly ownerId: string
  readonly epoch: number
  readonly expiresAt: DateTime.Utc
}

/**
 * The writer lost the batch's lease to another process; it must stop.
 *
 * @since 0.1.0
 * @category errors
 */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {
  batchId: Schema.String,
  epoch: Schema.Number
}) {}

/**
 * A request stored under an idempotency key: either still running, or done
 * with the response to replay.
 *
 * @since 0.1.0
 * @category models
 */
export type IdempotencyRecord =
  | { readonly _tag: "Reserved" }
  | { readonly _tag: "Completed"; readonly response: unknown }

/**
 * How a contact leaves `dialing` once its attempt has ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface AttemptEnd {
  readonly attemptId: string
  readonly result: CallResult
  readonly endedAt: DateTime.Utc
  /** The contact's new status: the outcome, or `queued` for a retry. */
  readonly status: ContactStatus
  readonly nextRetryAt: DateTime.Utc | null
  readonly decision: Decision | null
  /**
   * The attempt does not count against the contact's budget: a contact
   * moving from `dialing` takes `maxAttempts + 1` (a callback the recipient
   * asked for is no failed try). Absent means `false`.
   */
  readonly refundAttempt?: boolean | undefined
}

/**
 * An attempt to begin: the contact, its attempt number and what it is dialed with.
 *
 * @since 0.1.0
 * @category models
 */
export interface AttemptStart {
  readonly contactId: string
  readonly attemptNumber: number
  readonly callerNumberId: string
  readonly startedAt: DateTime.Utc
  readonly localDate: string
  readonly decision: Decision | null
}

/**
 * What a store keeps of a contact's past, oldest first.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContactHistory {
  readonly attempts: ReadonlyArray<Attempt>
  readonly decisions: ReadonlyArray<Decision>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Begun {
  readonly contact: Contact
  readonly attempt: Attempt
}

/**
 * @since 0.1.0
 * @category services
 */
export class BatchStore extends Context.Service<BatchStore, {
  /**
   * The store lives in this process alone (the in-memory store), so no other
   * process can create batches in it or take them over: the dispatcher then
   * skips looking for orphaned batches and renewing leases.
   */
  readonly processLocal?: boolean | undefined
  /**
   * Ids of batches whose lifecycle another process changed (scheduled,
   * paused, cancelled…), for the dispatcher to look at them at once; a store
   * shared by processes offers it when its database can push such news.
   * Polling remains the fallback.
   */
  readonly changes?: Stream.Stream<string, StoreError> | undefined
  /**
   * Outgoing webhooks: endpoints, and the changes to send recorded with
   * every batch and contact change, in its transaction. A store without it
   * sends no webhooks (the endpoint API answers `store_error`).
   */
  readonly webhooks?: WebhookStore | undefined
  /**
   * Reserves `key` for a request whose body hashes to `fingerprint`. `undefined`
   * means the caller holds the key now and must complete or release it; a
   * completed record is the response to replay.
   */
  readonly reserveIdempotencyKey: (
    scope: string,
    key: string,
    fingerprint: string
  ) => Effect.Effect<
    { readonly response: unknown } | undefined,
    IdempotencyKeyReused | IdempotencyRequestInProgress | StoreError
  >
  readonly completeIdempotencyKey: (scope: string, key: string, response: unknown) => Effect.Effect<void, StoreError>
  readonly releaseIdempotencyKey: (scope: string, key: string) => Effect.Effect<void, StoreError>

  /**
   * Stores a batch and all its contacts, or nothing. Contacts are kept in the
   * order given, each `pending` with `maxAttempts` from the batch's retry
   * policy; a contact repeating an `externalId` is stored once, as in
   * `addContacts`. The stored `totalContacts` counts the contacts stored.
   */
  readonly createBatch: (batch: Batch, contacts: ReadonlyArray<NewContact>) => Effect.Effect<void, StoreError>
  readonly getBatch: (organizationId: string, batchId: string) => Effect.Effect<Batch, BatchNotFound | StoreError>
  /** A batch by id alone, for the dispatcher; `undefined` when there is none. */
  readonly findBatch: (batchId: string) => Effect.Effect<Batch | undefined, StoreError>
  /**
   * An organization's batches, newest first (`createdAt` descending, then
   * `id` descending); `total` counts every match, not just the page.
   */
  readonly listBatches: (
    organizationId: string,
    options: {
      readonly agentId?: string | undefined
      readonly status?: BatchStatus | undefined
      readonly limit: number
      readonly offset: number
    }
  ) => Effect.Effect<Page<Batch>, StoreError>
  /**
   * Compare-and-set: applies `patch` only while the batch is in one of
   * `expected`, failing with `InvalidTransition` (naming `action` and the
   * state it is in) otherwise. `totalContacts` is the store's count: a
   * patch's is ignored. With `unlessContactsLeft`, refused the same way
   * (with a reason) while a contact waits or is being dialed: the
   * dispatcher completes a batch so, and contacts added since it looked
   * keep the batch running.
   */
  readonly updateBatch: (
    batchId: string,
    expected: ReadonlyArray<BatchStatus>,
    action: string,
    patch: Partial<Omit<Batch, "id" | "organizationId" | "createdAt">>,
    options?: { readonly unlessContactsLeft?: boolean | undefined }
  ) => Effect.Effect<Batch, BatchNotFound | InvalidTransition | StoreError>
  /**
   * Deletes a batch in one of `expected` with everything it holds: contacts,
   * attempts, lease. `InvalidTransition` (action `delete`) otherwise.
   */
  readonly deleteBatch: (
    batchId: string,
    expected: ReadonlyArray<BatchStatus>
  ) => Effect.Effect<void, BatchNotFound | InvalidTransition | StoreError>

  /**
   * Adds contacts after those the batch holds, while the batch is live
   * (`Batch.sourcesOf("add contacts to")`: a draft, or pending, scheduled,
   * running or paused, when a running batch's dispatcher dials them too);
   * `InvalidTransition` once it is final. A contact whose `externalId` the
   * batch already holds, or that an earlier contact of the same call
   * carries, is skipped, so a retried append adds nothing twice; with
   * `skipStoredNumbers`, so is one whose number the batch already holds.
   * New contacts take `maxAttempts` from the batch's retry policy as it is
   * now; `totalContacts`, the counters and `updatedAt` follow in the same
   * write, and a store shared by processes tells the batch's dispatcher
   * (`changes`).
   */
  readonly addContacts: (
    batchId: string,
    contacts: ReadonlyArray<NewContact>,
    updatedAt: DateTime.Utc,
    options?: { readonly skipStoredNumbers?: boolean | undefined }
  ) => Effect.Effect<Added, BatchNotFound | InvalidTransition | StoreError>
  /**
   * Removes a contact not yet dialed (`pending` or `queued`) from a live
   * batch; its `externalId` may be added again afterwards. `InvalidTransition`
   * once the batch is final (entity `batch`), or when the contact is being
   * dialed or has ended (entity `contact`, action `remove`, from its status):
   * a call in flight is never taken from under its dispatcher. Safe while
   * another process dispatches the batch: that process's writes to the
   * contact answer `Contact.removed` afterwards.
   */
  readonly removeContact: (
    batchId: string,
    contactId: string,
    updatedAt: DateTime.Utc
  ) => Effect.Effect<void, BatchNotFound | ContactNotFound | InvalidTransition | StoreError>
  /** Kept as counters, never by a scan; all zero for a batch that does not exist. */
  readonly statusBreakdown: (batchId: string) => Effect.Effect<StatusBreakdown, StoreError>
  /**
   * Contacts in row order, optionally of one status; `page` counts from 1 and
   * `total` counts every match. Empty for a batch that does not exist.
   *
   * With `after` (the id of the contact a previous page ended with), the page
   * holds the matches that follow that contact in row order and `page` is
   * ignored: a keyset read, as fast deep in a batch as at its start. The
   * contact need not exist any more; an id the store never gave reads empty.
   *
   * With `search`, only the contacts `ContactSearch.matches` (and `total`
   * counts those).
   */
  readonly listContacts: (
    batchId: string,
    options: {
      readonly status?: ContactStatus | undefined
      readonly search?: ContactSearch.Search | undefined
      readonly page: number
      readonly pageSize: number
      readonly after?: string | undefined
    }
  ) => Effect.Effect<Page<Contact>, StoreError>
  readonly getContact: (batchId: string, contactId: string) => Effect.Effect<Contact | undefined, StoreError>
  /**
   * The contact's attempts by number and its decisions in the order made (the
   * latest `ContactHistory.decisionsKept`), each decision stored by the write
   * that records it (`beginAttempt`, `finishAttempt`, `decide` and their
   * batched forms); an abandoned attempt's decision to dial stays, as it was
   * made. Empty for a contact that does not exist. Optional: the
   * engine falls back on `lastDecision` and open attempts
   * (`ContactHistory.historyOf`).
   */
  readonly contactHistory?: (batchId: string, contactId: string) => Effect.Effect<ContactHistory, StoreError>

  /**
   * Batches the dispatcher may have work in: pending, scheduled and running.
   * With `contender`, a store may leave out those whose lease another owner
   * holds unexpired at `now`: the contender could not take them, and listing
   * every batch to every process makes a rescan cost the whole fleet. Never
   * those the contender holds or could take.
   */
  readonly activeBatches: (
    contender?: { readonly ownerId: string; readonly now: DateTime.Utc }
  ) => Effect.Effect<ReadonlyArray<Batch>, StoreError>
  /**
   * Takes the batch's lease if it is free, expired (`expiresAt <= now`) or
   * already `ownerId`'s, with an epoch larger than any the batch had before
   * (releases included). `undefined` when another owner holds it or the batch
   * does not exist.
   *
   * Writes taking a lease are fenced by its epoch, not by the clock: they
   * fail with `LeaseLost` once the lease was taken over or released, or the
   * batch deleted, and go through until then even past `expiresAt`.
   */
  readonly acquireLease: (
    batchId: string,
    ownerId: string,
    now: DateTime.Utc,
    ttlMillis: number
  ) => Effect.Effect<Lease | undefined, StoreError>
  /**
   * Extends a lease to `now + ttlMillis`, keeping its epoch, while nobody has
   * taken it over (even past its expiry); `undefined` when it was lost.
   */
  readonly renewLease: (lease: Lease, now: DateTime.Utc, ttlMillis: number) => Effect.Effect<Lease | undefined, StoreError>
  /**
   * `renewLease` of many leases in one write: those renewed, with their new
   * expiry; a lease missing from the answer was lost. Optional: a process
   * holding many batches renews them all at once instead of one write each.
   */
  readonly renewLeases?: (
    leases: ReadonlyArray<Lease>,
    now: DateTime.Utc,
    ttlMillis: number
  ) => Effect.Effect<ReadonlyArray<Lease>, StoreError>
  /** Frees the lease if `lease` still holds it; a lost lease frees nothing. */
  readonly releaseLease: (lease: Lease) => Effect.Effect<void, StoreError>

  /**
   * Up to `limit` waiting contacts that may be dialed at `now`: first those
   * whose `nextRetryAt` has come (`<= now`), earliest first and in row order
   * among equal times, then those without a `nextRetryAt` in row order.
   * Contacts in `exclude` (being decided on by the caller) are passed over.
   * Reads only.
   */
  readonly dialable: (
    batchId: string,
    now: DateTime.Utc,
    limit: number,
    exclude: ReadonlySet<string>
  ) => Effect.Effect<ReadonlyArray<Contact>, StoreError>
  /**
   * The earliest `nextRetryAt` of a waiting contact, past or future;
   * `undefined` when no waiting contact has one.
   */
  readonly nextDueAt: (batchId: string) => Effect.Effect<DateTime.Utc | undefined, StoreError>
  /**
   * Moves a waiting contact to `dialing` and records its attempt, in one
   * step, before the provider is called. `localDate` is the batch-zone day
   * counted by the daily cap. `InvalidTransition` unless the contact waits;
   * `Contact.removed("dial")` when it was removed meanwhile.
   *
   * `attemptNumber` must be the contact's `attemptCount + 1` (anything else
   * is a defect: it would reuse an attempt id). The contact takes
   * `attemptCount = attemptNumber`, `lastAttemptAt = startedAt`, no
   * `nextRetryAt`, and `decision` as `lastDecision` when given; the attempt's
   * id is `Attempt.makeId(batchId, contactId, attemptNumber)`.
   */
  readonly beginAttempt: (
    lease: Lease,
    attempt: AttemptStart
  ) => Effect.Effect<Begun, LeaseLost | InvalidTransition | StoreError>
  /**
   * `beginAttempt` for several distinct contacts of the lease's batch at
   * once, each as if begun alone, answered in the order given: a contact
   * that no longer waits answers `InvalidTransition` and the others begin
   * all the same. Optional: a store where one write costs a round trip
   * offers it; the dispatcher falls back to `beginAttempt` (`beginAttempts`
   * below).
   */
  readonly beginAttempts?: (
    lease: Lease,
    attempts: ReadonlyArray<AttemptStart>
  ) => Effect.Effect<ReadonlyArray<Result.Result<Begun, InvalidTransition>>, LeaseLost | StoreError>
  /**
   * `beginAttempts` under the organization's `limits`, counted across every
   * batch and process sharing the store: attempts that would pass its calls
   * in flight or a caller number's calls per second are not begun (answered
   * `undefined`), and `retryAt` says when a refused one could be (epoch
   * millis; `undefined` when only a call ending frees a slot). The count and
   * the begin are one atomic step, so the limits are never exceeded.
   */
  readonly beginAttemptsWithin: (
    lease: Lease,
    attempts: ReadonlyArray<AttemptStart>,
    limits: DialLimits
  ) => Effect.Effect<PacedBegin, LeaseLost | StoreError>
  /**
   * The attempts begun since `since` to each of `numbers` (a contact's
   * `phone`), across every batch of the organization: start times, and those
   * of attempts answered (outcome `completed`). Abandoned attempts do not count.
   */
  readonly attemptsByNumber: HistoryLookup
  /**
   * Records an attempt's end and the contact's new status together. The
   * contact takes the result's `sipCode` (as `errorCode`), `failureReason`,
   * `duration` (as `callDuration`) and `roomName`; a final status sets
   * `completedAt = endedAt`, `queued` sets `nextRetryAt`. Finishing an attempt
   * already finished changes nothing and returns it as recorded, so the write
   * is safe to retry.
   */
  readonly finishAttempt: (
    lease: Lease,
    end: AttemptEnd
  ) => Effect.Effect<Begun, LeaseLost | StoreError>
  /**
   * `finishAttempt` for several distinct attempts of the lease's batch at
   * once, each as if finished alone, answered in the order given. Optional,
   * like `beginAttempts`.
   */
  readonly finishAttempts?: (
    lease: Lease,
    ends: ReadonlyArray<AttemptEnd>
  ) => Effect.Effect<ReadonlyArray<Begun>, LeaseLost | StoreError>
  /**
   * Undoes an open attempt the provider never saw: the attempt is removed
   * (no longer counted by `attemptsOnDay`) and the contact waits again as it
   * did before it: the same status, `nextRetryAt`, `attemptCount`,
   * `lastAttemptAt` and `lastDecision`. `attemptId` must name an open attempt.
   */
  readonly abandonAttempt: (lease: Lease, attemptId: string) => Effect.Effect<Contact, LeaseLost | StoreError>
  /** Attempts of the batch still `dialing`. */
  readonly openAttempts: (batchId: string) => Effect.Effect<ReadonlyArray<Attempt>, StoreError>
  /** Attempts begun on a batch-zone day, abandoned ones not counted. */
  readonly attemptsOnDay: (batchId: string, localDate: string) => Effect.Effect<number, StoreError>
  /**
   * A policy's answer for a waiting contact, stored as its `lastDecision`:
   * `defer` keeps its status and makes it wait until `until` (or `at`
   * without one); `skip` makes it `skipped`, final, at `at`. A `dial` is
   * recorded by `beginAttempt` instead. `InvalidTransition` unless it waits;
   * `Contact.removed(kind)` when it was removed meanwhile.
   */
  readonly decide: (
    lease: Lease,
    contactId: string,
    decision: Decision
  ) => Effect.Effect<Contact, LeaseLost | InvalidTransition | StoreError>
  /**
   * Every waiting contact of the batch becomes `cancelled` at `at`; returns
   * how many. Contacts being dialed are left to their attempt's end: the
   * dispatcher records those calls, then cancels again what is left waiting.
   */
  readonly cancelContacts: (batchId: string, at: DateTime.Utc) => Effect.Effect<number, StoreError>
  /**
   * Re-queues the batch's contacts that ended in one of `statuses` (waiting
   * and dialing statuses are ignored), due at `at`, granting each exactly
   * `extraAttempts` more (`maxAttempts = attemptCount + extraAttempts`) and
   * clearing `completedAt`; returns how many.
   */
  readonly requeueContacts: (
    batchId: string,
    statuses: ReadonlyArray<ContactStatus>,
    extraAttempts: number,
    at: DateTime.Utc
  ) => Effect.Effect<number, StoreError>
  /**
   * Deletes idempotency keys created before `idempotencyKeysBefore` and
   * outbox events written before `eventsBefore`, unless a prune of this
   * store (by any process sharing it) ran less than `minIntervalMillis`
   * before `now`: then it does nothing and answers `ran: false`, so
   * processes sharing a database never repeat each other's work.
   */
  readonly prune: (request: PruneRequest) => Effect.Effect<PruneResult, StoreError>
}>()("@outdial/core/BatchStore") {}

/**
 * @since 0.1.0
 * @category models
 */
export interface PacedBegin {
  readonly results: ReadonlyArray<Result.Result<Begun, InvalidTransition> | undefined>
  readonly retryAt: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PruneRequest {
  readonly now: DateTime.Utc
  readonly idempotencyKeysBefore: DateTime.Utc
  readonly eventsBefore: DateTime.Utc
  readonly minIntervalMillis: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PruneResult {
  readonly ran: boolean
  readonly idempotencyKeys: number
  readonly events: number
  /** Finished webhook deliveries deleted (by `Retention`, in the same turn). */
  readonly deliveries?: number | undefined
}

/**
 * Begins `attempts` with the store's `beginAttempts`, or one by one (side by
 * side) with `beginAttempt` where it has none.
 *
 * @since 0.1.0
 * @category batched writes
 */
export const beginAttempts = (
  store: BatchStore["Service"],
  lease: Lease,
  attempts: ReadonlyArray<AttemptStart>
): Effect.Effect<ReadonlyArray<Result.Result<Begun, InvalidTransition>>, LeaseLost | StoreError> =>
  attempts.length === 0
    ? Effect.succeed([])
    : store.beginAttempts !== undefined
    ? store.beginAttempts(lease, attempts)
    : Effect.forEach(attempts, (attempt) =>
      store.beginAttempt(lease, attempt).pipe(
        Effect.map(Result.succeed),
        Effect.catchTag("InvalidTransition", (error) => Effect.succeed(Result.fail(error)))
      ), { concurrency: "unbounded" })

/**
 * Finishes `ends` with the store's `finishAttempts`, or one by one (side by
 * side) with `finishAttempt` where it has none.
 *
 * @since 0.1.0
 * @category batched writes
 */
export const finishAttempts = (
  store: BatchStore["Service"],
  lease: Lease,
  ends: ReadonlyArray<AttemptEnd>
): Effect.Effect<ReadonlyArray<Begun>, LeaseLost | StoreError> =>
  ends.length === 0
    ? Effect.succeed([])
    : store.finishAttempts !== undefined
    ? store.finishAttempts(lease, ends)
    : Effect.forEach(ends, (end) => store.finishAttempt(lease, end), { concurrency: "unbounded" })
