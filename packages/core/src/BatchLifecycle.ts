/**
 * Moving a batch through its lifecycle: edit a draft, schedule, pause,
 * resume, cancel, retry, delete. Each action's change is a pure `plan` of
 * the batch, the request and the time — table-tested without a store — and
 * one `apply` runs them all the same way: refuse a move the state forbids
 * before looking at the request, plan, write expecting the statuses the
 * machine allows the action from, publish, wake the dispatcher.
 *
 * @since 0.1.0
 */
import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Batch from "./Batch.ts"
import * as BatchQueries from "./BatchQueries.ts"
import * as BatchView from "./BatchView.ts"
import * as CallingWindow from "./CallingWindow.ts"
import type { ContactStatus } from "./Contact.ts"
import * as Dialing from "./Dialing.ts"
import { decodeInput } from "./internal/decodeInput.ts"
import { eligibilityOf } from "./internal/eligibilityOptions.ts"
import {
  checkCredits,
  checkWindowRequired,
  type EngineContext,
  estimateOf,
  findBatch,
  now,
  publishBatch,
  schedulingOf,
  startTimeOf
} from "./internal/engineContext.ts"
import {
  type BatchNotFound,
  type InsufficientCredits,
  type InvalidInput,
  InvalidTransition,
  type StoreError
} from "./OutdialError.ts"
import * as RetryPolicy from "./RetryPolicy.ts"

/**
 * The fields an action changes.
 *
 * @since 0.1.0
 * @category models
 */
export type Patch = Partial<Omit<Batch.Batch, "id" | "organizationId" | "createdAt">>

/**
 * An action with what its plan needs; whatever needs the directory or the
 * credit service (dialing, the estimate) is settled before planning.
 *
 * @since 0.1.0
 * @category models
 */
export type Request =
  | {
    readonly action: "update"
    readonly settings: Batch.Settings
    readonly estimate: { readonly estimatedDuration: string; readonly estimatedCost: string }
  }
  | { readonly action: "schedule"; readonly scheduledStartTime?: string | null | undefined }
  | { readonly action: "pause" }
  | { readonly action: "resume" }
  | { readonly action: "cancel" }
  | { readonly action: "retry" }

const patchOf = (
  batch: Batch.Batch,
  request: Request,
  at: DateTime.Utc
): Result.Result<Patch, InvalidInput | InvalidTransition> => {
  switch (request.action) {
    case "update":
      return Result.succeed({ ...request.settings, ...request.estimate })
    case "schedule": {
      if (batch.status === "draft" && batch.totalContacts === 0) {
        return Result.fail(
          new InvalidTransition({ entity: "batch", action: "schedule", from: batch.status, reason: "it has no contacts yet" })
        )
      }
      return Result.map(
        request.scheduledStartTime === undefined
          ? Result.succeed(batch.scheduledStartTime)
          : startTimeOf(request.scheduledStartTime, batch.timezone, at),
        (scheduledStartTime) => ({ status: scheduledStartTime === null ? "pending" : "scheduled", scheduledStartTime })
      )
    }
    case "pause":
      return Result.succeed({ status: "paused", statusReason: "paused by request" })
    case "resume":
      // Back to where the batch would be had it never paused.
      return Result.succeed({
        status: batch.actualStartTime !== null ? "running" : batch.scheduledStartTime === null ? "pending" : "scheduled",
        statusReason: null
      })
    case "cancel":
      return Result.succeed({ status: "cancelled", completedAt: at, statusReason: "cancelled by request" })
    case "retry":
      return Result.succeed({ status: "running", completedAt: null, statusReason: null })
  }
}

/**
 * The change `request` makes to `batch` at `at`, or why it may not: the
 * state machine refuses a move from the batch's status (checked first, so a
 * forbidden move is refused before its request is looked at) or to the
 * status the plan chose.
 *
 * @since 0.1.0
 * @category planning
 */
export const plan = (
  batch: Batch.Batch,
  request: Request,
  at: DateTime.Utc
): Result.Result<Patch, InvalidInput | InvalidTransition> => {
  if (Batch.machine.targets(batch.status, request.action).length === 0) {
    return Result.flatMap(Batch.transition(batch.status, request.action), () => Result.succeed({}))
  }
  return Result.flatMap(patchOf(batch, request, at), (patch) =>
    Result.map(Batch.transition(batch.status, request.action, patch.status ?? batch.status), () => patch))
}

