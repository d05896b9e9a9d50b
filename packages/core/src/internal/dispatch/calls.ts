/**
 * Placing a call and recording its end. A call is begun in the store
 * (contact `dialing`, attempt open) before the provider hears of it, runs in
 * its own fiber, and its end is recorded with the contact's next status and,
 * for a retry or a callback the recipient asked for, the time it will really
 * be dialed: the retry delay (or the callback time), then every link of the
 * chain that can be answered in place (calling window, daily cap,
 * recipient-local hours, blackouts, a host's batch-wide links).
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Tracer from "effect/Tracer"
import * as Fiber from "effect/Fiber"
import * as References from "effect/References"
import * as Result from "effect/Result"
import * as BatchStore from "../../BatchStore.ts"
import type { AttemptStart, Begun, LeaseLost } from "../../BatchStore.ts"
import type { DialLimits } from "../../CallLimits.ts"
import type { CallOutcome } from "../../CallOutcome.ts"
import type { InvalidTransition, StoreError } from "../../OutdialError.ts"
import type { Contact, Decision } from "../../Contact.ts"
import * as ContactModel from "../../Contact.ts"
import * as EngineMetrics from "../../EngineMetrics.ts"
import type { CallResult, TelephonyError } from "../../Telephony.ts"
import { type Dialing, type DispatchContext, publishContact, type Runner, utcAt, type Watched } from "./context.ts"
import { endOf } from "./ends.ts"
import { record } from "./records.ts"
import { freeingSlot, slotFreed } from "./alarm.ts"
import { arm, callAnswered, watch } from "./watchdog.ts"

/** The waits between tries of a record after its first failed: 200 ms, doubling, 8 retries in all. */
const firstRetryMillis = 200
const laterRetries = Schedule.exponential(firstRetryMillis * 2, 2)

const isStoreError = (error: { readonly _tag: string }) => error._tag === "StoreError"

/** The wait after `failures` failures in a row: 1 s, doubling, at most 5 minutes. */
const backoffMillis = (failures: number): number => Math.min(1_000 * 2 ** Math.min(failures - 1, 20), 300_000)

/**
 * The callee asked never to be called again: the number joins the
 * organization's list before the call is recorded, so no step after it, in
 * any batch or process, dials the number again (the do-not-call link skips
 * the other contacts with it as their turn comes). A list that cannot be
 * written is retried, then logged: the call's record must not be lost to it.
 */
const optOut = (context: DispatchContext, runner: Runner, contact: Contact, now: number) =>
  context.doNotCall.add(runner.batch!.organizationId, [{
    number: contact.phone,
    source: "opt_out",
    expiresAt: null,
    createdAt: utcAt(now)
  }]).pipe(
    Effect.retry({ schedule: Schedule.exponential(firstRetryMillis, 2), times: 5 }),
    Effect.catchCause((cause) =>
      Effect.logError(`outdial: could not add ${contact.phone} to the do-not-call list after an opt-out`, cause)
    )
  )

/** Whether a record write failed with a store error (a dropped connection, say). */
const storeErrorIn = (cause: Cause.Cause<unknown>): boolean =>
  Cause.findError(cause).pipe((found) => Result.isSuccess(found) && isStoreError(found.success as { readonly _tag: string }))

/**
 * Records an ended call with the contact's next status. Without a generator,
 * and with one layer of effects per concern (the record, its failure): it
 * runs once per call. The slot is freed by whoever ran it (`placeCalls`).
 */
