/**
 * What a client reads of batches and contacts, as Schemas: the engine builds
 * its answers with the mappers below, the SSE stream sends the same shapes,
 * and the OpenAPI document derives its components from these Schemas, so a
 * field added here appears in every one of them. Instants are ISO 8601 UTC
 * strings.
 *
 * Just over ~400 lines because each Schema sits beside its mapper, so a
 * field is added in one file.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import * as Batch from "./Batch.ts"
import * as Blackout from "./Blackout.ts"
import type { NewContact as StoredNewContact, StatusBreakdown as StoredStatusBreakdown } from "./BatchStore.ts"
import * as CallLimits from "./CallLimits.ts"
import * as CallingWindow from "./CallingWindow.ts"
import * as CallOutcome from "./CallOutcome.ts"
import * as Contact from "./Contact.ts"
import type * as ContactImport from "./ContactImport.ts"
import { Feasibility } from "./Feasibility.ts"
import { RowError, RowErrorGroup } from "./OutdialError.ts"
import * as RecipientHours from "./RecipientHours.ts"

const Instant = Schema.String.annotate({ description: "ISO 8601, UTC" })
const NullableInstant = Schema.NullOr(Instant)
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * A phone number and the rows it appeared on more than once.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Duplicate = Schema.Struct({ phone: Schema.String, rows: Schema.Array(Schema.Int) })

/**
 * What a client sees of a validation: the rows kept, the rows refused with
 * why, grouped by reason, and duplicate numbers.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ValidationSummary = Schema.Struct({
  /** Contacts stored (after a create or an add), or that a create would store (a validation). */
  totalContacts: Count,
  /** Data rows received, blank rows left out. */
  rowsReceived: Count,
  acceptedContacts: Count,
  rejectedContacts: Count,
  rejected: Schema.Array(RowError),
  errorGroups: Schema.Array(RowErrorGroup),
  duplicates: Schema.Array(Duplicate),
  /** Numbers on the organization's do-not-call list, with their rows: kept, but never dialed. */
  doNotCall: Schema.Array(Duplicate),
  /** The custom columns found: the variables each contact carries to the agent. */
  variables: Schema.Array(Schema.String)
})
export type ValidationSummary = typeof ValidationSummary.Type

/**
 * A contact as the import accepted it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NewContact = Schema.Struct({
  row: Schema.Int,
  phone: Schema.String,
  /** False for a number kept as written under `ignoreE164Validation`, dialed as given. */
  numberValidated: Schema.Boolean,
  name: Schema.NullOr(Schema.String),
  externalId: Schema.NullOr(Schema.String),
  /** Text from a file; JSON contacts keep their JSON types (string, number, boolean, null). */
  customFields: Contact.CustomFields
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ValidationReport = Schema.Struct({
  ...ValidationSummary.fields,
  /** When the body gave a `completeBy`: whether a batch of these contacts would fit. */
  feasibility: Schema.optionalKey(Feasibility),
  accepted: Schema.Array(NewContact)
})
export type ValidationReport = ValidationSummary & {
  readonly feasibility?: Feasibility
  readonly accepted: ReadonlyArray<StoredNewContact>
}

/**
 * The answer to a create.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CreateBatchResponse = Schema.Struct({
  ...ValidationSummary.fields,
  batchJobId: Schema.String,
  status: Batch.BatchStatus,
  estimatedDuration: Schema.String,
  estimatedCost: Schema.String,
  scheduledStartTime: NullableInstant,
  /** Whether the batch fits before its `completeBy`, and its estimated finish under every policy. */
  feasibility: Feasibility,
  message: Schema.String
})
export type CreateBatchResponse = typeof CreateBatchResponse.Type

/**
 * The answer to adding contacts to a live batch.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AddContactsResponse = Schema.Struct({
  ...ValidationSummary.fields,
  added: Count,
  /** Accepted rows not stored: a repeated `externalId`, or (with `dropDuplicates`) a number the batch holds. */
  skipped: Count,
  totalContacts: Count,
  /** Numbers the batch held before this request, with the rows of the request repeating them. */
  alreadyInBatch: Schema.Array(Duplicate)
})
export type AddContactsResponse = typeof AddContactsResponse.Type

