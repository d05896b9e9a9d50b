/**
 * The engine as a host and the HTTP router use it: create a batch from a
 * contact file or JSON rows (validated, priced and stored atomically, under
 * an idempotency key), edit drafts, move batches through their lifecycle,
 * and read them back with progress and a page of contacts. Every operation
 * is scoped to an organization: another tenant's batch does not exist.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Batch from "./Batch.ts"
import { BatchStore, type NewContact, type StatusBreakdown } from "./BatchStore.ts"
import * as CallingWindow from "./CallingWindow.ts"
import { CallOutcome } from "./CallOutcome.ts"
import type { Contact, ContactStatus } from "./Contact.ts"
import * as ContactModel from "./Contact.ts"
import * as ContactImport from "./ContactImport.ts"
import { Credits } from "./Credits.ts"
import { Directory } from "./Directory.ts"
import { Dispatcher } from "./Dispatcher.ts"
import { EngineConfig } from "./EngineConfig.ts"
import { type EngineEvent, EngineEvents } from "./EngineEvents.ts"
import * as Estimate from "./Estimate.ts"
import * as InputGuard from "./InputGuard.ts"
import { decodeInput } from "./internal/decodeInput.ts"
import {
  BatchNotFound,
  type ContactNotFound,
  type IdempotencyKeyReused,
  type IdempotencyRequestInProgress,
  InsufficientCredits,
  InvalidInput,
  InvalidTransition,
  type RowError,
  type RowErrorGroup,
  type StoreError
} from "./OutdialError.ts"
import * as PhoneNumber from "./PhoneNumber.ts"
import * as Retention from "./Retention.ts"
import * as RetryPolicy from "./RetryPolicy.ts"

/**
 * Contacts arrive as a file (CSV, XLSX, XLS) or as JSON rows.
 *
 * @since 0.1.0
 * @category models
 */
export type ContactsInput =
  | { readonly _tag: "File"; readonly file: ContactImport.FileSource }
  | { readonly _tag: "Rows"; readonly rows: ReadonlyArray<Readonly<Record<string, unknown>>> }

/**
 * A request made safe to repeat: the key the client sent and a fingerprint
 * of its body (the transport computes it, since it sees the raw request).
 *
 * @since 0.1.0
 * @category models
 */
export interface Idempotency {
  readonly key: string
  readonly fingerprint: string
}

/**
 * What a client sees of a validation: the rows kept, the rows refused with
 * why, grouped by reason, and duplicate numbers.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValidationSummary {
  readonly totalContacts: number
  readonly acceptedContacts: number
  readonly rejectedContacts: number
  readonly rejected: ReadonlyArray<RowError>
  readonly errorGroups: ReadonlyArray<RowErrorGroup>
  readonly duplicates: ReadonlyArray<{ readonly phone: string; readonly rows: ReadonlyArray<number> }>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ValidationReport extends ValidationSummary {
  readonly accepted: ReadonlyArray<NewContact>
}

/**
 * The answer to a create.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateBatchResponse extends ValidationSummary {
  readonly batchJobId: string
  readonly status: Batch.BatchStatus
  readonly estimatedDuration: string
  readonly estimatedCost: string
  /** ISO 8601, UTC. */
  readonly scheduledStartTime: string | null
  readonly message: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly totalContacts: number
  /** Contacts in a final status. */
  readonly contactsProcessed: number
  readonly successfulCalls: number
  readonly failedCalls: number
  readonly statusBreakdown: StatusBreakdown
}