export const finish = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  contact: Contact,
  attemptId: string,
  result: CallResult
): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
    if (result.outcome === "completed" && result.duration !== null) {
      runner.pace.talkSeconds += result.duration
      runner.pace.talkSamples++
    }
    EngineMetrics.callEndedUnsafe(runner.batch!.organizationId, result.outcome, fiber.context)
    const write = record(context, runner, dialing.lease, endOf(context, runner, dialing, contact, attemptId, result, now))
    // One match over the write, not a catch around a flatMap: two fewer steps for every call.
    // Its handlers are methods: a transform keeping names (tsx, esbuild's keepNames) renames
    // every closure written as a property or a variable, each time it is made.
    const written = Effect.matchCauseEffect(write, {
      onSuccess(recorded) {
        return recordedEnd(context, runner, recorded, now)
      },
      // The write is idempotent, so a dropped connection is simply retried; the retry
      // machinery is built only once a try has failed, not for every call.
      onFailure(cause) {
        return storeErrorIn(cause)
          ? Effect.sleep(firstRetryMillis).pipe(
            Effect.andThen(write),
            Effect.retry({ while: isStoreError, schedule: laterRetries, times: 7 }),
            Effect.flatMap((recorded) => recordedEnd(context, runner, recorded, now)),
            Effect.catchCause((cause) => recordFailed(runner, dialing, cause))
          )
          : recordFailed(runner, dialing, cause)
      }
    })
    return result.optOut === true ? Effect.andThen(optOut(context, runner, contact, now), written) : written
  })

/** An end recorded: the failures in a row are over, and the contact's change is announced. */
const recordedEnd = (context: DispatchContext, runner: Runner, recorded: Begun, now: number) => {
  runner.recording.failures = 0
  return publishContact(context, runner, recorded.contact, recorded.attempt, now)
}

/**
 * A lost lease means another process owns the batch and reconciles this attempt. Any
 * other failure leaves the attempt open: after a growing back-off this process takes
 * its own lease anew (a new epoch) and reconciles it the same way; past
 * `maxRecordFailures` in a row the batch fails with the cause.
 */
const recordFailed = (runner: Runner, dialing: Dialing, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Cause.hasInterruptsOnly(cause)
    ? Effect.failCause(cause as Cause.Cause<never>)
    : Effect.gen(function*() {
      const lost = Cause.findErrorOption(cause)
      if (lost._tag === "Some" && (lost.value as { _tag?: string })._tag === "LeaseLost") {
        if (runner.dialing === dialing) runner.dialing = undefined
        return
      }
      // The attempt stays open whatever lease the runner holds now (a renewal replaces it).
      runner.dialing = undefined
      const recording = runner.recording
      recording.failures++
      recording.last = Cause.pretty(cause).split("\n")[0]!.slice(0, 200)
      const now = yield* Clock.currentTimeMillis
      recording.backoffUntil = Math.max(recording.backoffUntil, now + backoffMillis(recording.failures))
      yield* Effect.logWarning(
        `outdial: could not record a call (${recording.failures} in a row); retrying after a back-off`,
        cause
      )
    })

/** Follows a call another holder placed until the provider says it ended. */
export const awaitFinished = (context: DispatchContext, attemptId: string): Effect.Effect<CallResult> =>
  Effect.sleep(context.config.reconcilePollMillis).pipe(
    Effect.andThen(context.telephony.lookup(attemptId)),
    Effect.catch(() => Effect.succeed({ _tag: "InProgress" } as const)),
    Effect.flatMap((status) =>
      status._tag === "Finished" ? Effect.succeed(status.result) : awaitFinished(context, attemptId)
    )
  )

/** A call the provider refused, as the call's result; `undefined` for a defect or an interruption, which go on. */
const refusedCall = (cause: Cause.Cause<TelephonyError>): CallResult | undefined => {
  const refusal = Cause.hasDies(cause) ? undefined : Cause.findError(cause)
  return refusal === undefined || Result.isFailure(refusal) ? undefined : {
    outcome: "failed" satisfies CallOutcome,
    sipCode: null,
    duration: null,
    roomName: null,
    failureReason: refusal.success.message
  }
}

const startOf = (runner: Runner, dialing: Dialing, contact: Contact, decision: Decision, now: number): AttemptStart => ({
  contactId: contact.id,
  attemptNumber: contact.attemptCount + 1,
  callerNumberId: dialing.pickNumber(contact.row),
  startedAt: utcAt(now),
  localDate: runner.pace.localDate,
  decision
})

/**
 * Begins a step's attempts with one write (`BatchStore.beginAttempts`), then
 * places each call in its own fiber; the first contact refused then fails
 * the step. Without a generator, and with one clock read for the step's
 * self-fencing: the cost of a dial was mostly the effects around it.
 */
export const dialAll = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  picks: ReadonlyArray<{ readonly contact: Contact; readonly decision: Decision }>,
  now: number
): Effect.Effect<number, InvalidTransition | LeaseLost | StoreError> => {
  const starts = picks.map(({ contact, decision }) => startOf(runner, dialing, contact, decision, now))
  return Effect.flatMap(BatchStore.beginAttempts(context.store, dialing.lease, starts), (results) =>
    placeAll(context, runner, dialing, picks, starts, results, now))
}

