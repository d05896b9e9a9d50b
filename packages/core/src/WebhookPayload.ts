/**
 * What a webhook receiver gets: one JSON message per batch or contact
 * change, typed by a versioned `type` (`batch.completed`,
 * `contact.dialing`…), with an `id` to deduplicate on (the `webhook-id`
 * header carries the same) and, per batch and per contact, a `sequence`
 * that grows with every change, for a receiver to order what may arrive out
 * of order.
 *
 * Stores record a change as a `WebhookChange` (a snapshot taken in the
 * transaction that made the change); `toMessage` turns it into the message,
 * so both stores send the same words.
 *
 * A little over 400 lines because the message Schemas and the one mapping
 * from a change to a message are one contract with receivers, read together.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import * as Attempt from "./Attempt.ts"
import { CallOutcome } from "./CallOutcome.ts"
import type * as Contact from "./Contact.ts"

/**
 * Every event type an endpoint may subscribe to.
 *
 * @since 0.1.0
 * @category models
 */
export const EventType = Schema.Literals([
  "batch.created",
  "batch.scheduled",
  "batch.started",
  "batch.paused",
  "batch.resumed",
  "batch.completed",
  "batch.cancelled",
  "batch.failed",
  "batch.deferred",
  "contact.dialing",
  ...CallOutcome.literals.map((outcome) => `contact.${outcome}` as const),
  "contact.retry_queued",
  "contact.requeued",
  "contact.deferred",
  "contact.skipped",
  "contact.cancelled"
])
export type EventType = typeof EventType.Type

/**
 * @since 0.1.0
 * @category models
 */
export const eventTypes: ReadonlyArray<EventType> = EventType.literals

/**
 * The version of the message format; a change that could break a receiver
 * gets a new one.
 *
 * @since 0.1.0
 * @category models
 */
export const version = 1

/**
 * @since 0.1.0
 * @category schemas
 */
export const BatchEventData = Schema.Struct({
  batchId: Schema.String,
  /** Grows with every change of the batch: order a batch's messages by it. */
  sequence: Schema.Int,
  status: Schema.String,
  previousStatus: Schema.NullOr(Schema.String),
  name: Schema.NullOr(Schema.String),
  agentId: Schema.NullOr(Schema.String),
  totalContacts: Schema.NullOr(Schema.Int),
  /** `batch.deferred`: the policy holding dialing back, why, and until when (if it knows). */
  policy: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  until: Schema.NullOr(Schema.String)
})
export type BatchEventData = typeof BatchEventData.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ContactEventData = Schema.Struct({
  batchId: Schema.String,
  contactId: Schema.String,
  /** Grows with every change of the contact: order a contact's messages by it. */
  sequence: Schema.Int,
  status: Schema.String,
  previousStatus: Schema.NullOr(Schema.String),
  phone: Schema.String,
  name: Schema.NullOr(Schema.String),
  externalId: Schema.NullOr(Schema.String),
  attemptNumber: Schema.Int,
  maxAttempts: Schema.Int,
  /** The attempt that moved the contact (dialing, an outcome, a retry queued), else null. */
  attemptId: Schema.NullOr(Schema.String),
  sipCode: Schema.NullOr(Schema.Int),
  failureReason: Schema.NullOr(Schema.String),
  callDuration: Schema.NullOr(Schema.Number),
  roomName: Schema.NullOr(Schema.String),
  nextRetryAt: Schema.NullOr(Schema.String),
  completedAt: Schema.NullOr(Schema.String),
  /** A policy's decision (skip, defer): which policy, why, and until when. */
  policy: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  until: Schema.NullOr(Schema.String)
})
export type ContactEventData = typeof ContactEventData.Type

const envelope = {
  /** The message id, as in `webhook-id`: the same on every retry; deduplicate on it. */
  id: Schema.String,
  version: Schema.Literal(version),
  /** When the engine turned the change into this message (ISO 8601). */
  timestamp: Schema.String,
  organizationId: Schema.String
}