/**
 * A batch as a client reads it; instants are ISO 8601 UTC strings.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchSummary {
  readonly batchJobId: string
  readonly organizationId: string
  readonly name: string
  readonly description: string | null
  readonly status: Batch.BatchStatus
  readonly statusReason: string | null
  readonly agentId: string
  readonly phoneNumberIds: ReadonlyArray<string>
  readonly phoneRotationStrategy: Batch.PhoneRotationStrategy
  readonly totalContacts: number
  readonly concurrentCallLimit: number
  readonly maxCallsPerDay: number | null
  readonly defaultCountry: string | null
  readonly timezone: string
  readonly callingWindows: ReadonlyArray<CallingWindow.Window>
  readonly workingDays: ReadonlyArray<number>
  readonly retryPolicy: {
    readonly maxAttempts: number
    readonly retryableOutcomes: ReadonlyArray<string>
    readonly retryDelaySeconds: ReadonlyArray<number>
    readonly retryDelayByOutcome: Readonly<Record<string, number>>
  }
  readonly estimatedDuration: string
  readonly estimatedCost: string
  readonly scheduledStartTime: string | null
  readonly timing: {
    readonly scheduledStartTime: string | null
    readonly actualStartTime: string | null
    readonly completedAt: string | null
    readonly estimatedCompletionTime: string | null
    readonly createdAt: string
  }
}

/**
 * A contact as a client reads it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContactView {
  readonly contactId: string
  readonly row: number
  readonly phoneNumber: string
  readonly name: string | null
  readonly externalId: string | null
  readonly customFields: Readonly<Record<string, string>>
  readonly status: ContactStatus
  readonly attemptCount: number
  readonly maxAttempts: number
  readonly lastAttemptAt: string | null
  readonly nextRetryAt: string | null
  readonly completedAt: string | null
  readonly errorCode: number | null
  readonly failureReason: string | null
  readonly callDuration: number | null
  readonly roomName: string | null
  readonly lastDecision: {
    readonly kind: string
    readonly policy: string
    readonly reason: string
    readonly at: string
    readonly until: string | null
  } | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchDetails extends BatchSummary {
  readonly progress: Progress
  readonly contacts: ReadonlyArray<ContactView>
  readonly contactsPage: number
  readonly contactsPageSize: number
  readonly contactsTotal: number
  readonly contactsHasMore: boolean
}

/**
 * Query of a batch read; values may come straight from a URL.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContactsQuery {
  readonly contactStatus?: string | undefined
  readonly contactsPage?: number | string | undefined
  readonly contactsPageSize?: number | string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListQuery {
  readonly agentId?: string | undefined
  readonly status?: string | undefined
  readonly limit?: number | string | undefined
  readonly offset?: number | string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchList {
  readonly batches: ReadonlyArray<BatchSummary>
  readonly pagination: {
    readonly total: number
    readonly limit: number
    readonly offset: number
    readonly hasMore: boolean
  }
}

type CreateError =
  | InvalidInput
  | InsufficientCredits
  | IdempotencyKeyReused
  | IdempotencyRequestInProgress
  | StoreError

type ChangeError = InvalidInput | BatchNotFound | InvalidTransition | StoreError

/**
 * @since 0.1.0
 * @category services
 */
export class Engine extends Context.Service<Engine, {
  readonly createBatch: (
    organizationId: string,
    input: unknown,
    contacts?: ContactsInput | undefined,
    idempotency?: Idempotency | undefined
  ) => Effect.Effect<CreateBatchResponse, CreateError>
  /** Validates contacts as a create would, storing nothing. */
  readonly validateContacts: (
    organizationId: string,
    contacts: ContactsInput,
    options?: {
      readonly defaultCountry?: string | null | undefined
      readonly dropDuplicates?: boolean | undefined
      readonly phoneNumberIds?: ReadonlyArray<string> | undefined
    }
  ) => Effect.Effect<ValidationReport, InvalidInput | StoreError>
  readonly updateDraft: (organizationId: string, batchId: string, input: unknown) => Effect.Effect<BatchSummary, ChangeError>
  readonly addContacts: (
    organizationId: string,
    batchId: string,
    contacts: ContactsInput,
    options?: { readonly dropDuplicates?: boolean | undefined; readonly idempotency?: Idempotency | undefined }
  ) => Effect.Effect<
    ValidationSummary & { readonly added: number; readonly skipped: number; readonly totalContacts: number },
    ChangeError | IdempotencyKeyReused | IdempotencyRequestInProgress
  >
  readonly removeContact: (
    organizationId: string,
    batchId: string,
    contactId: string
  ) => Effect.Effect<void, ChangeError | ContactNotFound>
  /** Leaves draft: at `scheduledStartTime` when given (or already set), else at once. */
  readonly schedule: (
    organizationId: string,
    batchId: string,
    input?: { readonly scheduledStartTime?: string | null | undefined }
  ) => Effect.Effect<BatchSummary, ChangeError | InsufficientCredits>
  readonly pause: (organizationId: string, batchId: string) => Effect.Effect<BatchSummary, ChangeError>
  readonly resume: (organizationId: string, batchId: string) => Effect.Effect<BatchSummary, ChangeError>
  readonly cancel: (organizationId: string, batchId: string) => Effect.Effect<BatchSummary, ChangeError>
  /** Re-queues the retryable failures of a completed batch, each with `extraAttempts` more (default 1). */
  readonly retry: (
    organizationId: string,
    batchId: string,
    /** `extraAttempts`: an integer from 1 to 10, as decoded from any body (anything else is a `validation_error`). */
    input?: { readonly extraAttempts?: unknown }
  ) => Effect.Effect<BatchSummary & { readonly requeued: number }, ChangeError>
  readonly deleteBatch: (organizationId: string, batchId: string) => Effect.Effect<void, ChangeError>
  readonly getBatch: (
    organizationId: string,
    batchId: string,
    query?: ContactsQuery
  ) => Effect.Effect<BatchDetails, InvalidInput | BatchNotFound | StoreError>
  readonly listBatches: (organizationId: string, query?: ListQuery) => Effect.Effect<BatchList, InvalidInput | StoreError>
  /** Changes of the organization's batches, from now on. */
  readonly events: (organizationId: string, batchId?: string) => Stream.Stream<EngineEvent>
}>()("@outdial/core/Engine") {}

const iso = (dateTime: DateTime.Utc | null): string | null => (dateTime === null ? null : DateTime.formatIso(dateTime))