/**
 * Places the calls of the attempts the store began (`undefined`: held back by
 * the organization's limits, not begun), after self-fencing; answers how many
 * were placed.
 */
const placeAll = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  picks: ReadonlyArray<{ readonly contact: Contact; readonly decision: Decision }>,
  starts: ReadonlyArray<AttemptStart>,
  results: ReadonlyArray<Result.Result<Begun, InvalidTransition> | undefined>,
  now: number
): Effect.Effect<number, InvalidTransition> =>
  // One look at the fiber for the self-fencing clock read and the calls' forks.
  Effect.withFiber((fiber) => {
    const { leaseTtlMillis, store } = context
    const begun: Array<{ readonly contact: Contact; readonly start: AttemptStart; readonly begun: Begun }> = []
    let refused: InvalidTransition | undefined
    results.forEach((result, i) => {
      if (result === undefined) return
      // A contact removed since it was read is not called; any other refusal is the store disagreeing.
      if (Result.isFailure(result)) refused ??= ContactModel.isRemoved(result.failure) ? undefined : result.failure
      else begun.push({ contact: picks[i]!.contact, start: starts[i]!, begun: result.success })
    })
    runner.pace.callsToday += begun.length
    // Self-fencing: a lease that could have expired meanwhile (a long pause, a slow
    // store) may belong to another process by now, which would redial these contacts.
    const fenced = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe() >=
      DateTime.toEpochMillis(dialing.lease.expiresAt) - leaseTtlMillis / 4
    if (fenced) runner.dialing = undefined
    const placed = begun.length === 0
      ? Effect.void
      : fenced
      ? Effect.forEach(begun, (one) => Effect.ignore(store.abandonAttempt(dialing.lease, one.begun.attempt.id)), { discard: true })
      : placeCalls(context, runner, dialing, begun, now, fiber)
    if (refused !== undefined) return Effect.andThen(placed, Effect.fail(refused))
    const count = fenced ? 0 : begun.length
    return placed === Effect.void ? Effect.succeed(count) : Effect.as(placed, count)
  })

/**
 * `dialAll` under the organization's limits (`BatchStore.beginAttemptsWithin`):
 * the contacts the limits refuse are not begun and wait for a later step;
 * `retryAt` says when a caller number's calls per second allow the next.
 */
export const dialWithin = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  picks: ReadonlyArray<{ readonly contact: Contact; readonly decision: Decision }>,
  limits: DialLimits,
  now: number
) => {
  if (picks.length === 0) return Effect.succeed({ placed: 0, throttled: 0, retryAt: undefined })
  const starts = picks.map(({ contact, decision }) => startOf(runner, dialing, contact, decision, now))
  return Effect.flatMap(context.store.beginAttemptsWithin(dialing.lease, starts, limits), ({ results, retryAt }) =>
    Effect.map(placeAll(context, runner, dialing, picks, starts, results, now), (placed) => ({
      placed,
      throttled: results.filter((result) => result === undefined).length,
      retryAt
    })))
}

/** The step's dials in the metrics at once, each with its lag from when it was due. */
const dialsPlaced = (runner: Runner, begun: ReadonlyArray<{ readonly contact: Contact }>, now: number, fiber: Fiber.Fiber<unknown, unknown>) => {
  const batch = runner.batch!
  // Due: a retry's or a deferral's time; a first dial was due when the batch was to start, or last moved.
  const lags = begun.map(({ contact }) => now - DateTime.toEpochMillis(contact.nextRetryAt ?? batch.scheduledStartTime ?? batch.updatedAt))
  EngineMetrics.dialsPlacedUnsafe(batch.organizationId, lags, fiber.context)
}

