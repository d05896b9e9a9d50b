/**
 * A contact is one row of a batch's list and its journey through dialing:
 * the model and the contact state machine.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { CallOutcome } from "./CallOutcome.ts"
import * as CustomFieldSchemas from "./internal/customFields.ts"
import * as StateMachine from "./internal/stateMachine.ts"
import { InvalidTransition } from "./OutdialError.ts"

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
 * Whether a contact in `status` waits to be dialed (pending or queued): the
 * statuses the machine dials from.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isWaiting = (status: ContactStatus): boolean => (waiting as ReadonlyArray<ContactStatus>).includes(status)

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
 * One custom field's value. A file's cells are text; JSON contacts keep the
 * JSON type they were sent with (a number stays a number), so a host reads
 * back what it wrote. Objects and arrays are refused at import: an agent's
 * dynamic variable is one flat value.
 *
 * @since 0.1.0
 * @category models
 */
export const CustomFieldValue = CustomFieldSchemas.CustomFieldValue
export type CustomFieldValue = typeof CustomFieldValue.Type

/**
 * @since 0.1.0
 * @category models
 */
export const CustomFields = CustomFieldSchemas.CustomFields
export type CustomFields = typeof CustomFields.Type

/**
 * A contact's custom fields as the agent's dynamic variables, which are
 * text: numbers and booleans written as JSON writes them, nulls left out
 * (no value to give).
 *
 * @since 0.1.0
 * @category models
 */
export const dynamicVariablesOf = (fields: CustomFields): Record<string, string> => {
  const variables: Record<string, string> = {}
  // Own keys without an array of them: made for every call placed.
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue
    const value = fields[key]
    if (value !== null && value !== undefined) variables[key] = typeof value === "string" ? value : String(value)
  }
  return variables
}

/**
 * A contact as stored. `customFields` reach the agent as dynamic variables.
 * `numberValidated` is false for a number kept as written under
 * `ignoreE164Validation` (the host took responsibility for it): it is
 * dialed as given.
 *
 * @since 0.1.0
 * @category models
 */
export const Contact = Schema.Struct({
  id: Schema.String,
  batchId: Schema.String,
  row: Schema.Int,
  phone: Schema.String,
  numberValidated: Schema.Boolean,
  name: Schema.NullOr(Schema.String),
  externalId: Schema.NullOr(Schema.String),
  customFields: CustomFields,
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
    readonly numberValidated: boolean
    readonly name: string | null
    readonly externalId: string | null
    readonly customFields: CustomFields
  }
): Contact => ({
  id: ids.id,
  batchId: ids.batchId,
  row: source.row,
  phone: source.phone,
  numberValidated: source.numberValidated,
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

/**
 * What calls and decisions change of a contact: everything but who it is.
 *
 * @since 0.1.0
 * @category models
 */
export type ContactState = Pick<
  Contact,
  | "status"
  | "attemptCount"
  | "maxAttempts"
  | "lastAttemptAt"
  | "nextRetryAt"
  | "completedAt"
  | "errorCode"
  | "failureReason"
  | "callDuration"
  | "roomName"
  | "lastDecision"
>

/**
 * `contact` in a new `state`, built field by field in the one shape of
 * `fresh`: a store writes one or two per dial, and a spread copy cost two to
 * three times as much.
 *
 * @since 0.1.0
 * @category constructors
 */
export const withState = (contact: Contact, state: ContactState): Contact => ({
  id: contact.id,
  batchId: contact.batchId,
  row: contact.row,
  phone: contact.phone,
  numberValidated: contact.numberValidated,
  name: contact.name,
  externalId: contact.externalId,
  customFields: contact.customFields,
  status: state.status,
  attemptCount: state.attemptCount,
  maxAttempts: state.maxAttempts,
  lastAttemptAt: state.lastAttemptAt,
  nextRetryAt: state.nextRetryAt,
  completedAt: state.completedAt,
  errorCode: state.errorCode,
  failureReason: state.failureReason,
  callDuration: state.callDuration,
  roomName: state.roomName,
  lastDecision: state.lastDecision
})

/**
 * What a store answers for a write to a contact removed from its batch
 * meanwhile (the dispatcher read it waiting, then a host removed it): the
 * contact is not there to move, which the dispatcher passes over.
 *
 * @since 0.1.0
 * @category errors
 */
export const removed = (action: string): InvalidTransition =>
  new InvalidTransition({ entity: "contact", action, from: "removed", reason: "it was removed from its batch" })

/**
 * @since 0.1.0
 * @category predicates
 */
export const isRemoved = (error: InvalidTransition): boolean => error.entity === "contact" && error.from === "removed"

/**
 * Why a contact cannot be removed from its batch: only one not yet dialed
 * can; a call in flight stays with its dispatcher, a dialed one keeps its
 * history.
 *
 * @since 0.1.0
 * @category errors
 */
export const notRemovable = (status: ContactStatus): InvalidTransition =>
  new InvalidTransition({
    entity: "contact",
    action: "remove",
    from: status,
    reason: status === "dialing" ? "its call is in flight" : "it has been dialed already"
  })

/**
 * A batch move (the dispatcher's `complete`) refused because contacts were
 * added since it counted them.
 *
 * @since 0.1.0
 * @category errors
 */
export const contactsLeft = (action: string, from: string): InvalidTransition =>
  new InvalidTransition({ entity: "batch", action, from, reason: "contacts are left to call" })
