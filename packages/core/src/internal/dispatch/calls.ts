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
import * as Deferred from "effect/Deferred"
import * as Exit from "effect/Exit"
import * as References from "effect/References"
import * as Result from "effect/Result"
import * as BatchStore from "../../BatchStore.ts"
import type { AttemptEnd, AttemptStart, Begun, Lease, LeaseLost } from "../../BatchStore.ts"
import type { DialLimits } from "../../CallLimits.ts"
import type { CallOutcome } from "../../CallOutcome.ts"
import type { InvalidTransition, StoreError } from "../../OutdialError.ts"
import type { Contact, Decision } from "../../Contact.ts"
import * as ContactModel from "../../Contact.ts"
import * as EngineMetrics from "../../EngineMetrics.ts"
import type { CallResult, TelephonyError } from "../../Telephony.ts"
import { type Dialing, type DispatchContext, publishContact, type Runner, utcAt } from "./context.ts"
import { wakeAfterEnd } from "./alarm.ts"
import { endOf } from "./ends.ts"
import { guard } from "./watchdog.ts"

/** The waits between tries of a record after its first failed: 200 ms, doubling, 8 retries in all. */
const firstRetryMillis = 200
const laterRetries = Schedule.exponential(firstRetryMillis * 2, 2)

const isStoreError = (error: { readonly _tag: string }) => error._tag === "StoreError"

/** The wait after `failures` failures in a row: 1 s, doubling, at most 5 minutes. */
const backoffMillis = (failures: number): number => Math.min(1_000 * 2 ** Math.min(failures - 1, 20), 300_000)

/** Ends waiting to be written together, per runner. */
const pendingEnds = new WeakMap<Runner, Array<PendingEnd>>()
interface PendingEnd {
  readonly lease: Lease
  readonly end: AttemptEnd
  readonly done: Deferred.Deferred<Begun, LeaseLost | StoreError>
}
/** Ends per batched write at most. */
const maxEndsPerWrite = 100

/**
 * Records an attempt's end. Calls end one by one, but on a shared store each
 * write is a round trip and a commit: ends of the same tick are gathered and
 * written with one `finishAttempts` (up to `maxEndsPerWrite`), each caller
 * answered with its own result or the write's error. A process-local store
 * has no round trips to save and writes at once.
 */
const record = (context: DispatchContext, runner: Runner, lease: Lease, end: AttemptEnd) =>
  context.store.processLocal === true ? context.store.finishAttempt(lease, end) : Effect.suspend(() => {
    const done = Deferred.makeUnsafe<Begun, LeaseLost | StoreError>()
    let queue = pendingEnds.get(runner)
    if (queue === undefined || queue.length >= maxEndsPerWrite) {
      const fresh: Array<PendingEnd> = [{ lease, end, done }]
      pendingEnds.set(runner, fresh)
      // Written on the next tick, once the ends of this one have joined.
      const write = Effect.yieldNow.pipe(
        Effect.andThen(Effect.suspend(() => {
          if (pendingEnds.get(runner) === fresh) pendingEnds.delete(runner)
          return writeEnds(context, fresh)
        }))
      )
      return Effect.forkIn(write, context.scope).pipe(Effect.andThen(Deferred.await(done)))
    }
    queue.push({ lease, end, done })
    return Deferred.await(done)
  })

/** One write per lease epoch among `queue` (a renewal keeps the epoch, a retake changes it). */
const writeEnds = (context: DispatchContext, queue: ReadonlyArray<PendingEnd>) => {
  const byEpoch = new Map<number, Array<PendingEnd>>()
  for (const pending of queue) {
    const group = byEpoch.get(pending.lease.epoch)
    if (group === undefined) byEpoch.set(pending.lease.epoch, [pending])
    else group.push(pending)
  }
  return Effect.forEach(byEpoch.values(), (group) =>
    BatchStore.finishAttempts(context.store, group[0]!.lease, group.map((p) => p.end)).pipe(
      Effect.exit,
      Effect.flatMap((exit) =>
        Effect.sync(() => {
          group.forEach((pending, i) =>
            Deferred.doneUnsafe(pending.done, Exit.isSuccess(exit) ? Exit.succeed(exit.value[i]!) : Exit.failCause(exit.cause))
          )
        })
      )
    ), { discard: true, concurrency: "unbounded" })
}

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

/**
 * Records an ended call with the contact's next status, then frees its slot.
 * Without a generator: it runs once per call.
 */
