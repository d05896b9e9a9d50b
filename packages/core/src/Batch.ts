/**
 * A batch is one outreach run over a list of contacts: its settings, its
 * lifecycle as a state machine, and the requests that create and edit it.
 *
 * Longer than ~400 lines because each setting's stored field, request
 * field, default and copy onto a batch sit in this one file, so a setting
 * (the eligibility options, say) is added here alone.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Blackout from "./Blackout.ts"
import * as CallLimits from "./CallLimits.ts"
import * as CallingWindow from "./CallingWindow.ts"
import * as StateMachine from "./internal/stateMachine.ts"
import * as RecipientHours from "./RecipientHours.ts"
import * as RetryPolicyModel from "./RetryPolicy.ts"
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
  "fail",
  ...["add contacts to", "remove contacts from"] as const
])
export type BatchAction = typeof BatchAction.Type

const live = ["draft", "pending", "scheduled", "running", "paused"] as const

// Recipients change while the batch may still call them: each status stays as it is.
const keepingStatus = (action: BatchAction) => live.map((status) => ({ action, from: [status], to: [status] }))

/**
 * The batch lifecycle as a table. `resume` returns a batch to where it would
 * be had it never paused: running if it had started, otherwise waiting for
 * its start. `retry` runs a finished batch again over its retryable failures
 * (and, for a cancelled one, the contacts the cancel ended). Contacts change
 * while the batch is live (a running one dials those added), never once final.
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
  { action: "retry", from: ["completed", "cancelled", "failed"], to: ["running"] },
  { action: "cancel", from: live, to: ["cancelled"] },
  { action: "fail", from: live, to: ["failed"] },
  ...keepingStatus("add contacts to"),
  ...keepingStatus("remove contacts from")
])

/**
 * @since 0.1.0
 * @category transitions
 */
export const transition = machine.transition

/**
 * The statuses `action` may leave, from the machine: what a store write of
 * that action expects the batch to be in.
 *
 * @since 0.1.0
 * @category transitions
 */
export const sourcesOf = (action: BatchAction): ReadonlyArray<BatchStatus> =>
  machine.edges.filter((edge) => edge.action === action).flatMap((edge) => edge.from)

/**
 * The statuses in which the dispatcher has work: a batch waiting to start or
 * running. Stores list these as active batches.
 *
 * @since 0.1.0
 * @category transitions
 */
export const dispatchable: ReadonlyArray<BatchStatus> = [...new Set([...sourcesOf("start"), ...sourcesOf("complete")])]

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
  /** Attempts per number across the organization's batches (`FrequencyCap.ts`); absent in batches stored before it. */
  frequencyCap: Schema.optionalKey(Schema.NullOr(CallLimits.FrequencyCap)),
  /** Calls each caller number may start per second (carriers' CPS). */
  maxCallsPerSecondPerNumber: Schema.optionalKey(Schema.NullOr(Schema.Int)),
  scheduledStartTime: Schema.NullOr(Schema.DateTimeUtc),
  actualStartTime: Schema.NullOr(Schema.DateTimeUtc),
  completedAt: Schema.NullOr(Schema.DateTimeUtc),
  estimatedCompletionTime: Schema.NullOr(Schema.DateTimeUtc),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc,
  totalContacts: Schema.Int,
  estimatedDuration: Schema.String,
  estimatedCost: Schema.String,
  // Eligibility options added after the first release: a batch stored without them has none.
  recipientLocalHours: Schema.NullOr(RecipientHours.Hours).pipe(Schema.withDecodingDefaultKey(Effect.succeed(null))),
  blackoutDates: Schema.Array(Schema.String).pipe(Schema.withDecodingDefaultKey(Effect.succeed([]))),
  holidays: Schema.NullOr(Blackout.HolidayCalendar).pipe(Schema.withDecodingDefaultKey(Effect.succeed(null))),
  /** The deadline the batch was checked against at creation (feasibility). */
  completeBy: Schema.NullOr(Schema.DateTimeUtc).pipe(Schema.withDecodingDefaultKey(Effect.succeed(null)))
})
export type Batch = typeof Batch.Type

