/**
 * How contacts come in: create a batch (decode → resolve dialing → import →
 * estimate → credits → store), validate contacts without storing them, and
 * add contacts to or remove one not yet dialed from a live batch (a running
 * one dials those added at once).
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Batch from "./Batch.ts"
import type { NewContact } from "./BatchStore.ts"
import * as BatchView from "./BatchView.ts"
import * as ContactImport from "./ContactImport.ts"
import * as Dialing from "./Dialing.ts"
import * as Feasibility from "./Feasibility.ts"
import * as DoNotCallList from "./DoNotCallList.ts"
import * as Idempotency from "./Idempotency.ts"
import { decodeInput } from "./internal/decodeInput.ts"
import { eligibilityOf } from "./internal/eligibilityOptions.ts"
import { validateFeasibility } from "./internal/validateFeasibility.ts"
import {
  checkCredits,
  checkId,
  checkWindowRequired,
  type EngineContext,
  estimateOf,
  findBatch,
  invalid,
  now,
  publishBatch,
  schedulingOf,
  startTimeOf
} from "./internal/engineContext.ts"
import {
  BatchInfeasible,
  type BatchNotFound,
  type ContactNotFound,
  type IdempotencyKeyReused,
  type IdempotencyRequestInProgress,
  type InsufficientCredits,
  InvalidInput,
  type InvalidTransition,
  type StoreError
} from "./OutdialError.ts"
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
 * @since 0.1.0
 * @category models
 */
export type CreateError =
  | InvalidInput
  | InsufficientCredits
  | BatchInfeasible
  | IdempotencyKeyReused
  | IdempotencyRequestInProgress
  | StoreError

/**
 * @since 0.1.0
 * @category models
 */