export const finish = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  contact: Contact,
  attemptId: string,
  result: CallResult
): Effect.Effect<void> =>
  Effect.ensuring(
    Effect.catchCause(
      Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        if (result.outcome === "completed" && result.duration !== null) {
          runner.pace.talkSeconds += result.duration
          runner.pace.talkSamples++
        }
        const write = record(context, runner, dialing.lease, {
          attemptId,
          result,
          endedAt: utcAt(now),
          ...endOf(context, runner, dialing, contact, result, now)
        })
        // The write is idempotent, so a dropped connection is simply retried; the retry
        // machinery is built only once a try has failed, not for every call.
        const recorded = Effect.flatMap(
          Effect.catchIf(write, isStoreError, () =>
            Effect.sleep(firstRetryMillis).pipe(
              Effect.andThen(write),
              Effect.retry({ while: isStoreError, schedule: laterRetries, times: 7 })
            )),
          (recorded) => {
            runner.recording.failures = 0
            return publishContact(context, runner, recorded.contact, recorded.attempt, now)
          }
        )
        const ended = EngineMetrics.callEnded(runner.batch!.organizationId, result.outcome)
        return Effect.andThen(ended, result.optOut === true ? Effect.andThen(optOut(context, runner, contact, now), recorded) : recorded)
      }),
      (cause) => recordFailed(runner, dialing, cause)
    ),
    Effect.suspend(() => {
      runner.inFlight--
      return wakeAfterEnd(runner)
    })
  )

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

/** A call the provider refused, as the call's result. */
const failedCall = (error: TelephonyError): Effect.Effect<CallResult> =>
  Effect.succeed({
    outcome: "failed" satisfies CallOutcome,
    sipCode: null,
    duration: null,
    roomName: null,
    failureReason: error.message
  })

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
): Effect.Effect<void, InvalidTransition | LeaseLost | StoreError> => {
  const starts = picks.map(({ contact, decision }) => startOf(runner, dialing, contact, decision, now))
  return Effect.asVoid(
    Effect.flatMap(BatchStore.beginAttempts(context.store, dialing.lease, starts), (results) =>
      placeAll(context, runner, dialing, picks, starts, results, now))
  )
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
  Clock.clockWith((clock) => {
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
    const fenced = clock.currentTimeMillisUnsafe() >= DateTime.toEpochMillis(dialing.lease.expiresAt) - leaseTtlMillis / 4
    if (fenced) runner.dialing = undefined
    const placed = begun.length === 0
      ? Effect.void
      : fenced
      ? Effect.forEach(begun, (one) => Effect.ignore(store.abandonAttempt(dialing.lease, one.begun.attempt.id)), { discard: true })
      : Effect.andThen(
        dialsPlaced(runner, begun, now),
        Effect.forEach(begun, (one) => place(context, runner, dialing, one.contact, one.start, one.begun, now), { discard: true })
      )
    const count = Effect.as(placed, fenced ? 0 : begun.length)
    return refused === undefined ? count : Effect.andThen(placed, Effect.fail(refused))
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
const dialsPlaced = (runner: Runner, begun: ReadonlyArray<{ readonly contact: Contact }>, now: number) => {
  const batch = runner.batch!
  // Due: a retry's or a deferral's time; a first dial was due when the batch was to start, or last moved.
  const lags = begun.map(({ contact }) => now - DateTime.toEpochMillis(contact.nextRetryAt ?? batch.scheduledStartTime ?? batch.updatedAt))
  return EngineMetrics.dialsPlaced(batch.organizationId, lags)
}

/**
 * `call` in a span `outdial.dial`, where a tracer exports spans: the native
 * tracer's reach nobody, and a span per dial (with its stack trace) was a
 * tenth of a dial's cost.
 */
const traced = <A>(call: Effect.Effect<A>, begun: Begun): Effect.Effect<A> =>
  Effect.withFiber((fiber) =>
    fiber.getRef(References.TracerEnabled) && fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer
      ? Effect.withSpan(call, "outdial.dial", {
        attributes: {
          "outdial.attempt.id": begun.attempt.id,
          "outdial.batch.id": begun.attempt.batchId,
          "outdial.contact.id": begun.contact.id
        }
      })
      : call
  )

/** The call of an attempt begun, in its own fiber: announced, placed, and its end recorded. */
const place = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  contact: Contact,
  start: AttemptStart,
  begun: Begun,
  now: number
) => {
  const { scope, telephony } = context
  const batch = runner.batch!
  const { attemptNumber, callerNumberId } = start
  runner.inFlight++
  const attemptId = begun.attempt.id
  // Data-first calls, not a pipe: each piped step cost a closure and a pass through `pipe` on every dial.
  const dialed = Effect.catch(
    telephony.dial({
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
    failedCall
  )
  const call = traced(
    guard(context, attemptId, dialed, (result) => finish(context, runner, dialing, begun.contact, attemptId, result)),
    begun
  )
  // Started at once, so the contact's `dialing` event still comes before anything the call does.
  return Effect.forkIn(Effect.andThen(publishContact(context, runner, begun.contact, begun.attempt, now), call), scope, {
    startImmediately: true
  })
}