// Trimmed first, so a name of spaces is no name.
const Name = Schema.Trim.check(Schema.isMinLength(1), Schema.isMaxLength(200))
const Description = Schema.NullOr(Schema.String.check(Schema.isMaxLength(1000)))
const Id = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200))
const Country = Schema.String.check(Schema.isPattern(/^[A-Za-z]{2}$/))
// An offset or `Z` makes an instant; without one the time is read in the batch's `timezone`.
const LocalOrInstant = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$/i)
)
const localStart = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/i

/**
 * The instant of a `scheduledStartTime`: with an offset or `Z` as written,
 * without one as wall-clock time in `timeZone`; `None` when it is none.
 * It sits beside the Schema pattern that admits both forms.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseStartTime = (value: string, timeZone: string): Option.Option<DateTime.Utc> => {
  const local = localStart.exec(value.trim())
  if (local === null) {
    const millis = Date.parse(value)
    return Number.isNaN(millis) ? Option.none() : Option.some(DateTime.makeUnsafe(millis))
  }
  const [, y, mo, d, h, mi, s, frac] = local
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), Number((frac ?? "0").padEnd(3, "0").slice(0, 3)))
  return Option.map(DateTime.makeZoned(wall, { timeZone, adjustForTimeZone: true }), DateTime.toUtc)
}

const Header = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200))

/**
 * Which column of a contact file holds the phone, the name, the external id
 * and the ignore flag, by header (case and surrounding spaces aside); the
 * rest are detected by their names.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ColumnMapping = Schema.Struct({
  phone: Schema.optionalKey(Header),
  name: Schema.optionalKey(Header),
  externalId: Schema.optionalKey(Header),
  ignoreE164Validation: Schema.optionalKey(Header)
})
export type ColumnMapping = typeof ColumnMapping.Type

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
  // Empty means as absent: the agent's numbers.
  phoneNumberIds: Schema.optionalKey(Schema.Array(Id).check(Schema.isMaxLength(100))),
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
  maxCallsPerDay: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 })))),
  /** Hours in the recipient's time zone(s), e.g. TCPA's 08:00–21:00. */
  recipientLocalHours: Schema.optionalKey(Schema.NullOr(RecipientHours.Hours)),
  /** Days without calls, `YYYY-MM-DD` in the batch zone. */
  blackoutDates: Schema.optionalKey(Blackout.BlackoutDates),
  holidays: Schema.optionalKey(Schema.NullOr(Blackout.HolidayCalendar)),
  /** A deadline: the create reports whether the batch can finish by then. */
  completeBy: Schema.optionalKey(Schema.NullOr(LocalOrInstant)),
  frequencyCap: Schema.optionalKey(Schema.NullOr(CallLimits.FrequencyCap)),
  maxCallsPerSecondPerNumber: Schema.optionalKey(Schema.NullOr(CallLimits.CallsPerSecond))
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
  contacts: Schema.optionalKey(Schema.Array(Schema.Record(Schema.String, Schema.Unknown))),
  columnMapping: Schema.optionalKey(ColumnMapping),
  /** Refuse the whole create when any row is rejected; the host's default unless given. */
  strictValidation: Schema.optionalKey(Schema.Boolean),
  /** Refuse the create (422) when it cannot finish by `completeBy`; the host's default unless given. */
  refuseInfeasible: Schema.optionalKey(Schema.Boolean)
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

/**
 * The settings of a batch: what a create sets and a draft update changes.
 *
 * @since 0.1.0
 * @category settings
 */
export type Settings = Pick<
  Batch,
  | "name"
  | "description"
  | "agentId"
  | "phoneNumberIds"
  | "phoneRotationStrategy"
  | "concurrentCallLimit"
  | "retryPolicy"
  | "defaultCountry"
  | "timezone"
  | "callingWindows"
  | "workingDays"
  | "maxCallsPerDay"
  | "frequencyCap"
  | "maxCallsPerSecondPerNumber"
  | "scheduledStartTime"
  | "recipientLocalHours"
  | "blackoutDates"
  | "holidays"
  | "completeBy"