const finalFailures: ReadonlyArray<ContactStatus> = CallOutcome.literals.filter((outcome) => outcome !== "completed")

/**
 * @since 0.1.0
 * @category views
 */
export const progressOf = (totalContacts: number, breakdown: StatusBreakdown): Progress => ({
  totalContacts,
  contactsProcessed: ContactModel.statuses.reduce((sum, s) => (ContactModel.isFinal(s) ? sum + breakdown[s] : sum), 0),
  successfulCalls: breakdown.completed,
  failedCalls: finalFailures.reduce((sum, s) => sum + breakdown[s], 0),
  statusBreakdown: breakdown
})

/**
 * @since 0.1.0
 * @category views
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
 * @category views
 */
export const contactView = (contact: Contact): ContactView => ({
  contactId: contact.id,
  row: contact.row,
  phoneNumber: contact.phone,
  name: contact.name,
  externalId: contact.externalId,
  customFields: contact.customFields,
  status: contact.status,
  attemptCount: contact.attemptCount,
  maxAttempts: contact.maxAttempts,
  lastAttemptAt: iso(contact.lastAttemptAt),
  nextRetryAt: iso(contact.nextRetryAt),
  completedAt: iso(contact.completedAt),
  errorCode: contact.errorCode,
  failureReason: contact.failureReason,
  callDuration: contact.callDuration,
  roomName: contact.roomName,
  lastDecision: contact.lastDecision === null ? null : {
    kind: contact.lastDecision.kind,
    policy: contact.lastDecision.policy,
    reason: contact.lastDecision.reason,
    at: DateTime.formatIso(contact.lastDecision.at),
    until: contact.lastDecision.until === undefined ? null : DateTime.formatIso(contact.lastDecision.until)
  }
})

const summarize = (report: ContactImport.Report): ValidationSummary => ({
  totalContacts: report.totalRows,
  acceptedContacts: report.acceptedCount,
  rejectedContacts: report.rejectedCount,
  rejected: report.rejected,
  errorGroups: report.errorGroups,
  duplicates: report.duplicates
})

const invalid = (code: InvalidInput["code"], field: string, message: string, details?: Record<string, unknown>) =>
  new InvalidInput({ code, field, message, ...(details === undefined ? {} : { details }) })

/** An integer from a body or a query string within bounds, or the default. */
const intParam = (
  value: unknown,
  fallback: number,
  check: (n: number) => boolean,
  onInvalid: () => InvalidInput
): Effect.Effect<number, InvalidInput> => {
  if (value === undefined || value === "") return Effect.succeed(fallback)
  const n = typeof value === "number"
    ? value
    : typeof value === "string" && /^-?\d{1,15}$/.test(value.trim())
    ? Number(value)
    : Number.NaN
  // Past `maxIndex` a page or offset only reaches past the end, and would overflow a database's integers.
  return Number.isInteger(n) && n <= maxIndex && check(n) ? Effect.succeed(n) : Effect.fail(onInvalid())
}

const maxIndex = 1_000_000_000

/** Ids are the engine's own, far shorter; anything longer names nothing. */
const maxIdLength = 200

/** An idempotency key longer than this is not a key but a payload. */
const maxIdempotencyKeyLength = 255

/** A start further away than this is a typo, and no calling campaign waits that long. */
const maxStartAheadMillis = 366 * 86_400_000

const localStart = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/i

/**
 * An instant from `scheduledStartTime`: with an offset or `Z` as written,
 * without one as wall-clock time in the batch's zone.
 */
const parseStartTime = (value: string, timeZone: string): Effect.Effect<DateTime.Utc, InvalidInput> => {
  const fail = invalid("validation_error", "scheduledStartTime", `scheduledStartTime "${value}" is not an ISO 8601 date-time`)
  const local = localStart.exec(value.trim())
  if (local === null) {
    const millis = Date.parse(value)
    return Number.isNaN(millis) ? Effect.fail(fail) : Effect.succeed(DateTime.makeUnsafe(millis))
  }
  const [, y, mo, d, h, mi, s, frac] = local
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), Number((frac ?? "0").padEnd(3, "0").slice(0, 3)))
  return Option.match(DateTime.makeZoned(wall, { timeZone, adjustForTimeZone: true }), {
    onNone: () => Effect.fail(fail),
    onSome: (zoned) => Effect.succeed(DateTime.toUtc(zoned))
  })
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  Engine,
  never,
  BatchStore | Directory | Credits | EngineEvents | Dispatcher