/**
 * Count of contacts in each status.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StatusBreakdown = Schema.Struct(
  Object.fromEntries(Contact.statuses.map((status) => [status, Count])) as {
    readonly [S in Contact.ContactStatus]: typeof Count
  }
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const Progress = Schema.Struct({
  totalContacts: Count,
  /** Contacts in a final status. */
  contactsProcessed: Count,
  successfulCalls: Count,
  failedCalls: Count,
  statusBreakdown: StatusBreakdown
})
export type Progress = typeof Progress.Type

/**
 * A batch as a client reads it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchSummary = Schema.Struct({
  batchJobId: Schema.String,
  organizationId: Schema.String,
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  status: Batch.BatchStatus,
  statusReason: Schema.NullOr(Schema.String),
  agentId: Schema.String,
  phoneNumberIds: Schema.Array(Schema.String),
  phoneRotationStrategy: Batch.PhoneRotationStrategy,
  totalContacts: Count,
  concurrentCallLimit: Schema.Int,
  maxCallsPerDay: Schema.NullOr(Schema.Int),
  frequencyCap: Schema.NullOr(CallLimits.FrequencyCap),
  maxCallsPerSecondPerNumber: Schema.NullOr(Schema.Int),
  defaultCountry: Schema.NullOr(Schema.String),
  timezone: Schema.String,
  callingWindows: Schema.Array(CallingWindow.Window),
  workingDays: Schema.Array(Schema.Int),
  retryPolicy: Schema.Struct({
    maxAttempts: Schema.Int,
    retryableOutcomes: Schema.Array(CallOutcome.CallOutcome),
    /** Seconds before each retry; the last repeats. */
    retryDelaySeconds: Schema.Array(Schema.Finite),
    retryDelayByOutcome: Schema.Record(Schema.String, Schema.Finite)
  }),
  estimatedDuration: Schema.String,
  estimatedCost: Schema.String,
  scheduledStartTime: NullableInstant,
  recipientLocalHours: Schema.NullOr(RecipientHours.Hours),
  blackoutDates: Schema.Array(Schema.String),
  holidays: Schema.NullOr(Blackout.HolidayCalendar),
  completeBy: NullableInstant,
  timing: Schema.Struct({
    scheduledStartTime: NullableInstant,
    actualStartTime: NullableInstant,
    completedAt: NullableInstant,
    estimatedCompletionTime: NullableInstant,
    createdAt: Instant
  })
})
export type BatchSummary = typeof BatchSummary.Type

/**
 * The answer to a retry: the batch and how many contacts were re-queued.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RetryResponse = Schema.Struct({ ...BatchSummary.fields, requeued: Count })
export type RetryResponse = typeof RetryResponse.Type

/**
 * Why a contact was last dialed, deferred or skipped.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DecisionView = Schema.Struct({
  kind: Schema.Literals(["dial", "defer", "skip"]),
  policy: Schema.String,
  reason: Schema.String,
  at: Instant,
  until: NullableInstant
})

/**
 * A contact as a client reads it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactView = Schema.Struct({
  contactId: Schema.String,
  row: Schema.Int,
  phoneNumber: Schema.String,
  /** False for a number kept as written under `ignoreE164Validation`, dialed as given. */
  numberValidated: Schema.Boolean,
  name: Schema.NullOr(Schema.String),
  externalId: Schema.NullOr(Schema.String),
  /** Text from a file; JSON contacts keep their JSON types (string, number, boolean, null). */
  customFields: Contact.CustomFields,
  status: Contact.ContactStatus,
  attemptCount: Count,
  maxAttempts: Count,
  lastAttemptAt: NullableInstant,
  nextRetryAt: NullableInstant,
  nextEligibleAt: NullableInstant.annotate({
    description: "When a waiting contact will next be dialed, every policy applied (windows, recipient hours, blackouts, " +
      "a requested callback); null when it is due as soon as its batch dials, or it no longer waits."
  }),
  completedAt: NullableInstant,
  errorCode: Schema.NullOr(Schema.Int),
  failureReason: Schema.NullOr(Schema.String),
  callDuration: Schema.NullOr(Schema.Finite),
  roomName: Schema.NullOr(Schema.String),
  lastDecision: Schema.NullOr(DecisionView)
})
export type ContactView = typeof ContactView.Type