/** Whether calls get a span `outdial.dial`: the native tracer's reach nobody, and one a dial was a tenth of its cost. */
const tracing = (fiber: Fiber.Fiber<unknown, unknown>): boolean =>
  fiber.getRef(References.TracerEnabled) && fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer

/**
 * Places a step's calls, each in its own fiber (interrupted when the
 * dispatcher closes: `LiveCalls`), started at once in turn: forked from one
 * effect for the step, not with an effect (and a fork's own effects) per call. A call's slot is freed as its
 * fiber ends, by an observer, not an effect of its own: the fiber ends once
 * its end is recorded (or cannot be), or when the dispatcher closes. When
 * the watchdog answers first, the call's fiber ends interrupted and the
 * watchdog's record frees the slot instead.
 */
const placeCalls = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  begun: ReadonlyArray<{ readonly contact: Contact; readonly start: AttemptStart; readonly begun: Begun }>,
  now: number,
  fiber: Fiber.Fiber<unknown, unknown>
): Effect.Effect<void> => {
  dialsPlaced(runner, begun, now, fiber)
  const fork = Effect.runForkWith(fiber.context)
  const traced = tracing(fiber)
  const live = context.calls
  for (const one of begun) {
    const watched = watch(
      context,
      one.begun.attempt.id,
      now,
      (result) => freeingSlot(runner, finish(context, runner, dialing, one.begun.contact, one.begun.attempt.id, result))
    )
    runner.inFlight++
    const call = fork(place(context, runner, dialing, one, watched, now, traced))
    watched.fiber = call
    live.fibers.add(call)
    call.addObserver(() => {
      live.fibers.delete(call)
      if (watched.answeredBy !== "watchdog") slotFreed(runner)
    })
    if (live.closed) call.interruptUnsafe()
  }
  return arm(context, now)
}

/** A call's end, recorded unless the watchdog answered first. */
const callEnded = (context: DispatchContext, runner: Runner, dialing: Dialing, watched: Watched, begun: Begun, result: CallResult) =>
  callAnswered(context, watched) ? finish(context, runner, dialing, begun.contact, begun.attempt.id, result) : Effect.void

/** The call of an attempt begun, for its own fiber: announced, placed, and its end recorded unless the watchdog's was. */
const place = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  { begun, contact, start }: { readonly contact: Contact; readonly start: AttemptStart; readonly begun: Begun },
  watched: Watched,
  now: number,
  traced: boolean
): Effect.Effect<void> => {
  const batch = runner.batch!
  const { attemptNumber, callerNumberId } = start
  const attemptId = begun.attempt.id
  // Data-first calls, not a pipe: each piped step cost a closure and a pass through `pipe` on every dial.
  // One match over the dial (its result, or a refusal as the result): fewer steps than a catch and a flatMap.
  const call = Effect.matchCauseEffect(
    context.telephony.dial({
      attemptId,
      organizationId: batch.organizationId,
      batchId: batch.id,
      contactId: contact.id,
      attemptNumber,
      agentId: batch.agentId,
      callerNumberId,
      callerNumber: dialing.numbers.get(callerNumberId) ?? null,
      to: contact.phone,
      contactName: contact.name,
      dynamicVariables: ContactModel.dynamicVariablesOf(contact.customFields)
    }),
    // Methods, not closures in properties (see `finish`).
    {
      onSuccess(result) {
        return callEnded(context, runner, dialing, watched, begun, result)
      },
      onFailure(cause) {
        const refused = refusedCall(cause)
        return refused === undefined
          ? Effect.failCause(cause as Cause.Cause<never>)
          : callEnded(context, runner, dialing, watched, begun, refused)
      }
    }
  )
  const spanned = traced
    ? Effect.withSpan(call, "outdial.dial", {
      attributes: {
        "outdial.attempt.id": attemptId,
        "outdial.batch.id": begun.attempt.batchId,
        "outdial.contact.id": begun.contact.id
      }
    })
    : call
  // Announced first, so the contact's `dialing` event still comes before anything the call does.
  const announced = publishContact(context, runner, begun.contact, begun.attempt, now)
  return announced === Effect.void ? spanned : Effect.andThen(announced, spanned)
}