/**
 * `retry`'s request: how many more attempts each re-queued contact gets
 * (1 unless given), written as a number or, in a form, as digits.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RetryInput = Schema.Struct({
  extraAttempts: Schema.optionalKey(Schema.Union([
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10 })),
    BatchQueries.IntFromString(Schema.isBetween({ minimum: 1, maximum: 10 }))
  ]))
})

type ChangeError = InvalidInput | BatchNotFound | InvalidTransition | StoreError

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchLifecycle {
  readonly updateDraft: (organizationId: string, batchId: string, input: unknown) => Effect.Effect<BatchView.BatchSummary, ChangeError>
  readonly schedule: (
    organizationId: string,
    batchId: string,
    input?: { readonly scheduledStartTime?: string | null | undefined }
  ) => Effect.Effect<BatchView.BatchSummary, ChangeError | InsufficientCredits>
  readonly pause: (organizationId: string, batchId: string) => Effect.Effect<BatchView.BatchSummary, ChangeError>
  readonly resume: (organizationId: string, batchId: string) => Effect.Effect<BatchView.BatchSummary, ChangeError>
  readonly cancel: (organizationId: string, batchId: string) => Effect.Effect<BatchView.BatchSummary, ChangeError>
  readonly retry: (
    organizationId: string,
    batchId: string,
    /** `extraAttempts`: an integer from 1 to 10, as any body sent it (anything else is a `validation_error`). */
    input?: { readonly extraAttempts?: unknown }
  ) => Effect.Effect<BatchView.RetryResponse, ChangeError>
  readonly deleteBatch: (organizationId: string, batchId: string) => Effect.Effect<void, ChangeError>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (context: EngineContext): BatchLifecycle => {
  const { directory, dispatcher, store } = context
  const decodeUpdate = decodeInput(Batch.UpdateBatchInput)
  const decodeRetry = BatchQueries.decoder(RetryInput)

  /**
   * Settles the request for the organization's batch (`prepare`), plans it,
   * checks what the plan needs (`verify`), writes it, runs `afterWrite`
   * (before anyone hears of the change), publishes the batch and wakes the
   * dispatcher.
   */
  const apply = <E, A = void>(
    organizationId: string,
    batchId: string,
    action: Request["action"],
    steps: {
      readonly prepare: (batch: Batch.Batch, at: DateTime.Utc) => Effect.Effect<Request, E>
      readonly verify?: (batch: Batch.Batch) => Effect.Effect<void, E>
      readonly afterWrite?: (batch: Batch.Batch, at: DateTime.Utc) => Effect.Effect<A, StoreError>
    }
  ) =>
    Effect.gen(function*() {
      const batch = yield* findBatch(context, organizationId, batchId)
      // A move the batch's state forbids is refused before its request is looked at.
      if (Batch.machine.targets(batch.status, action).length === 0) {
        yield* Effect.fromResult(Batch.transition(batch.status, action))
      }
      const at = yield* now
      const patch = yield* Effect.fromResult(plan(batch, yield* steps.prepare(batch, at), at))
      if (steps.verify !== undefined) yield* steps.verify(batch)
      const updated = yield* store.updateBatch(batchId, Batch.sourcesOf(action), action, { ...patch, updatedAt: at })
      const after = steps.afterWrite === undefined ? undefined : yield* steps.afterWrite(batch, at)
      yield* publishBatch(context, updated)
      yield* dispatcher.wake(batchId)
      return [updated, after as A] as const
    })

  const updateDraft: BatchLifecycle["updateDraft"] = (organizationId, batchId, raw) =>
    Effect.gen(function*() {
      const input = yield* decodeUpdate(raw)
      const [updated] = yield* apply(organizationId, batchId, "update", {
        prepare: (batch, at) =>
        Effect.gen(function*() {
          const scheduling = yield* schedulingOf(input, batch)
          yield* checkWindowRequired(context, scheduling.callingWindows)
          const numbersChanged = input.agentId !== undefined || input.phoneNumberIds !== undefined ||
            input.fromPhoneNumberId !== undefined
          const dialing = numbersChanged
            ? yield* Dialing.resolve(directory, organizationId, {
              // Numbers named without an agent take their own agent; none named (or an empty list) keep the batch's.
              agentId: input.agentId ??
                ((input.phoneNumberIds ?? []).length === 0 && input.fromPhoneNumberId === undefined ? batch.agentId : undefined),
              phoneNumberIds: input.phoneNumberIds ??
                (input.fromPhoneNumberId === undefined ? batch.phoneNumberIds : [input.fromPhoneNumberId])
            })
            : undefined
          const retryPolicy = input.maxAttempts !== undefined || input.retryDelay !== undefined
            ? yield* Effect.fromResult(RetryPolicy.fromInput({
              maxAttempts: input.maxAttempts ?? batch.retryPolicy.maxAttempts,
              retryDelay: input.retryDelay ?? batch.retryPolicy.delaySeconds as unknown as RetryPolicy.RetryDelayInput,
              retryableOutcomes: batch.retryPolicy.retryableOutcomes
            }))
            : undefined
          const concurrentCallLimit = input.concurrentCallLimit ?? batch.concurrentCallLimit
          const estimate = yield* estimateOf(context, organizationId, batch.totalContacts, concurrentCallLimit, scheduling.schedule)
          const scheduledStartTime = input.scheduledStartTime === undefined
            ? undefined
            : yield* Effect.fromResult(startTimeOf(input.scheduledStartTime, scheduling.timezone, at))
          const eligibility = yield* eligibilityOf(input, scheduling.timezone, at)
          const settings = Batch.applySettings(Batch.settingsOf(batch), input, {
            ...eligibility,
            ...(dialing === undefined ? {} : { agentId: dialing.agentId, phoneNumberIds: dialing.phoneNumberIds }),
            ...(retryPolicy === undefined ? {} : { retryPolicy }),
            timezone: scheduling.timezone,
            callingWindows: scheduling.callingWindows,
            workingDays: scheduling.workingDays,
            // An explicit null clears the start time.
            ...(scheduledStartTime === undefined ? {} : { scheduledStartTime })
          })
          return { action: "update" as const, settings, estimate }
        })
      })
      return BatchView.summaryOf(updated)
    })

  const schedule: BatchLifecycle["schedule"] = (organizationId, batchId, input) =>
    Effect.map(
      apply(organizationId, batchId, "schedule", {
        prepare: () => Effect.succeed({ action: "schedule" as const, scheduledStartTime: input?.scheduledStartTime }),
        // Leaving draft commits to calling: the estimate must be covered.
        verify: (batch) =>
          batch.status !== "draft" ? Effect.void : Effect.gen(function*() {
            const compiled = yield* CallingWindow.compileEffect({
              timeZone: batch.timezone,
              windows: batch.callingWindows,
              workingDays: batch.workingDays
            })
            const estimate = yield* estimateOf(context, organizationId, batch.totalContacts, batch.concurrentCallLimit, compiled)
            yield* checkCredits(context, organizationId, estimate)
          })
      }),
      ([updated]) => BatchView.summaryOf(updated)
    )

  const move = (action: "pause" | "resume" | "cancel", organizationId: string, batchId: string) =>
    Effect.map(apply(organizationId, batchId, action, { prepare: () => Effect.succeed({ action }) }), ([updated]) => updated)

  const cancel: BatchLifecycle["cancel"] = (organizationId, batchId) =>
    Effect.gen(function*() {
      const updated = yield* move("cancel", organizationId, batchId)
      // Waiting contacts now; the dispatcher cancels the rest once its calls in flight end.
      yield* store.cancelContacts(batchId, updated.updatedAt)
      return BatchView.summaryOf(updated)
    })

  const retry: BatchLifecycle["retry"] = (organizationId, batchId, raw) =>
    Effect.gen(function*() {
      const input = yield* decodeRetry(raw)
      // A cancel ended the contacts still waiting: a retry of a cancelled batch calls them too.
      const requeuedStatuses = (batch: Batch.Batch): ReadonlyArray<ContactStatus> =>
        batch.status === "cancelled" ? [...batch.retryPolicy.retryableOutcomes, "cancelled"] : batch.retryPolicy.retryableOutcomes
      const refuse = (batch: Batch.Batch, reason: string) =>
        new InvalidTransition({ entity: "batch", action: "retry", from: batch.status, reason })
      const [updated, requeued] = yield* apply(organizationId, batchId, "retry", {
        prepare: () => Effect.succeed({ action: "retry" as const }),
        // Refused before anything changes: nothing to re-queue, or (for a failed batch) its
        // agent or caller numbers still cannot dial.
        verify: (batch) =>
          Effect.gen(function*() {
            const breakdown = yield* store.statusBreakdown(batchId)
            // A failed batch may also have contacts it never reached: they wait as they were.
            const waiting = breakdown.pending + breakdown.queued
            if (waiting === 0 && !requeuedStatuses(batch).some((status) => breakdown[status] > 0)) {
              return yield* refuse(batch, "nothing to retry")
            }
            if (batch.status === "failed") {
              yield* Dialing.resolve(directory, organizationId, { agentId: batch.agentId, phoneNumberIds: batch.phoneNumberIds }).pipe(
                Effect.mapError((cause) => refuse(batch, cause.message))
              )
            }
          }),
        // Running first, then re-queued, then heard of: the dispatcher never sees a
        // finished batch with waiting contacts.
        afterWrite: (batch, at) => store.requeueContacts(batchId, requeuedStatuses(batch), input.extraAttempts ?? 1, at)
      })
      return { ...BatchView.summaryOf(updated), requeued }
    })

  const deleteBatch: BatchLifecycle["deleteBatch"] = (organizationId, batchId) =>
    Effect.gen(function*() {
      const batch = yield* findBatch(context, organizationId, batchId)
      if (!Batch.isDeletable(batch.status)) {
        return yield* new InvalidTransition({ entity: "batch", action: "delete", from: batch.status })
      }
      yield* store.deleteBatch(batchId, Batch.statuses.filter(Batch.isDeletable))
      yield* dispatcher.wake(batchId)
    })

  return {
    updateDraft,
    schedule,
    pause: (organizationId, batchId) => Effect.map(move("pause", organizationId, batchId), BatchView.summaryOf),
    resume: (organizationId, batchId) => Effect.map(move("resume", organizationId, batchId), BatchView.summaryOf),
    cancel,
    retry,
    deleteBatch
  }
}