/**
 * A batch message (`batch.*`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchMessage = Schema.Struct({
  ...envelope,
  type: Schema.Literals(eventTypes.filter((type) => type.startsWith("batch."))),
  data: BatchEventData
})

/**
 * A contact message (`contact.*`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactMessage = Schema.Struct({
  ...envelope,
  type: Schema.Literals(eventTypes.filter((type) => type.startsWith("contact."))),
  data: ContactEventData
})

/**
 * Every message a webhook endpoint receives, as its JSON body.
 *
 * @since 0.1.0
 * @category schemas
 */
export const WebhookMessage = Schema.Union([BatchMessage, ContactMessage])
export type WebhookMessage = typeof WebhookMessage.Type

/**
 * A contact as a store snapshots it with a change: JSON only (times as ISO
 * text), so a database trigger can write the same.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContactSnapshot {
  readonly id: string
  readonly phone: string
  readonly name: string | null
  readonly externalId: string | null
  readonly status: string
  readonly attemptCount: number
  readonly maxAttempts: number
  readonly errorCode: number | null
  readonly failureReason: string | null
  readonly callDuration: number | null
  readonly roomName: string | null
  readonly nextRetryAt: string | null
  readonly completedAt: string | null
  readonly decision: { readonly kind: string; readonly policy: string; readonly reason: string; readonly until?: string } | null
}

/**
 * A change as a store records it, in the transaction that made it.
 *
 * @since 0.1.0
 * @category models
 */
export type WebhookChange =
  | {
    readonly kind: "batch"
    readonly organizationId: string
    readonly batchId: string
    readonly previousStatus: string | null
    readonly status: string
    readonly name: string | null
    readonly agentId: string | null
    readonly totalContacts: number | null
  }
  | {
    readonly kind: "contact"
    readonly organizationId: string
    readonly batchId: string
    readonly previousStatus: string
    readonly contact: ContactSnapshot
  }
  | {
    readonly kind: "deferred"
    readonly organizationId: string
    readonly batchId: string
    readonly policy: string
    readonly reason: string
    readonly until: string | null
  }

/**
 * A recorded change with the store's sequence number (unique in the store,
 * growing per batch and per contact in the order changes were made).
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredChange {
  readonly sequence: number
  readonly change: WebhookChange
}

const iso = (time: DateTime.Utc | null): string | null => time === null ? null : DateTime.formatIso(time)

/**
 * A contact's snapshot, as the in-memory store records it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const snapshotOf = (contact: Contact.Contact): ContactSnapshot => ({
  id: contact.id,
  phone: contact.phone,
  name: contact.name,
  externalId: contact.externalId,
  status: contact.status,
  attemptCount: contact.attemptCount,
  maxAttempts: contact.maxAttempts,
  errorCode: contact.errorCode,
  failureReason: contact.failureReason,
  callDuration: contact.callDuration,
  roomName: contact.roomName,
  nextRetryAt: iso(contact.nextRetryAt),
  completedAt: iso(contact.completedAt),
  decision: contact.lastDecision === null ? null : {
    kind: contact.lastDecision.kind,
    policy: contact.lastDecision.policy,
    reason: contact.lastDecision.reason,
    ...(contact.lastDecision.until === undefined ? {} : { until: DateTime.formatIso(contact.lastDecision.until) })
  }
})

/**
 * Whether a contact's change is worth a message: its status moved, or a
 * policy deferred it. Both stores ask this before recording.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isContactNews = (
  previous: { readonly status: string; readonly decisionKind: string | null; readonly decisionAt: unknown },
  next: { readonly status: string; readonly decisionKind: string | null; readonly decisionAt: unknown }
): boolean =>
  previous.status !== next.status ||
  (next.decisionKind === "defer" && previous.decisionAt !== next.decisionAt)

const waiting = new Set(["pending", "queued"])

const batchType = (previous: string | null, status: string): EventType | undefined => {
  if (previous === null) return "batch.created"
  if (previous === status) return undefined
  switch (status) {
    case "pending":
    case "scheduled":
      return previous === "paused" ? "batch.resumed" : "batch.scheduled"
    case "running":
      return previous === "paused" ? "batch.resumed" : "batch.started"
    case "paused":
    case "completed":
    case "cancelled":
    case "failed":
      return `batch.${status}`
    default:
      return undefined
  }
}

const contactType = (previous: string, contact: ContactSnapshot): EventType | undefined => {
  const status = contact.status
  if (status === previous) return contact.decision?.kind === "defer" ? "contact.deferred" : undefined
  if (status === "dialing") return "contact.dialing"
  if (status === "skipped") return "contact.skipped"
  if (status === "cancelled") return "contact.cancelled"
  if (status === "queued") {
    if (previous === "dialing") return "contact.retry_queued"
    if (!waiting.has(previous)) return "contact.requeued"
    return undefined
  }
  // A dial undone before the provider saw it takes the contact back to waiting: nothing happened to tell.
  if (waiting.has(status)) return undefined
  return previous === "dialing" ? `contact.${status}` as EventType : undefined
}

/**
 * The type a change is sent as; `undefined` for a change not worth a message.
 *
 * @since 0.1.0
 * @category mapping
 */