> = Layer.effect(Engine)(
  Effect.gen(function*() {
    const store = yield* BatchStore
    const directory = yield* Directory
    const credits = yield* Credits
    const events = yield* EngineEvents
    const dispatcher = yield* Dispatcher
    const config = yield* EngineConfig
    yield* Effect.forkScoped(Retention.run) // old idempotency keys and events, pruned for the engine's lifetime

    const decodeCreate = decodeInput(Batch.CreateBatchInput)
    const decodeUpdate = decodeInput(Batch.UpdateBatchInput)
    const now = Effect.map(Clock.currentTimeMillis, (millis) => DateTime.makeUnsafe(millis))

    const findBatch = (organizationId: string, batchId: string) =>
      Effect.gen(function*() {
        const malformed = InputGuard.checkText("batchId", batchId, maxIdLength)
        if (malformed !== undefined) return yield* malformed
        return yield* store.getBatch(organizationId, batchId)
      })

    /**
     * The agent and caller numbers a batch dials with: numbers named by the
     * request must be the organization's and able to call out; an agent
     * left out comes from the first number; numbers left out are the
     * agent's.
     */
    const resolveDialing = (
      organizationId: string,
      input: { readonly agentId?: string | undefined; readonly fromPhoneNumberId?: string | undefined; readonly phoneNumberIds?: ReadonlyArray<string> | undefined }
    ) =>
      Effect.gen(function*() {
        const requested = input.phoneNumberIds ?? (input.fromPhoneNumberId === undefined ? [] : [input.fromPhoneNumberId])
        const numbers = []
        for (const id of requested) {
          const number = yield* directory.callerNumber(organizationId, id)
          if (number === undefined) {
            return yield* invalid("no_caller_number", "phoneNumberIds", `Caller number ${id} does not exist`)
          }
          if (!number.outboundEnabled) {
            return yield* invalid("no_caller_number", "phoneNumberIds", `Caller number ${id} (${number.number}) cannot place outbound calls`)
          }
          numbers.push(number)
        }
        const agentId = input.agentId ?? numbers.find((n) => n.agentId !== null)?.agentId ?? undefined
        if (agentId === undefined) {
          return yield* invalid("no_outbound_agent", "agentId", "No agent given, and no caller number has one assigned")
        }
        const agent = yield* directory.agent(organizationId, agentId)
        if (agent === undefined) return yield* invalid("no_outbound_agent", "agentId", `Agent ${agentId} does not exist`)
        if (!agent.ready) return yield* invalid("no_outbound_agent", "agentId", `Agent ${agentId} is not ready to take calls`)
        if (numbers.length === 0) {
          for (const id of agent.phoneNumberIds) {
            const number = yield* directory.callerNumber(organizationId, id)
            if (number !== undefined && number.outboundEnabled) numbers.push(number)
          }
          if (numbers.length === 0) {
            return yield* invalid("no_caller_number", "phoneNumberIds", `Agent ${agentId} has no caller number that can place outbound calls`)
          }
        }
        const orgPolicy = yield* directory.destinationPolicy(organizationId)
        const destinationPolicy = PhoneNumber.mergePolicies([
          orgPolicy,
          ...numbers.map((n) => n.destinationPolicy)
        ])
        return { agentId, phoneNumberIds: numbers.map((n) => n.id), destinationPolicy }
      })

    const importContacts = (
      contacts: ContactsInput,
      options: ContactImport.Options
    ): Effect.Effect<ContactImport.Report & { readonly accepted: ReadonlyArray<NewContact> }, InvalidInput> =>
      contacts._tag === "File"
        ? ContactImport.validate(contacts.file, options)
        : ContactImport.validateRows(contacts.rows, options)

    const schedulingOf = (input: Batch.BatchSettingsInput, base: {
      readonly timezone: string
      readonly callingWindows: ReadonlyArray<CallingWindow.Window>
      readonly workingDays: ReadonlyArray<number>
    }) =>
      Effect.gen(function*() {
        const timezone = input.timezone ?? base.timezone
        const callingWindows = input.callingWindows ??
          (input.callingWindow === undefined ? base.callingWindows : input.callingWindow === null ? [] : [input.callingWindow])
        const workingDays = input.workingDays ?? base.workingDays
        const schedule = yield* CallingWindow.compileEffect({ timeZone: timezone, windows: callingWindows, workingDays })
        return { timezone, callingWindows, workingDays, schedule }
      })

    const startTimeOf = (value: string | null | undefined, timeZone: string, at: DateTime.Utc) =>
      Effect.gen(function*() {
        if (value === undefined || value === null) return null
        const start = yield* parseStartTime(value, timeZone)
        // A minute of slack for clocks and slow uploads.
        if (DateTime.toEpochMillis(start) < DateTime.toEpochMillis(at) - 60_000) {
          return yield* invalid("past_scheduled_time", "scheduledStartTime", `scheduledStartTime ${DateTime.formatIso(start)} is in the past`)
        }
        if (DateTime.toEpochMillis(start) > DateTime.toEpochMillis(at) + maxStartAheadMillis) {
          return yield* invalid("validation_error", "scheduledStartTime", "scheduledStartTime is more than a year ahead")
        }
        return start
      })

    const estimateOf = (
      organizationId: string,
      contacts: number,
      concurrentCallLimit: number,
      schedule: CallingWindow.Compiled
    ) =>
      Effect.map(credits.pricePerMinute(organizationId), (pricePerMinute) =>
        Estimate.estimate({
          contacts,
          concurrentCallLimit,
          openMinutesPerWeek: CallingWindow.openMinutesPerWeek(schedule),
          pricePerMinute,
          averageCallSeconds: config.averageCallSeconds
        }))

    const checkCredits = (organizationId: string, estimate: Estimate.Estimate) =>
      Effect.gen(function*() {
        const balance = yield* credits.balance(organizationId)
        if (balance >= estimate.costUsd && balance > 0) return
        return yield* new InsufficientCredits({
          message: `The batch is estimated at ${estimate.estimatedCost} but the balance is ${Estimate.usd(balance)}`,
          required: estimate.estimatedCost,
          available: Estimate.usd(balance)
        })
      })

    /** Runs `body` once per idempotency key: a repeat replays the stored response. */
    const idempotent = <A, E>(
      scope: string,
      idempotency: Idempotency | undefined,
      body: Effect.Effect<A, E>
    ): Effect.Effect<A, E | InvalidInput | IdempotencyKeyReused | IdempotencyRequestInProgress | StoreError> => {
      if (idempotency === undefined) return body
      return Effect.gen(function*() {
        const malformed = InputGuard.checkText("Idempotency-Key", idempotency.key, maxIdempotencyKeyLength)
        if (malformed !== undefined) return yield* malformed
        const replay = yield* store.reserveIdempotencyKey(scope, idempotency.key, idempotency.fingerprint)
        if (replay !== undefined) return replay.response as A
        return yield* body.pipe(
          Effect.tap((response) => store.completeIdempotencyKey(scope, idempotency.key, response)),
          Effect.onError(() => Effect.ignore(store.releaseIdempotencyKey(scope, idempotency.key)))
        )
      })
    }

    const createBatch = (
      organizationId: string,
      raw: unknown,
      contacts?: ContactsInput,
      idempotency?: Idempotency
    ) =>
      idempotent(
        `${organizationId}:create`,
        idempotency,
        Effect.gen(function*() {
          const input = yield* decodeCreate(raw)
          const at = yield* now
          const { callingWindows, schedule, timezone, workingDays } = yield* schedulingOf(input, {
            timezone: "UTC",
            callingWindows: [],
            workingDays: [1, 2, 3, 4, 5, 6, 7]
          })
          const scheduledStartTime = yield* startTimeOf(input.scheduledStartTime, timezone, at)
          const retryPolicy = yield* Effect.fromResult(RetryPolicy.fromInput(input))
          const dialing = yield* resolveDialing(organizationId, input)
          const source: ContactsInput | undefined = contacts ??
            (input.contacts === undefined ? undefined : { _tag: "Rows", rows: input.contacts })
          const draft = input.draft ?? false
          if (source === undefined && !draft) {
            return yield* invalid("no_valid_contacts", "contacts", "A batch needs contacts: upload a file or send `contacts`")
          }
          const report = source === undefined ? undefined : yield* importContacts(source, {
            defaultCountry: input.defaultCountry ?? null,
            destinationPolicy: dialing.destinationPolicy,
            dropDuplicates: input.dropDuplicates ?? false,
            maxContacts: config.maxContacts,
            maxFileBytes: config.maxFileBytes
          })
          const accepted = report?.accepted ?? []
          const concurrentCallLimit = input.concurrentCallLimit ?? 5
          const estimate = yield* estimateOf(organizationId, accepted.length, concurrentCallLimit, schedule)
          if (!draft) yield* checkCredits(organizationId, estimate)
          const status: Batch.BatchStatus = draft ? "draft" : scheduledStartTime === null ? "pending" : "scheduled"
          const batch: Batch.Batch = {
            id: `batch_${globalThis.crypto.randomUUID().replaceAll("-", "")}`,
            organizationId,
            name: input.name,
            description: input.description ?? null,
            agentId: dialing.agentId,
            phoneNumberIds: dialing.phoneNumberIds,
            phoneRotationStrategy: input.phoneRotationStrategy ?? "random",
            status,
            statusReason: null,
            concurrentCallLimit,
            retryPolicy,
            defaultCountry: input.defaultCountry?.toUpperCase() ?? null,
            timezone,
            callingWindows,
            workingDays,
            maxCallsPerDay: input.maxCallsPerDay ?? null,
            scheduledStartTime,
            actualStartTime: null,
            completedAt: null,
            estimatedCompletionTime: null,
            createdAt: at,
            updatedAt: at,
            totalContacts: accepted.length,
            estimatedDuration: estimate.estimatedDuration,
            estimatedCost: estimate.estimatedCost
          }
          yield* store.createBatch(batch, accepted)
          yield* events.publish({ _tag: "BatchChanged", organizationId, batchId: batch.id, batch, at })
          if (!draft) yield* dispatcher.wake(batch.id)
          const summary = report === undefined ? emptySummary : summarize(report)
          const response: CreateBatchResponse = {
            batchJobId: batch.id,
            status,
            ...summary,
            estimatedDuration: estimate.estimatedDuration,
            estimatedCost: estimate.estimatedCost,
            scheduledStartTime: iso(scheduledStartTime),
            message: createdMessage(status, accepted.length, summary.rejectedContacts)
          }
          return response
        })
      )

    const validateContacts: Engine["Service"]["validateContacts"] = (organizationId, contacts, options) =>
      Effect.gen(function*() {
        let destinationPolicy: PhoneNumber.DestinationPolicy | undefined = yield* directory.destinationPolicy(organizationId)
        if (options?.phoneNumberIds !== undefined) {
          const numbers = yield* Effect.forEach(options.phoneNumberIds, (id) => directory.callerNumber(organizationId, id))
          destinationPolicy = PhoneNumber.mergePolicies([destinationPolicy, ...numbers.map((n) => n?.destinationPolicy)])
        }
        const report = yield* importContacts(contacts, {
          defaultCountry: options?.defaultCountry ?? null,
          destinationPolicy,
          dropDuplicates: options?.dropDuplicates ?? false,
          maxContacts: config.maxContacts,
          maxFileBytes: config.maxFileBytes
        })
        return { ...summarize(report), accepted: report.accepted }
      })

    const publishBatch = (batch: Batch.Batch) =>
      Effect.flatMap(now, (at) =>
        events.publish({ _tag: "BatchChanged", organizationId: batch.organizationId, batchId: batch.id, batch, at }))

    /** A lifecycle move of the organization's batch through the state machine, then the dispatcher hears of it. */
    const move = <E>(
      organizationId: string,
      batchId: string,
      action: Batch.BatchAction,
      patch: (batch: Batch.Batch, at: DateTime.Utc) => Effect.Effect<
        Partial<Omit<Batch.Batch, "id" | "organizationId" | "createdAt">>,
        E
      >
    ) =>
      Effect.gen(function*() {
        const batch = yield* findBatch(organizationId, batchId)
        // A move the batch's state forbids is refused before its request is looked at.
        if (Batch.machine.targets(batch.status, action).length === 0) {
          yield* Effect.fromResult(Batch.transition(batch.status, action))
        }
        const at = yield* now
        const changes = yield* patch(batch, at)
        const to = changes.status ?? batch.status
        yield* Effect.fromResult(Batch.transition(batch.status, action, to))
        const expected = Batch.machine.edges.filter((edge) => edge.action === action).flatMap((edge) => edge.from)
        const updated = yield* store.updateBatch(batchId, expected, action, { ...changes, updatedAt: at })
        yield* publishBatch(updated)
        yield* dispatcher.wake(batchId)
        return updated
      })

    const updateDraft: Engine["Service"]["updateDraft"] = (organizationId, batchId, raw) =>
      Effect.gen(function*() {
        const input = yield* decodeUpdate(raw)
        const updated = yield* move(organizationId, batchId, "update", (batch, at) =>
          Effect.gen(function*() {
            const scheduling = yield* schedulingOf(input, batch)
            const numbersChanged = input.agentId !== undefined || input.phoneNumberIds !== undefined ||
              input.fromPhoneNumberId !== undefined
            const dialing = numbersChanged
              ? yield* resolveDialing(organizationId, {
                agentId: input.agentId ?? (input.phoneNumberIds === undefined && input.fromPhoneNumberId === undefined ? batch.agentId : undefined),
                phoneNumberIds: input.phoneNumberIds ?? (input.fromPhoneNumberId === undefined ? batch.phoneNumberIds : [input.fromPhoneNumberId])
              })
              : undefined
            const retryPolicy = input.maxAttempts !== undefined || input.retryDelay !== undefined
              ? yield* Effect.fromResult(RetryPolicy.fromInput({
                maxAttempts: input.maxAttempts ?? batch.retryPolicy.maxAttempts,
                retryDelay: input.retryDelay ?? batch.retryPolicy.delaySeconds as unknown as RetryPolicy.RetryDelayInput,
                retryableOutcomes: batch.retryPolicy.retryableOutcomes
              }))
              : batch.retryPolicy
            const concurrentCallLimit = input.concurrentCallLimit ?? batch.concurrentCallLimit
            const estimate = yield* estimateOf(organizationId, batch.totalContacts, concurrentCallLimit, scheduling.schedule)
            const scheduledStartTime = input.scheduledStartTime === undefined
              ? batch.scheduledStartTime
              : yield* startTimeOf(input.scheduledStartTime, scheduling.timezone, at)
            return {
              ...(input.name === undefined ? {} : { name: input.name }),
              ...(input.description === undefined ? {} : { description: input.description }),
              ...(dialing === undefined ? {} : { agentId: dialing.agentId, phoneNumberIds: dialing.phoneNumberIds }),
              ...(input.phoneRotationStrategy === undefined ? {} : { phoneRotationStrategy: input.phoneRotationStrategy }),
              ...(input.defaultCountry === undefined ? {} : { defaultCountry: input.defaultCountry?.toUpperCase() ?? null }),
              ...(input.maxCallsPerDay === undefined ? {} : { maxCallsPerDay: input.maxCallsPerDay }),
              timezone: scheduling.timezone,
              callingWindows: scheduling.callingWindows,
              workingDays: scheduling.workingDays,
              concurrentCallLimit,
              retryPolicy,
              scheduledStartTime,
              estimatedDuration: estimate.estimatedDuration,
              estimatedCost: estimate.estimatedCost
            }
          }))
        return summaryOf(updated)
      })

    const addContacts: Engine["Service"]["addContacts"] = (organizationId, batchId, contacts, options) =>
      idempotent(
        `${organizationId}:${batchId}:contacts`,
        options?.idempotency,
        Effect.gen(function*() {
          const batch = yield* findBatch(organizationId, batchId)
          yield* Effect.fromResult(Batch.transition(batch.status, "update"))
          const dialing = yield* resolveDialing(organizationId, { agentId: batch.agentId, phoneNumberIds: batch.phoneNumberIds })
          const report = yield* importContacts(contacts, {
            defaultCountry: batch.defaultCountry,
            destinationPolicy: dialing.destinationPolicy,
            dropDuplicates: options?.dropDuplicates ?? false,
            maxContacts: Math.max(0, config.maxContacts - batch.totalContacts),
            maxFileBytes: config.maxFileBytes
          })
          const at = yield* now
          const { added, skipped } = yield* store.addContacts(batchId, report.accepted, at)
          const updated = yield* store.getBatch(organizationId, batchId)
          yield* publishBatch(updated)
          return { ...summarize(report), added, skipped, totalContacts: updated.totalContacts }
        })
      )

    const removeContact: Engine["Service"]["removeContact"] = (organizationId, batchId, contactId) =>
      Effect.gen(function*() {
        const batch = yield* findBatch(organizationId, batchId)
        yield* Effect.fromResult(Batch.transition(batch.status, "update"))
        const malformed = InputGuard.checkText("contactId", contactId, maxIdLength)
        if (malformed !== undefined) return yield* malformed
        yield* store.removeContact(batchId, contactId, yield* now)
        yield* publishBatch(yield* store.getBatch(organizationId, batchId))
      })

    const schedule: Engine["Service"]["schedule"] = (organizationId, batchId, input) =>
      Effect.map(
        move(organizationId, batchId, "schedule", (batch, at) =>
          Effect.gen(function*() {
            if (batch.status === "draft" && batch.totalContacts === 0) {
              return yield* invalid("no_valid_contacts", "contacts", "A draft needs at least one contact before it can be scheduled")
            }
            const scheduledStartTime = input?.scheduledStartTime === undefined
              ? batch.scheduledStartTime
              : yield* startTimeOf(input.scheduledStartTime, batch.timezone, at)
            if (batch.status === "draft") {
              const compiled = yield* CallingWindow.compileEffect({
                timeZone: batch.timezone,
                windows: batch.callingWindows,
                workingDays: batch.workingDays
              })
              yield* checkCredits(organizationId, yield* estimateOf(organizationId, batch.totalContacts, batch.concurrentCallLimit, compiled))
            }
            return {
              status: scheduledStartTime === null ? "pending" as const : "scheduled" as const,
              scheduledStartTime
            }
          })),
        summaryOf
      )

    const pause: Engine["Service"]["pause"] = (organizationId, batchId) =>
      Effect.map(
        move(organizationId, batchId, "pause", () => Effect.succeed({ status: "paused" as const, statusReason: "paused by request" })),
        summaryOf
      )

    const resume: Engine["Service"]["resume"] = (organizationId, batchId) =>
      Effect.map(
        move(organizationId, batchId, "resume", (batch) =>
          Effect.succeed({
            status: batch.actualStartTime !== null
              ? "running" as const
              : batch.scheduledStartTime === null
              ? "pending" as const
              : "scheduled" as const,
            statusReason: null
          })),
        summaryOf
      )

    const cancel: Engine["Service"]["cancel"] = (organizationId, batchId) =>
      Effect.gen(function*() {
        const updated = yield* move(organizationId, batchId, "cancel", (_, at) =>
          Effect.succeed({ status: "cancelled" as const, completedAt: at, statusReason: "cancelled by request" }))
        yield* store.cancelContacts(batchId, updated.updatedAt)
        return summaryOf(updated)
      })

    const retry: Engine["Service"]["retry"] = (organizationId, batchId, input) =>
      Effect.gen(function*() {
        const extraAttempts = yield* intParam(input?.extraAttempts, 1, (n) => n >= 1 && n <= 10, () =>
          invalid("validation_error", "extraAttempts", "extraAttempts must be an integer from 1 to 10"))
        const batch = yield* findBatch(organizationId, batchId)
        yield* Effect.fromResult(Batch.transition(batch.status, "retry", "running"))
        const at = yield* now
        // Running first, so the dispatcher never sees a completed batch with waiting contacts.
        const updated = yield* store.updateBatch(batchId, ["completed"], "retry", {
          status: "running",
          completedAt: null,
          statusReason: null,
          updatedAt: at
        })
        const requeued = yield* store.requeueContacts(batchId, batch.retryPolicy.retryableOutcomes, extraAttempts, at)
        yield* publishBatch(updated)
        yield* dispatcher.wake(batchId)
        return { ...summaryOf(updated), requeued }
      })

    const deleteBatch: Engine["Service"]["deleteBatch"] = (organizationId, batchId) =>
      Effect.gen(function*() {
        const batch = yield* findBatch(organizationId, batchId)
        if (!Batch.isDeletable(batch.status)) {
          return yield* new InvalidTransition({ entity: "batch", action: "delete", from: batch.status })
        }
        yield* store.deleteBatch(batchId, Batch.statuses.filter(Batch.isDeletable))
        yield* dispatcher.wake(batchId)
      })

    const getBatch: Engine["Service"]["getBatch"] = (organizationId, batchId, query) =>
      Effect.gen(function*() {
        const status = query?.contactStatus
        if (status !== undefined && status !== "" && !(ContactModel.statuses as ReadonlyArray<string>).includes(status)) {
          return yield* invalid("invalid_contact_status", "contactStatus", `contactStatus must be one of ${ContactModel.statuses.join(", ")}`)
        }
        const page = yield* intParam(query?.contactsPage, 1, (n) => n >= 1 && n <= maxIndex / 500, () =>
          invalid("invalid_page", "contactsPage", `contactsPage must be an integer from 1 to ${maxIndex / 500}`))
        const pageSize = yield* intParam(query?.contactsPageSize, 50, (n) => n >= 1 && n <= 500, () =>
          invalid("invalid_page_size", "contactsPageSize", "contactsPageSize must be an integer from 1 to 500"))
        const batch = yield* findBatch(organizationId, batchId)
        const breakdown = yield* store.statusBreakdown(batchId)
        const contacts = yield* store.listContacts(batchId, {
          status: status === undefined || status === "" ? undefined : status as ContactStatus,
          page,
          pageSize
        })
        return {
          ...summaryOf(batch),
          progress: progressOf(batch.totalContacts, breakdown),
          contacts: contacts.items.map(contactView),
          contactsPage: page,
          contactsPageSize: pageSize,
          contactsTotal: contacts.total,
          contactsHasMore: page * pageSize < contacts.total
        }
      })

    const listBatches: Engine["Service"]["listBatches"] = (organizationId, query) =>
      Effect.gen(function*() {
        const status = query?.status
        if (status !== undefined && status !== "" && !(Batch.statuses as ReadonlyArray<string>).includes(status)) {
          return yield* invalid("validation_error", "status", `status must be one of ${Batch.statuses.join(", ")}`)
        }
        const limit = yield* intParam(query?.limit, 50, (n) => n >= 1 && n <= 100, () =>
          invalid("validation_error", "limit", "limit must be an integer from 1 to 100"))
        const offset = yield* intParam(query?.offset, 0, (n) => n >= 0, () =>
          invalid("validation_error", "offset", `offset must be an integer from 0 to ${maxIndex}`))
        const agentFilter = query?.agentId === undefined ? undefined : InputGuard.checkText("agentId", query.agentId, maxIdLength)
        if (agentFilter !== undefined) return yield* agentFilter
        const page = yield* store.listBatches(organizationId, {
          agentId: query?.agentId === "" ? undefined : query?.agentId,
          status: status === undefined || status === "" ? undefined : status as Batch.BatchStatus,
          limit,
          offset
        })
        return {
          batches: page.items.map(summaryOf),
          pagination: { total: page.total, limit, offset, hasMore: offset + page.items.length < page.total }
        }
      })

    return Engine.of({
      createBatch,
      validateContacts,
      updateDraft,
      addContacts,
      removeContact,
      schedule,
      pause,
      resume,
      cancel,
      retry,
      deleteBatch,
      getBatch,
      listBatches,
      events: (organizationId, batchId) =>
        Stream.filter(events.stream, (event) =>
          event.organizationId === organizationId && (batchId === undefined || event.batchId === batchId))
    })
  })
)

const emptySummary: ValidationSummary = {
  totalContacts: 0,
  acceptedContacts: 0,
  rejectedContacts: 0,
  rejected: [],
  errorGroups: [],
  duplicates: []
}

const createdMessage = (status: Batch.BatchStatus, accepted: number, rejected: number): string => {
  const contacts = `${accepted} contact${accepted === 1 ? "" : "s"} accepted` +
    (rejected > 0 ? `, ${rejected} rejected` : "")
  switch (status) {
    case "draft":
      return `Draft created with ${contacts}`
    case "scheduled":
      return `Batch scheduled with ${contacts}`
    default:
      return `Batch created with ${contacts}; calling starts now`
  }
}

// The engine composed with its ports in one call; kept in its own module.
export {
  /**
   * @since 0.1.0
   * @category layers
   */
  layerWith,
  /**
   * @since 0.1.0
   * @category models
   */
  type LayerOptions
} from "./EngineLayer.ts"