export interface ValidateOptions {
  readonly defaultCountry?: string | null | undefined
  readonly dropDuplicates?: boolean | undefined
  readonly phoneNumberIds?: ReadonlyArray<string> | undefined
  /** A `Batch.ColumnMapping`, as any body sent it (checked here). */
  readonly columnMapping?: unknown
  /**
   * The body's other fields: with a `completeBy` the report carries the
   * feasibility a create would report (its settings checked as a create's).
   */
  readonly settings?: Readonly<Record<string, unknown>> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AddContactsOptions {
  readonly dropDuplicates?: boolean | undefined
  readonly idempotency?: Idempotency.Idempotency | undefined
  /** Refuse them all when any row is rejected; the host's default unless given. */
  readonly strictValidation?: boolean | undefined
  /** A `Batch.ColumnMapping`, as any body sent it (checked here). */
  readonly columnMapping?: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchIntake {
  readonly createBatch: (
    organizationId: string,
    input: unknown,
    contacts?: ContactsInput | undefined,
    idempotency?: Idempotency.Idempotency | undefined
  ) => Effect.Effect<BatchView.CreateBatchResponse, CreateError>
  readonly validateContacts: (
    organizationId: string,
    contacts: ContactsInput,
    options?: ValidateOptions
  ) => Effect.Effect<BatchView.ValidationReport, InvalidInput | StoreError>
  readonly addContacts: (
    organizationId: string,
    batchId: string,
    contacts: ContactsInput,
    options?: AddContactsOptions
  ) => Effect.Effect<
    BatchView.AddContactsResponse,
    | InvalidInput
    | BatchNotFound
    | InvalidTransition
    | InsufficientCredits
    | StoreError
    | IdempotencyKeyReused
    | IdempotencyRequestInProgress
  >
  readonly removeContact: (
    organizationId: string,
    batchId: string,
    contactId: string
  ) => Effect.Effect<void, InvalidInput | BatchNotFound | InvalidTransition | StoreError | ContactNotFound>
}

const importContacts = (
  contacts: ContactsInput,
  options: ContactImport.Options
): Effect.Effect<ContactImport.Report & { readonly accepted: ReadonlyArray<NewContact> }, InvalidInput> =>
  contacts._tag === "File"
    ? ContactImport.validate(contacts.file, options)
    : ContactImport.validateRows(contacts.rows, options)

/** Strict validation: one rejected row refuses the whole list, with the rows and why. */
const checkStrict = (report: ContactImport.Report, strict: boolean): Effect.Effect<void, InvalidInput> =>
  strict && report.rejectedCount > 0
    ? Effect.fail(
      new InvalidInput({
        code: "validation_error",
        field: "contacts",
        message: `${report.rejectedCount} of ${report.totalRows} rows were rejected; strict validation stores none of them`,
        details: { errorGroups: report.errorGroups, rejected: ContactImport.rejectedForError(report) }
      })
    )
    : Effect.void

/** The numbers a batch held before an add, with the rows of the add that repeat them. */
const alreadyIn = (storedNumbers: ReadonlyArray<string>, accepted: ReadonlyArray<NewContact>) => {
  if (storedNumbers.length === 0) return []
  const rows = new Map(storedNumbers.map((phone) => [phone, [] as Array<number>]))
  for (const contact of accepted) rows.get(contact.phone)?.push(contact.row)
  return [...rows].map(([phone, of]) => ({ phone, rows: of }))
}

/** A batch that cannot finish by its deadline, refused with the estimate's figures. */
const infeasible = (feasibility: Feasibility.Feasibility) =>
  Effect.fail(
    new BatchInfeasible({
      message: feasibility.estimatedFinish === null
        ? `The batch cannot finish by ${feasibility.completeBy}: it would not finish within a year`
        : `The batch cannot finish by ${feasibility.completeBy}: estimated to finish ${feasibility.estimatedFinish}, ` +
          `${feasibility.shortfallContacts} contacts short`,
      completeBy: feasibility.completeBy ?? "",
      estimatedFinish: feasibility.estimatedFinish,
      shortfallContacts: feasibility.shortfallContacts,
      shortfallSeconds: feasibility.shortfallSeconds
    })
  )

const decodeMapping = decodeInput(Batch.ColumnMapping)

/** A column mapping as any body sent it, checked; none when absent. */
const decodeColumnMapping = (raw: unknown) =>
  raw === undefined ? Effect.succeed(undefined) : Effect.mapError(decodeMapping(raw), (error) =>
    new InvalidInput({
      code: error.code,
      message: `columnMapping: ${error.message}`,
      field: `columnMapping${error.field === undefined ? "" : `.${error.field}`}`,
      ...(error.details === undefined ? {} : { details: error.details })
    }))

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

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (context: EngineContext): BatchIntake => {
  const { config, directory, dispatcher, events, store } = context
  // Parsing a contact list is CPU on the host's event loop and an ingest holds a store connection:
  // a burst of uploads takes turns, so reads are still answered meanwhile.
  const importing = context.imports.withPermits(1)
  const decodeCreate = decodeInput(Batch.CreateBatchInput, "contacts")

  const createBatch: BatchIntake["createBatch"] = (organizationId, raw, contacts, idempotency) =>
    Idempotency.run(
      store,
      `${organizationId}:create`,
      idempotency,
      importing(Effect.gen(function*() {
        const input = yield* decodeCreate(raw)
        const at = yield* now
        const { callingWindows, schedule, timezone, workingDays } = yield* schedulingOf(input, Batch.defaultSettings)
        yield* checkWindowRequired(context, callingWindows)
        const scheduledStartTime = yield* Effect.fromResult(startTimeOf(input.scheduledStartTime, timezone, at))
        const retryPolicy = yield* Effect.fromResult(RetryPolicy.fromInput(input))
        const eligibility = yield* eligibilityOf(input, timezone, at)
        const dialing = yield* Dialing.resolve(directory, organizationId, input)
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
          maxFileBytes: config.maxFileBytes,
          columnMapping: input.columnMapping,
          rowsChecked: contacts === undefined // guarded with the body
        })
        if (report !== undefined) yield* checkStrict(report, input.strictValidation ?? config.strictValidation)
        const accepted = report?.accepted ?? []
        const settings = Batch.applySettings(Batch.defaultSettings, input, {
          agentId: dialing.agentId,
          phoneNumberIds: dialing.phoneNumberIds,
          retryPolicy,
          timezone,
          callingWindows,
          workingDays,
          scheduledStartTime,
          ...eligibility
        })
        const estimate = yield* estimateOf(context, organizationId, accepted.length, settings.concurrentCallLimit, schedule)
        if (!draft) yield* checkCredits(context, organizationId, estimate)
        const status: Batch.BatchStatus = draft ? "draft" : scheduledStartTime === null ? "pending" : "scheduled"
        const batch = Batch.make({
          id: `batch_${globalThis.crypto.randomUUID().replaceAll("-", "")}`,
          organizationId,
          status,
          settings,
          totalContacts: accepted.length,
          estimate,
          at
        })
        const feasibility = Feasibility.estimate({
          batch,
          schedule,
          phones: accepted.map((contact) => contact.phone),
          start: DateTime.toEpochMillis(scheduledStartTime ?? at),
          averageCallSeconds: config.averageCallSeconds
        })
        if (!feasibility.feasible && (input.refuseInfeasible ?? config.refuseInfeasible)) return yield* infeasible(feasibility)
        yield* store.createBatch(batch, accepted)
        // What the store kept: a repeated external id is stored once.
        const stored = (yield* store.findBatch(batch.id)) ?? batch
        yield* events.publish({ _tag: "BatchChanged", organizationId, batchId: batch.id, batch: stored, at })
        if (!draft) yield* dispatcher.wake(batch.id)
        const summary = report === undefined
          ? BatchView.emptyValidation
          : BatchView.validationSummaryOf(report, yield* DoNotCallList.warningsFor(context.doNotCall, organizationId, accepted, report))
        const response: BatchView.CreateBatchResponse = {
          batchJobId: batch.id,
          status,
          ...summary,
          totalContacts: stored.totalContacts,
          estimatedDuration: estimate.estimatedDuration,
          estimatedCost: estimate.estimatedCost,
          scheduledStartTime: scheduledStartTime === null ? null : DateTime.formatIso(scheduledStartTime),
          feasibility,
          message: createdMessage(status, accepted.length, summary.rejectedContacts)
        }
        return response
      }))
    )