>

/**
 * The settings a request cannot give by itself: dialing checked against the
 * directory, the retry policy and scheduling validated, the start time read
 * in the batch's zone. Only those present are applied.
 *
 * @since 0.1.0
 * @category settings
 */
export type Resolved = Partial<Pick<Settings, ResolvedKey>>
type ResolvedKey = "agentId" | "phoneNumberIds" | "retryPolicy" | "timezone" | "callingWindows" | "workingDays" |
  "scheduledStartTime" | "recipientLocalHours" | "holidays" | "completeBy"

/**
 * The spec's defaults, which a create starts from.
 *
 * @since 0.1.0
 * @category settings
 */
export const defaultSettings: Settings = {
  name: "",
  description: null,
  agentId: "",
  phoneNumberIds: [],
  phoneRotationStrategy: "random",
  concurrentCallLimit: 5,
  retryPolicy: RetryPolicyModel.defaults,
  defaultCountry: null,
  timezone: "UTC",
  callingWindows: [],
  workingDays: CallingWindow.allDays,
  maxCallsPerDay: null,
  scheduledStartTime: null,
  recipientLocalHours: null,
  blackoutDates: [],
  holidays: null,
  completeBy: null,
  frequencyCap: null,
  maxCallsPerSecondPerNumber: null
}

/**
 * The settings of `base` with those a request gives: the plain ones taken
 * from `input`, the others from `resolved`. The one place a setting is
 * copied from a request onto a batch, for a create and a draft update alike.
 *
 * @since 0.1.0
 * @category settings
 */
export const applySettings = (base: Settings, input: BatchSettingsInput, resolved: Resolved): Settings => {
  const settings: { -readonly [K in keyof Settings]: Settings[K] } = { ...base }
  if (input.name !== undefined) settings.name = input.name
  if (input.description !== undefined) settings.description = input.description
  if (input.phoneRotationStrategy !== undefined) settings.phoneRotationStrategy = input.phoneRotationStrategy
  if (input.concurrentCallLimit !== undefined) settings.concurrentCallLimit = input.concurrentCallLimit
  if (input.defaultCountry !== undefined) settings.defaultCountry = input.defaultCountry?.toUpperCase() ?? null
  if (input.maxCallsPerDay !== undefined) settings.maxCallsPerDay = input.maxCallsPerDay
  if (input.blackoutDates !== undefined) settings.blackoutDates = [...new Set(input.blackoutDates)].sort()
  if (input.frequencyCap !== undefined) settings.frequencyCap = input.frequencyCap
  if (input.maxCallsPerSecondPerNumber !== undefined) settings.maxCallsPerSecondPerNumber = input.maxCallsPerSecondPerNumber
  for (const key of Object.keys(resolved) as Array<keyof Resolved>) {
    if (resolved[key] !== undefined) Object.assign(settings, { [key]: resolved[key] })
  }
  return settings
}

/**
 * The settings of a stored batch.
 *
 * @since 0.1.0
 * @category settings
 */
export const settingsOf = (batch: Batch): Settings =>
  Object.fromEntries(settingKeys.map((key) => [key, batch[key]])) as unknown as Settings

const settingKeys = Object.keys(defaultSettings) as ReadonlyArray<keyof Settings>

/**
 * A new batch: the one place its record is spelled out.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly id: string
  readonly organizationId: string
  readonly status: BatchStatus
  readonly settings: Settings
  readonly totalContacts: number
  readonly estimate: { readonly estimatedDuration: string; readonly estimatedCost: string }
  readonly at: DateTime.Utc
}): Batch => ({
  id: options.id,
  organizationId: options.organizationId,
  ...options.settings,
  status: options.status,
  statusReason: null,
  actualStartTime: null,
  completedAt: null,
  estimatedCompletionTime: null,
  createdAt: options.at,
  updatedAt: options.at,
  totalContacts: options.totalContacts,
  estimatedDuration: options.estimate.estimatedDuration,
  estimatedCost: options.estimate.estimatedCost
})
