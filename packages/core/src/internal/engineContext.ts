/**
 * What the engine's use cases (intake, lifecycle, queries) share: the ports
 * they were built over and the few steps more than one of them takes.
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Semaphore from "effect/Semaphore"
import * as Batch from "../Batch.ts"
import type { BatchStore } from "../BatchStore.ts"
import * as CallingWindow from "../CallingWindow.ts"
import type { Credits } from "../Credits.ts"
import type { Directory } from "../Directory.ts"
import type { Dispatcher } from "../Dispatcher.ts"
import type { DoNotCall } from "../DoNotCall.ts"
import type { EngineConfig } from "../EngineConfig.ts"
import type { EngineEvents } from "../EngineEvents.ts"
import * as Estimate from "../Estimate.ts"
import * as InputGuard from "../InputGuard.ts"
import { InsufficientCredits, InvalidInput } from "../OutdialError.ts"

export interface EngineContext {
  readonly store: BatchStore["Service"]
  readonly directory: Directory["Service"]
  readonly credits: Credits["Service"]
  readonly events: EngineEvents["Service"]
  readonly dispatcher: Dispatcher["Service"]
  readonly doNotCall: DoNotCall["Service"]
  readonly config: EngineConfig
  /** Turns for contact imports (parse, validate, store), `config.maxConcurrentImports` at a time. */
  readonly imports: Semaphore.Semaphore
}

/** A start further away than this is a typo, and no calling campaign waits that long. */
const maxStartAheadMillis = 366 * 86_400_000

/** Ids are the engine's own, far shorter; anything longer names nothing. */
export const maxIdLength = 200

/** An id a client sent, as text the store can look up: no NUL, not absurdly long. */
export const checkId = (field: string, id: string): Effect.Effect<void, InvalidInput> => {
  const malformed = InputGuard.checkText(field, id, maxIdLength)
  return malformed === undefined ? Effect.void : Effect.fail(malformed)
}

/** The organization's batch, its id checked first. */
export const findBatch = (context: Pick<EngineContext, "store">, organizationId: string, batchId: string) =>
  Effect.andThen(checkId("batchId", batchId), context.store.getBatch(organizationId, batchId))

export const now: Effect.Effect<DateTime.Utc> = Effect.map(Clock.currentTimeMillis, (millis) => DateTime.makeUnsafe(millis))

export const invalid = (code: InvalidInput["code"], field: string, message: string, details?: Record<string, unknown>) =>
  new InvalidInput({ code, field, message, ...(details === undefined ? {} : { details }) })

export const publishBatch = (context: EngineContext, batch: Batch.Batch) =>
  Effect.flatMap(now, (at) =>
    context.events.publish({ _tag: "BatchChanged", organizationId: batch.organizationId, batchId: batch.id, batch, at }))

/** A request's calling windows and working days over `base`, compiled (which validates them). */
export const schedulingOf = (input: Batch.BatchSettingsInput, base: {
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

/** A host that requires a calling window on every batch refuses one without. */
export const checkWindowRequired = (
  context: EngineContext,
  callingWindows: ReadonlyArray<CallingWindow.Window>
): Effect.Effect<void, InvalidInput> =>
  context.config.requireCallingWindow && callingWindows.length === 0
    ? Effect.fail(invalid("invalid_calling_window", "callingWindow", "A calling window is required: set callingWindow or callingWindows"))
    : Effect.void

/** The instant of a requested start time, refused when it is in the past. */
export const startTimeOf = (
  value: string | null | undefined,
  timeZone: string,
  at: DateTime.Utc
): Result.Result<DateTime.Utc | null, InvalidInput> => {
  if (value === undefined || value === null) return Result.succeed(null)
  const parsed = Batch.parseStartTime(value, timeZone)
  if (parsed._tag === "None") {
    return Result.fail(invalid("validation_error", "scheduledStartTime", `scheduledStartTime "${value}" is not an ISO 8601 date-time`))
  }
  const start = parsed.value
  // A minute of slack for clocks and slow uploads.
  if (DateTime.toEpochMillis(start) < DateTime.toEpochMillis(at) - 60_000) {
    return Result.fail(invalid("past_scheduled_time", "scheduledStartTime", `scheduledStartTime ${DateTime.formatIso(start)} is in the past`))
  }
  if (DateTime.toEpochMillis(start) > DateTime.toEpochMillis(at) + maxStartAheadMillis) {
    return Result.fail(invalid("validation_error", "scheduledStartTime", "scheduledStartTime is more than a year ahead"))
  }
  return Result.succeed(start)
}

export const estimateOf = (
  context: EngineContext,
  organizationId: string,
  contacts: number,
  concurrentCallLimit: number,
  schedule: CallingWindow.Compiled
) =>
  Effect.map(context.credits.pricePerMinute(organizationId), (pricePerMinute) =>
    Estimate.estimate({
      contacts,
      concurrentCallLimit,
      openMinutesPerWeek: CallingWindow.openMinutesPerWeek(schedule),
      pricePerMinute,
      averageCallSeconds: context.config.averageCallSeconds
    }))

export const checkCredits = (context: EngineContext, organizationId: string, estimate: Estimate.Estimate) =>
  Effect.gen(function*() {
    const balance = yield* context.credits.balance(organizationId)
    if (balance >= estimate.costUsd && balance > 0) return
    return yield* new InsufficientCredits({
      message: `The batch is estimated at ${estimate.estimatedCost} but the balance is ${Estimate.usd(balance)}`,
      required: estimate.estimatedCost,
      available: Estimate.usd(balance)
    })
  })