export const typeOf = (change: WebhookChange): EventType | undefined => {
  switch (change.kind) {
    case "batch":
      return batchType(change.previousStatus, change.status)
    case "contact":
      return contactType(change.previousStatus, change.contact)
    case "deferred":
      return "batch.deferred"
  }
}

/**
 * The message id of a stored change.
 *
 * @since 0.1.0
 * @category mapping
 */
export const messageIdOf = (sequence: number): string => `msg_${sequence}`

/**
 * The message a stored change is sent as, stamped `at`; `undefined` for a
 * change not worth a message.
 *
 * @since 0.1.0
 * @category mapping
 */
export const toMessage = (stored: StoredChange, at: DateTime.Utc): WebhookMessage | undefined => {
  const { change, sequence } = stored
  const type = typeOf(change)
  if (type === undefined) return undefined
  const base = {
    id: messageIdOf(sequence),
    version,
    timestamp: DateTime.formatIso(at),
    organizationId: change.organizationId
  } as const
  switch (change.kind) {
    case "batch":
    case "deferred":
      return {
        ...base,
        type: type as typeof BatchMessage.Type["type"],
        data: change.kind === "batch"
          ? {
            batchId: change.batchId,
            sequence,
            status: change.status,
            previousStatus: change.previousStatus,
            name: change.name,
            agentId: change.agentId,
            totalContacts: change.totalContacts,
            policy: null,
            reason: null,
            until: null
          }
          : {
            batchId: change.batchId,
            sequence,
            status: "deferred",
            previousStatus: null,
            name: null,
            agentId: null,
            totalContacts: null,
            policy: change.policy,
            reason: change.reason,
            until: change.until
          }
      }
    case "contact": {
      const contact = change.contact
      const byAttempt = contact.status === "dialing" || change.previousStatus === "dialing"
      const decided = type === "contact.skipped" || type === "contact.deferred"
      return {
        ...base,
        type: type as typeof ContactMessage.Type["type"],
        data: {
          batchId: change.batchId,
          contactId: contact.id,
          sequence,
          status: contact.status,
          previousStatus: change.previousStatus,
          phone: contact.phone,
          name: contact.name,
          externalId: contact.externalId,
          attemptNumber: contact.attemptCount,
          maxAttempts: contact.maxAttempts,
          attemptId: byAttempt && contact.attemptCount > 0
            ? Attempt.makeId(change.batchId, contact.id, contact.attemptCount)
            : null,
          sipCode: contact.errorCode,
          failureReason: contact.failureReason,
          callDuration: contact.callDuration,
          roomName: contact.roomName,
          nextRetryAt: normalizeTime(contact.nextRetryAt),
          completedAt: normalizeTime(contact.completedAt),
          policy: decided ? contact.decision?.policy ?? null : null,
          reason: decided ? contact.decision?.reason ?? null : null,
          until: decided ? normalizeTime(contact.decision?.until ?? null) : null
        }
      }
    }
  }
}

/** Times as ISO 8601 in UTC, whichever way the store wrote them (a database writes its own format). */
const normalizeTime = (time: string | null): string | null => {
  if (time === null) return null
  const millis = Date.parse(time)
  return Number.isNaN(millis) ? time : new Date(millis).toISOString()
}