  const validateContacts: BatchIntake["validateContacts"] = (organizationId, contacts, options) =>
    importing(Effect.gen(function*() {
      const destinationPolicy = options?.phoneNumberIds === undefined
        ? yield* directory.destinationPolicy(organizationId)
        : yield* Dialing.destinationPolicy(
          directory,
          organizationId,
          yield* Effect.forEach(options.phoneNumberIds, (id) => directory.callerNumber(organizationId, id))
        )
      const report = yield* importContacts(contacts, {
        defaultCountry: options?.defaultCountry ?? null,
        destinationPolicy,
        dropDuplicates: options?.dropDuplicates ?? false,
        maxContacts: config.maxContacts,
        maxFileBytes: config.maxFileBytes,
        columnMapping: yield* decodeColumnMapping(options?.columnMapping)
      })
      const feasibility = yield* validateFeasibility(context, options?.settings, report.accepted.map((contact) => contact.phone))
      const doNotCall = yield* DoNotCallList.warningsFor(context.doNotCall, organizationId, report.accepted, report)
      return {
        ...BatchView.validationSummaryOf(report, doNotCall),
        ...(feasibility === undefined ? {} : { feasibility }),
        accepted: report.accepted
      }
    }))

  // The estimate follows the contacts stored; a batch turned final meanwhile keeps its own.
  const refreshEstimate = (batch: Batch.Batch) =>
    Effect.gen(function*() {
      const { schedule } = yield* schedulingOf({}, batch)
      const estimate = yield* estimateOf(context, batch.organizationId, batch.totalContacts, batch.concurrentCallLimit, schedule)
      if (estimate.estimatedDuration === batch.estimatedDuration && estimate.estimatedCost === batch.estimatedCost) return batch
      return yield* store.updateBatch(batch.id, Batch.sourcesOf("add contacts to"), "estimate", {
        estimatedDuration: estimate.estimatedDuration,
        estimatedCost: estimate.estimatedCost
      }).pipe(Effect.catchTag("InvalidTransition", () => Effect.succeed(batch)))
    }).pipe(Effect.catchTag("InvalidInput", () => Effect.succeed(batch)))

  const addContacts: BatchIntake["addContacts"] = (organizationId, batchId, contacts, options) =>
    Idempotency.run(
      store,
      `${organizationId}:${batchId}:contacts`,
      options?.idempotency,
      importing(Effect.gen(function*() {
        const batch = yield* findBatch(context, organizationId, batchId)
        yield* Effect.fromResult(Batch.transition(batch.status, "add contacts to"))
        const dialing = yield* Dialing.resolve(directory, organizationId, {
          agentId: batch.agentId,
          phoneNumberIds: batch.phoneNumberIds
        })
        const dropDuplicates = options?.dropDuplicates ?? false
        const report = yield* importContacts(contacts, {
          defaultCountry: batch.defaultCountry,
          destinationPolicy: dialing.destinationPolicy,
          dropDuplicates,
          maxContacts: Math.max(0, config.maxContacts - batch.totalContacts),
          maxFileBytes: config.maxFileBytes,
          columnMapping: yield* decodeColumnMapping(options?.columnMapping)
        })
        yield* checkStrict(report, options?.strictValidation ?? config.strictValidation)
        if (batch.status !== "draft") {
          // A batch that calls must be able to pay for the contacts it gains, as a create must.
          const { schedule } = yield* schedulingOf({}, batch)
          yield* checkCredits(
            context,
            organizationId,
            yield* estimateOf(context, organizationId, report.accepted.length, batch.concurrentCallLimit, schedule)
          )
        }
        const at = yield* now
        const { added, skipped, storedNumbers } = yield* store.addContacts(batchId, report.accepted, at, {
          skipStoredNumbers: dropDuplicates
        })
        const updated = yield* refreshEstimate(yield* store.getBatch(organizationId, batchId))
        yield* publishBatch(context, updated)
        const doNotCall = yield* DoNotCallList.warningsFor(context.doNotCall, organizationId, report.accepted, report)
        // A running batch's dispatcher dials them now; a shared store tells other processes too.
        if (added > 0 && Batch.dispatchable.includes(updated.status)) yield* dispatcher.wake(batchId)
        return {
          ...BatchView.validationSummaryOf(report, doNotCall),
          added,
          skipped,
          totalContacts: updated.totalContacts,
          alreadyInBatch: alreadyIn(storedNumbers, report.accepted)
        }
      }))
    )

  const removeContact: BatchIntake["removeContact"] = (organizationId, batchId, contactId) =>
    Effect.gen(function*() {
      const batch = yield* findBatch(context, organizationId, batchId)
      yield* Effect.fromResult(Batch.transition(batch.status, "remove contacts from"))
      yield* checkId("contactId", contactId)
      yield* store.removeContact(batchId, contactId, yield* now)
      yield* publishBatch(context, yield* refreshEstimate(yield* store.getBatch(organizationId, batchId)))
    })

  return { createBatch, validateContacts, addContacts, removeContact }
}
