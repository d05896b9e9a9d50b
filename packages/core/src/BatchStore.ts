/**
 * The storage port: everything the engine and the HTTP router keep about
 * batches, contacts and attempts. The engine decides (which status a contact
 * takes, when it is retried); a store applies those decisions atomically,
 * keeps per-batch counters so reads never scan contacts, and refuses a write
 * whose owner lost the batch's dispatch lease.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { Attempt } from "./Attempt.ts"
import type { Batch, BatchStatus } from "./Batch.ts"
import * as memoryStore from "./internal/memoryStore.ts"
import type { CallResult } from "./Telephony.ts"
import type { Contact, ContactStatus, Decision } from "./Contact.ts"
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
  readonly row: number
  readonly phone: string
  readonly name: string | null
  readonly externalId: string | null
  readonly customFields: Readonly<Record<string, string>>
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
}

/**
 * @since 0.1.0
 * @category services
 */
export class BatchStore extends Context.Service<BatchStore, {
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

  /** Stores a batch and all its contacts, or nothing. */
  readonly createBatch: (batch: Batch, contacts: ReadonlyArray<NewContact>) => Effect.Effect<void, StoreError>
  readonly getBatch: (organizationId: string, batchId: string) => Effect.Effect<Batch, BatchNotFound | StoreError>
  /** A batch by id alone, for the dispatcher. */
  readonly findBatch: (batchId: string) => Effect.Effect<Batch | undefined, StoreError>
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
   * `expected`, failing with `InvalidTransition` (naming the state it is in)
   * otherwise.
   */
  readonly updateBatch: (
    batchId: string,
    expected: ReadonlyArray<BatchStatus>,
    action: string,
    patch: Partial<Omit<Batch, "id" | "organizationId" | "createdAt">>
  ) => Effect.Effect<Batch, BatchNotFound | InvalidTransition | StoreError>
  /** Deletes a batch in one of `expected` with everything it holds. */
  readonly deleteBatch: (
    batchId: string,
    expected: ReadonlyArray<BatchStatus>
  ) => Effect.Effect<void, BatchNotFound | InvalidTransition | StoreError>

  /**
   * Adds contacts to a draft. A contact whose `externalId` the batch already
   * holds is skipped, so a retried append adds nothing twice.
   */
  readonly addContacts: (
    batchId: string,
    contacts: ReadonlyArray<NewContact>,
    updatedAt: DateTime.Utc
  ) => Effect.Effect<{ readonly added: number; readonly skipped: number }, BatchNotFound | InvalidTransition | StoreError>
  readonly removeContact: (
    batchId: string,
    contactId: string,
    updatedAt: DateTime.Utc
  ) => Effect.Effect<void, BatchNotFound | ContactNotFound | InvalidTransition | StoreError>
  readonly statusBreakdown: (batchId: string) => Effect.Effect<StatusBreakdown, StoreError>
  /** Contacts in row order, optionally of one status; `page` counts from 1. */
  readonly listContacts: (
    batchId: string,
    options: { readonly status?: ContactStatus | undefined; readonly page: number; readonly pageSize: number }
  ) => Effect.Effect<Page<Contact>, StoreError>
  readonly getContact: (batchId: string, contactId: string) => Effect.Effect<Contact | undefined, StoreError>

  /** Batches the dispatcher may have work in: pending, scheduled and running. */
  readonly activeBatches: () => Effect.Effect<ReadonlyArray<Batch>, StoreError>
  /** Takes the batch's lease if it is free or expired, with a larger epoch. */
  readonly acquireLease: (
    batchId: string,
    ownerId: string,
    now: DateTime.Utc,
    ttlMillis: number
  ) => Effect.Effect<Lease | undefined, StoreError>
  /** Extends a lease still held; `undefined` when it was lost. */
  readonly renewLease: (lease: Lease, now: DateTime.Utc, ttlMillis: number) => Effect.Effect<Lease | undefined, StoreError>
  readonly releaseLease: (lease: Lease) => Effect.Effect<void, StoreError>

  /**
   * Up to `limit` contacts that may be dialed now: pending ones in row order
   * and those whose `nextRetryAt` has come, retries first. Contacts in
   * `exclude` (being decided on by the caller) are passed over. Reads only.
   */
  readonly dialable: (
    batchId: string,
    now: DateTime.Utc,
    limit: number,
    exclude: ReadonlySet<string>
  ) => Effect.Effect<ReadonlyArray<Contact>, StoreError>
  /** The earliest `nextRetryAt` of a waiting contact, if any waits. */
  readonly nextDueAt: (batchId: string) => Effect.Effect<DateTime.Utc | undefined, StoreError>
  /**
   * Moves a waiting contact to `dialing` and records its attempt, in one
   * step, before the provider is called. `localDate` is the batch-zone day
   * counted by the daily cap.
   */
  readonly beginAttempt: (
    lease: Lease,
    attempt: {
      readonly contactId: string
      readonly attemptNumber: number
      readonly callerNumberId: string
      readonly startedAt: DateTime.Utc
      readonly localDate: string
      readonly decision: Decision | null
    }
  ) => Effect.Effect<{ readonly contact: Contact; readonly attempt: Attempt }, LeaseLost | InvalidTransition | StoreError>
  /** Records an attempt's end and the contact's new status together. */
  readonly finishAttempt: (
    lease: Lease,
    end: AttemptEnd
  ) => Effect.Effect<{ readonly contact: Contact; readonly attempt: Attempt }, LeaseLost | StoreError>
  /**
   * Undoes an attempt the provider never saw: the attempt is removed and the
   * contact waits again as it did before it.
   */
  readonly abandonAttempt: (lease: Lease, attemptId: string) => Effect.Effect<Contact, LeaseLost | StoreError>
  /** Attempts of the batch still `dialing`. */
  readonly openAttempts: (batchId: string) => Effect.Effect<ReadonlyArray<Attempt>, StoreError>
  /** Attempts begun on a batch-zone day. */
  readonly attemptsOnDay: (batchId: string, localDate: string) => Effect.Effect<number, StoreError>
  /** A policy's answer for a waiting contact: wait until `until`, or never dial (`skipped`). */
  readonly decide: (
    lease: Lease,
    contactId: string,
    decision: Decision
  ) => Effect.Effect<Contact, LeaseLost | InvalidTransition | StoreError>
  /** Every waiting contact of the batch becomes `cancelled`; returns how many. */
  readonly cancelContacts: (batchId: string, at: DateTime.Utc) => Effect.Effect<number, StoreError>
  /**
   * Re-queues the batch's contacts that ended in one of `statuses`, granting
   * each `extraAttempts` more; returns how many.
   */
  readonly requeueContacts: (
    batchId: string,
    statuses: ReadonlyArray<ContactStatus>,
    extraAttempts: number,
    at: DateTime.Utc
  ) => Effect.Effect<number, StoreError>
}>()("@outdial/core/BatchStore") {}

/**
 * A store in this process's memory: the reference implementation, for tests,
 * benches and hosts that need no durability.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<BatchStore> = Layer.sync(BatchStore)(() => memoryStore.make())