/**
 * A batch with progress and a page of its contacts.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchDetails = Schema.Struct({
  ...BatchSummary.fields,
  progress: Progress,
  contacts: Schema.Array(ContactView),
  contactsPage: Schema.Int.annotate({ description: "The page read; 0 when it was read by `contactsCursor`." }),
  contactsPageSize: Schema.Int,
  contactsTotal: Count,
  contactsHasMore: Schema.Boolean,
  contactsNextCursor: Schema.NullOr(Schema.String).annotate({
    description: "Pass as `contactsCursor` (with the same `contactStatus`) for the next page; null on the last one."
  })
})
export type BatchDetails = typeof BatchDetails.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const BatchList = Schema.Struct({
  batches: Schema.Array(BatchSummary),
  pagination: Schema.Struct({
    total: Count,
    limit: Schema.Int,
    offset: Schema.Int,
    hasMore: Schema.Boolean
  })
})
export type BatchList = typeof BatchList.Type

/**
 * The SSE `progress` event.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProgressEvent = Schema.Struct({
  batchJobId: Schema.String,
  status: Batch.BatchStatus,
  statusReason: Schema.NullOr(Schema.String),
  progress: Progress,
  estimatedCompletionTime: NullableInstant
})
export type ProgressEvent = typeof ProgressEvent.Type

/**
 * The SSE `batch` event: the batch as it now is.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchEvent = Schema.Struct({ ...BatchSummary.fields, at: Instant })

/**
 * The SSE `contact` event: the contact as it now is, with its attempt.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactEvent = Schema.Struct({ ...ContactView.fields, attemptId: Schema.NullOr(Schema.String), at: Instant })

/**
 * The SSE `deferred` event: a batch-wide policy holds every contact back.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeferredEvent = Schema.Struct({
  policy: Schema.String,
  reason: Schema.String,
  until: NullableInstant,
  at: Instant
})

const iso = (dateTime: DateTime.Utc | null): string | null => (dateTime === null ? null : DateTime.formatIso(dateTime))

const finalFailures: ReadonlyArray<Contact.ContactStatus> = CallOutcome.all.filter((outcome) => outcome !== "completed")

/**
 * @since 0.1.0
 * @category mappers
 */
export const progressOf = (totalContacts: number, breakdown: StoredStatusBreakdown): Progress => ({
  totalContacts,
  contactsProcessed: Contact.statuses.reduce((sum, s) => (Contact.isFinal(s) ? sum + breakdown[s] : sum), 0),
  successfulCalls: breakdown.completed,
  failedCalls: finalFailures.reduce((sum, s) => sum + breakdown[s], 0),
  statusBreakdown: breakdown
})

/**
 * @since 0.1.0
 * @category mappers
 */
