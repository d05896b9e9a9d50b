/**
 * A batch is one outreach run over a list of contacts: its settings, its
 * lifecycle as a state machine, and the requests that create and edit it.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as CallingWindow from "./CallingWindow.ts"
import * as StateMachine from "./internal/stateMachine.ts"
import { RetryDelayInput, RetryPolicy } from "./RetryPolicy.ts"

/**
 * `draft` is editable; `pending` starts as soon as possible and `scheduled`
 * at its start time; `running` has contacts left (outside its calling window
 * too: calls are deferred, never skipped); `completed`, `cancelled` and
 * `failed` are final.
 *
 * @since 0.1.0
 * @category models
 */
export const BatchStatus = Schema.Literals([
  "draft",
  "pending",
  "scheduled",
  "running",
  "paused",
  "completed",
  "cancelled",
  "failed"
])
export type BatchStatus = typeof BatchStatus.Type

/**
 * @since 0.1.0
 * @category models
 */
export const statuses: ReadonlyArray<BatchStatus> = BatchStatus.literals

/**
 * @since 0.1.0
 * @category models
 */
export const BatchAction = Schema.Literals([
  "update",
  "schedule",
  "start",
  "pause",
  "resume",
  "complete",
  "retry",
  "cancel",
  "fail"
])
export type BatchAction = typeof BatchAction.Type

const live = ["draft", "pending", "scheduled", "running", "paused"] as const

/**
 * The batch lifecycle as a table. `resume` returns a batch to where it would
 * be had it never paused: running if it had started, otherwise waiting for
 * its start. `retry` runs a completed batch again over its retryable failures.
 *
 * @since 0.1.0
 * @category transitions
 */
export const machine = StateMachine.make<BatchStatus, BatchAction>("batch", [
  { action: "update", from: ["draft"], to: ["draft"] },
  { action: "schedule", from: ["draft"], to: ["pending", "scheduled"] },
  { action: "start", from: ["pending", "scheduled"], to: ["running"] },
  { action: "pause", from: ["pending", "scheduled", "running"], to: ["paused"] },
  { action: "resume", from: ["paused"], to: ["pending", "scheduled", "running"] },
  { action: "complete", from: ["running"], to: ["completed"] },
  { action: "retry", from: ["completed"], to: ["running"] },
  { action: "cancel", from: live, to: ["cancelled"] },
  { action: "fail", from: live, to: ["failed"] }
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
export const isFinal = (status: BatchStatus): boolean =>
  status === "completed" || status === "cancelled" || status === "failed"

/**
 * A running batch has calls in flight; it must be cancelled before it can be
 * deleted.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isDeletable = (status: BatchStatus): boolean => status !== "running"

/**
 * @since 0.1.0
 * @category models
 */
export const PhoneRotationStrategy = Schema.Literals(["random", "sequential", "round_robin"])
export type PhoneRotationStrategy = typeof PhoneRotationStrategy.Type

/**
 * @since 0.1.0
 * @category models
 */
export const phoneRotationStrategies: ReadonlyArray<PhoneRotationStrategy> = PhoneRotationStrategy.literals

/**
 * A batch as stored.
 *
 * @since 0.1.0
 * @category models
 */
export const Batch = Schema.Struct({
  id: Schema.String,
  organizationId: Schema.String,
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  agentId: Schema.String,
  phoneNumberIds: Schema.Array(Schema.String),
  phoneRotationStrategy: PhoneRotationStrategy,
  status: BatchStatus,
  /** Why the batch failed or was paused by the engine (e.g. out of credits). */
  statusReason: Schema.NullOr(Schema.String),
  concurrentCallLimit: Schema.Int,
  retryPolicy: RetryPolicy,
  defaultCountry: Schema.NullOr(Schema.String),
  timezone: Schema.String,
  callingWindows: Schema.Array(CallingWindow.Window),
  workingDays: Schema.Array(Schema.Int),
  maxCallsPerDay: Schema.NullOr(Schema.Int),
  scheduledStartTime: Schema.NullOr(Schema.DateTimeUtc),
  actualStartTime: Schema.NullOr(Schema.DateTimeUtc),
  completedAt: Schema.NullOr(Schema.DateTimeUtc),
  estimatedCompletionTime: Schema.NullOr(Schema.DateTimeUtc),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc,
  totalContacts: Schema.Int,
  estimatedDuration: Schema.String,
  estimatedCost: Schema.String
})
export type Batch = typeof Batch.Type

const Name = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200))
const Description = Schema.NullOr(Schema.String.check(Schema.isMaxLength(1000)))
const Id = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200))
const Country = Schema.String.check(Schema.isPattern(/^[A-Za-z]{2}$/))
// An offset or `Z` makes an instant; without one the time is read in the batch's `timezone`.
const LocalOrInstant = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$/i)
)

/**
 * Settings shared by a create and a draft update; every one is optional and
 * falls back to the spec's default at creation.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchSettingsInput = Schema.Struct({
  name: Schema.optionalKey(Name),
  description: Schema.optionalKey(Description),
  agentId: Schema.optionalKey(Id),
  fromPhoneNumberId: Schema.optionalKey(Id),
  phoneNumberIds: Schema.optionalKey(Schema.NonEmptyArray(Id).check(Schema.isMaxLength(100))),
  phoneRotationStrategy: Schema.optionalKey(PhoneRotationStrategy),
  concurrentCallLimit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 }))),
  maxAttempts: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10 }))),
  retryDelay: Schema.optionalKey(RetryDelayInput),
  defaultCountry: Schema.optionalKey(Schema.NullOr(Country)),
  scheduledStartTime: Schema.optionalKey(Schema.NullOr(LocalOrInstant)),
  timezone: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(64))),
  callingWindow: Schema.optionalKey(Schema.NullOr(CallingWindow.Window)),
  callingWindows: Schema.optionalKey(CallingWindow.Windows),
  workingDays: Schema.optionalKey(CallingWindow.WorkingDays),
  maxCallsPerDay: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 }))))
})
export type BatchSettingsInput = typeof BatchSettingsInput.Type

/**
 * A create request. Contacts come as JSON rows here, or as a file beside it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CreateBatchInput = Schema.Struct({
  ...BatchSettingsInput.fields,
  name: Name,
  draft: Schema.optionalKey(Schema.Boolean),
  dropDuplicates: Schema.optionalKey(Schema.Boolean),
  contacts: Schema.optionalKey(Schema.Array(Schema.Record(Schema.String, Schema.Unknown)))
})
export type CreateBatchInput = typeof CreateBatchInput.Type

/**
 * An edit of a draft.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UpdateBatchInput = BatchSettingsInput
export type UpdateBatchInput = typeof UpdateBatchInput.Type
