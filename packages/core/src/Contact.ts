/**
 * A contact is one row of a batch's list and its journey through dialing:
 * the model and the contact state machine.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { CallOutcome } from "./CallOutcome.ts"
import * as StateMachine from "./internal/stateMachine.ts"

/**
 * `pending` has never been dialed; `queued` waits for a retry at
 * `nextRetryAt`; `dialing` has an attempt in flight. Every other status is
 * final: an outcome of the last attempt, `skipped` by a policy, or
 * `cancelled` with its batch.
 *
 * @since 0.1.0
 * @category models
 */
export const ContactStatus = Schema.Literals([
  "pending",
  "queued",
  "dialing",
  ...CallOutcome.literals,
  "skipped",
  "cancelled"
])
export type ContactStatus = typeof ContactStatus.Type

/**
 * @since 0.1.0
 * @category models
 */
export const statuses: ReadonlyArray<ContactStatus> = ContactStatus.literals

/**
 * @since 0.1.0
 * @category models
 */
export const ContactAction = Schema.Literals(["dial", "finish", "requeue", "skip", "cancel", "retry"])
export type ContactAction = typeof ContactAction.Type

const waiting = ["pending", "queued"] as const
const retryableFinal = ["no_answer", "busy", "timeout", "carrier_error", "failed"] as const

/**
 * The contact state machine as a table. `requeue` covers both a retryable
 * outcome with attempts left and a reconciled attempt that never reached the
 * provider; `retry` is a batch retry re-queueing a retryable failure.
 *
 * @since 0.1.0
 * @category transitions
 */
export const machine = StateMachine.make<ContactStatus, ContactAction>("contact", [
  { action: "dial", from: waiting, to: ["dialing"] },
  { action: "finish", from: ["dialing"], to: CallOutcome.literals },
  { action: "requeue", from: ["dialing"], to: ["queued"] },
  { action: "skip", from: waiting, to: ["skipped"] },
  { action: "cancel", from: [...waiting, "dialing"], to: ["cancelled"] },
  { action: "retry", from: retryableFinal, to: ["queued"] }
])

/**
 * @since 0.1.0
 * @category transitions
 */
export const transition = machine.transition

/**
 * @since 0.1.0
 * @category predicates
 */
export const isFinal = (status: ContactStatus): boolean =>
  status !== "pending" && status !== "queued" && status !== "dialing"

/**
 * Why the pre-dial policy chain last deferred or skipped a contact.
 *
 * @since 0.1.0
 * @category models
 */
export const Decision = Schema.Struct({
  kind: Schema.Literals(["dial", "defer", "skip"]),
  policy: Schema.String,
  reason: Schema.String,
  at: Schema.DateTimeUtc,
  until: Schema.optionalKey(Schema.DateTimeUtc)
})
export type Decision = typeof Decision.Type

/**
 * A contact as stored. `customFields` reach the agent as dynamic variables.
 *
 * @since 0.1.0
 * @category models
 */
export const Contact = Schema.Struct({
  id: Schema.String,
  batchId: Schema.String,
  row: Schema.Int,
  phone: Schema.String,
  name: Schema.NullOr(Schema.String),
  externalId: Schema.NullOr(Schema.String),
  customFields: Schema.Record(Schema.String, Schema.String),
  status: ContactStatus,
  attemptCount: Schema.Int,
  maxAttempts: Schema.Int,
  lastAttemptAt: Schema.NullOr(Schema.DateTimeUtc),
  nextRetryAt: Schema.NullOr(Schema.DateTimeUtc),
  completedAt: Schema.NullOr(Schema.DateTimeUtc),
  errorCode: Schema.NullOr(Schema.Int),
  failureReason: Schema.NullOr(Schema.String),
  callDuration: Schema.NullOr(Schema.Number),
  roomName: Schema.NullOr(Schema.String),
  lastDecision: Schema.NullOr(Decision)
})
export type Contact = typeof Contact.Type

/**
 * A contact as it enters a batch: waiting, never dialed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fresh = (
  ids: { readonly id: string; readonly batchId: string; readonly maxAttempts: number },
  source: {
    readonly row: number
    readonly phone: string
    readonly name: string | null
    readonly externalId: string | null
    readonly customFields: Readonly<Record<string, string>>
  }
): Contact => ({
  id: ids.id,
  batchId: ids.batchId,
  row: source.row,
  phone: source.phone,
  name: source.name,
  externalId: source.externalId,
  customFields: source.customFields,
  status: "pending",
  attemptCount: 0,
  maxAttempts: ids.maxAttempts,
  lastAttemptAt: null,
  nextRetryAt: null,
  completedAt: null,
  errorCode: null,
  failureReason: null,
  callDuration: null,
  roomName: null,
  lastDecision: null
})