export const summaryOf = (batch: Batch.Batch): BatchSummary => ({
  batchJobId: batch.id,
  organizationId: batch.organizationId,
  name: batch.name,
  description: batch.description,
  status: batch.status,
  statusReason: batch.statusReason,
  agentId: batch.agentId,
  phoneNumberIds: batch.phoneNumberIds,
  phoneRotationStrategy: batch.phoneRotationStrategy,
  totalContacts: batch.totalContacts,
  concurrentCallLimit: batch.concurrentCallLimit,
  maxCallsPerDay: batch.maxCallsPerDay,
  frequencyCap: batch.frequencyCap ?? null,
  maxCallsPerSecondPerNumber: batch.maxCallsPerSecondPerNumber ?? null,
  defaultCountry: batch.defaultCountry,
  timezone: batch.timezone,
  callingWindows: batch.callingWindows,
  workingDays: batch.workingDays,
  retryPolicy: {
    maxAttempts: batch.retryPolicy.maxAttempts,
    retryableOutcomes: batch.retryPolicy.retryableOutcomes,
    retryDelaySeconds: batch.retryPolicy.delaySeconds,
    retryDelayByOutcome: batch.retryPolicy.delayByOutcome
  },
  estimatedDuration: batch.estimatedDuration,
  estimatedCost: batch.estimatedCost,
  scheduledStartTime: iso(batch.scheduledStartTime),
  recipientLocalHours: batch.recipientLocalHours,
  blackoutDates: batch.blackoutDates,
  holidays: batch.holidays,
  completeBy: iso(batch.completeBy),
  timing: {
    scheduledStartTime: iso(batch.scheduledStartTime),
    actualStartTime: iso(batch.actualStartTime),
    completedAt: iso(batch.completedAt),
    estimatedCompletionTime: iso(batch.estimatedCompletionTime),
    createdAt: DateTime.formatIso(batch.createdAt)
  }
})

/**
 * @since 0.1.0
 * @category mappers
 */
export const contactView = (
  contact: Contact.Contact,
  /** When it is next dialed, every policy applied (`internal/nextEligible.ts`); the stored due time unless given. */
  nextEligibleAt?: number | null
): ContactView => ({
  contactId: contact.id,
  row: contact.row,
  phoneNumber: contact.phone,
  numberValidated: contact.numberValidated,
  name: contact.name,
  externalId: contact.externalId,
  customFields: contact.customFields,
  status: contact.status,
  attemptCount: contact.attemptCount,
  maxAttempts: contact.maxAttempts,
  lastAttemptAt: iso(contact.lastAttemptAt),
  nextRetryAt: iso(contact.nextRetryAt),
  // The store keeps one due time per waiting contact: a retry's, a deferral's or a callback's.
  nextEligibleAt: nextEligibleAt !== undefined
    ? (nextEligibleAt === null ? null : DateTime.formatIso(DateTime.makeUnsafe(nextEligibleAt)))
    : contact.status === "pending" || contact.status === "queued"
    ? iso(contact.nextRetryAt)
    : null,
  completedAt: iso(contact.completedAt),
  errorCode: contact.errorCode,
  failureReason: contact.failureReason,
  callDuration: contact.callDuration,
  roomName: contact.roomName,
  lastDecision: contact.lastDecision === null ? null : decisionView(contact.lastDecision)
})

/**
 * @since 0.1.0
 * @category mappers
 */
export const decisionView = (decision: Contact.Decision): typeof DecisionView.Type => ({
  kind: decision.kind,
  policy: decision.policy,
  reason: decision.reason,
  at: DateTime.formatIso(decision.at),
  until: decision.until === undefined ? null : DateTime.formatIso(decision.until)
})

/**
 * @since 0.1.0
 * @category mappers
 */
export const validationSummaryOf = (
  report: ContactImport.Report,
  doNotCall: ReadonlyArray<typeof Duplicate.Type> = []
): ValidationSummary => ({
  totalContacts: report.acceptedCount,
  rowsReceived: report.totalRows,
  acceptedContacts: report.acceptedCount,
  rejectedContacts: report.rejectedCount,
  rejected: report.rejected,
  errorGroups: report.errorGroups,
  duplicates: report.duplicates,
  doNotCall,
  variables: report.customFieldNames
})

/**
 * A validation of no contacts at all (a draft created empty).
 *
 * @since 0.1.0
 * @category mappers
 */
export const emptyValidation: ValidationSummary = {
  totalContacts: 0,
  rowsReceived: 0,
  acceptedContacts: 0,
  rejectedContacts: 0,
  rejected: [],
  errorGroups: [],
  duplicates: [],
  doNotCall: [],
  variables: []
}
