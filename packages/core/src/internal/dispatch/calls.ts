/**
 * Placing a call and recording its end. A call is begun in the store
 * (contact `dialing`, attempt open) before the provider hears of it, runs in
 * its own fiber, and its end is recorded with the contact's next status and,
 * for a retry, the time it will really be dialed: the retry delay, then the
 * chain's batch-wide policies (calling window, daily cap, a host's).
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Deferred from "effect/Deferred"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as BatchStore from "../../BatchStore.ts"
import type { AttemptEnd, AttemptStart, Begun, Lease, LeaseLost } from "../../BatchStore.ts"
import type { CallOutcome } from "../../CallOutcome.ts"
import type { InvalidTransition, StoreError } from "../../OutdialError.ts"
import * as CallingWindow from "../../CallingWindow.ts"
import type { Contact, Decision } from "../../Contact.ts"
import * as Eligibility from "../../Eligibility.ts"
import * as EngineMetrics from "../../EngineMetrics.ts"
import * as RetryPolicy from "../../RetryPolicy.ts"
import type { CallResult, TelephonyError } from "../../Telephony.ts"
import { type Dialing, type DispatchContext, publishContact, type Runner, utcAt } from "./context.ts"

/** The waits between tries of a record after its first failed: 200 ms, doubling, 8 retries in all. */
const firstRetryMillis = 200
const laterRetries = Schedule.exponential(firstRetryMillis * 2, 2)

const isStoreError = (error: { readonly _tag: string }) => error._tag === "StoreError"

/**
 * When a contact whose call ended at `now` with `outcome` is dialed again,
 * or `undefined` when it is not: the policy's delay, then the first instant
 * the batch-wide policies let the batch dial.
 */
export const nextRetryAt = (
  runner: Runner,
  dialing: Dialing,
  contact: Contact,
  outcome: CallOutcome,
  now: number
): number | undefined => {
  const batch = runner.batch!
  if (!RetryPolicy.shouldRetry(batch.retryPolicy, outcome, contact.attemptCount, contact.maxAttempts)) return undefined
  const due = now + RetryPolicy.delayAfter(batch.retryPolicy, outcome, contact.attemptCount) * 1000
  const { localDate, callsToday } = runner.pace
  const at = Eligibility.nextBatchDial(dialing.policies, { batch, schedule: dialing.schedule, now: due, callsToday: 0 }, (at) =>
    // Attempts of today count against today's cap; a later day starts afresh.
    CallingWindow.localDate(dialing.schedule, at) === localDate ? callsToday : 0)
  // A retry that could never come (no opening within the horizon) is no retry: the contact ends.
  return at !== undefined && at <= now + retryHorizonMillis ? at : undefined
}

/** Further away than this a retry is no retry; it also keeps every time well inside a date's range. */
const retryHorizonMillis = 400 * 86_400_000

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
  Effect.suspend(() => {
    const { store } = context
    if (store.processLocal === true) return store.finishAttempt(lease, end)
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

/** Records an ended call with the contact's next status, then frees its slot. */
export const finish = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  contact: Contact,
  attemptId: string,
  result: CallResult
) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* EngineMetrics.callEnded(runner.batch!.organizationId, result.outcome)
    const retryAt = nextRetryAt(runner, dialing, contact, result.outcome, now)
    if (result.outcome === "completed" && result.duration !== null) {
      runner.pace.talkSeconds += result.duration
      runner.pace.talkSamples++
    }
    const write = record(context, runner, dialing.lease, {
      attemptId,
      result,
      endedAt: utcAt(now),
      status: retryAt === undefined ? result.outcome : "queued",
      nextRetryAt: retryAt === undefined ? null : DateTime.makeUnsafe(retryAt),
      decision: null
    })
    // The write is idempotent, so a dropped connection is simply retried; the retry
    // machinery is built only once a try has failed, not for every call.
    const recorded = yield* write.pipe(
      Effect.catchIf(isStoreError, () =>
        Effect.sleep(firstRetryMillis).pipe(
          Effect.andThen(write),
          Effect.retry({ while: isStoreError, schedule: laterRetries, times: 7 })
        ))
    )
    runner.recording.failures = 0
    yield* publishContact(context, runner, recorded.contact, recorded.attempt, now)
  }).pipe(
    // A lost lease means another process owns the batch and reconciles this attempt. Any
    // other failure leaves the attempt open: after a growing back-off this process takes
    // its own lease anew (a new epoch) and reconciles it the same way; past
    // `maxRecordFailures` in a row the batch fails with the cause.
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
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
    ),
    Effect.ensuring(Effect.sync(() => {
      runner.inFlight--
      runner.alarm.signal.openUnsafe()
    }))
  )

/** Follows a call another holder placed until the provider says it ended. */
export const awaitFinished = (context: DispatchContext, attemptId: string): Effect.Effect<CallResult> =>
  Effect.sleep(context.config.reconcilePollMillis).pipe(
    Effect.andThen(context.telephony.lookup(attemptId)),
    Effect.catch(() => Effect.succeed({ _tag: "InProgress" } as const)),
    Effect.flatMap((status) =>
      status._tag === "Finished" ? Effect.succeed(status.result) : awaitFinished(context, attemptId)
    )
  )

const failedCall = (error: TelephonyError): CallResult => ({
  outcome: "failed" satisfies CallOutcome,
  sipCode: null,
  duration: null,
  roomName: null,
  failureReason: error.message
})

/** Moves the contact to `dialing` with its attempt, then places the call in its own fiber. */
export const dial = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  contact: Contact,
  decision: Decision,
  now: number
) =>
  Effect.gen(function*() {
    const start = startOf(runner, dialing, contact, decision, now)
    const begun = yield* context.store.beginAttempt(dialing.lease, start)
    yield* place(context, runner, dialing, contact, start, begun, now)
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
 * `dial` for a step's contacts with one batched write (`BatchStore.beginAttempts`):
 * the calls begun are placed, then the first contact refused fails the step as
 * `dial` would have.
 */
export const dialAll = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  picks: ReadonlyArray<{ readonly contact: Contact; readonly decision: Decision }>,
  now: number
) =>
  Effect.gen(function*() {
    const starts = picks.map(({ contact, decision }) => startOf(runner, dialing, contact, decision, now))
    const results = yield* BatchStore.beginAttempts(context.store, dialing.lease, starts)
    let refused: InvalidTransition | undefined
    for (const [i, result] of results.entries()) {
      if (Result.isFailure(result)) refused ??= result.failure
      else yield* place(context, runner, dialing, picks[i]!.contact, starts[i]!, result.success, now)
    }
    if (refused !== undefined) return yield* Effect.fail(refused)
  })

/** After the attempt is begun: self-fencing, then the call in its own fiber. */
const place = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  contact: Contact,
  start: AttemptStart,
  begun: Begun,
  now: number
) =>
  Effect.gen(function*() {
    const { leaseTtlMillis, scope, store, telephony } = context
    const batch = runner.batch!
    const { attemptNumber, callerNumberId } = start
    runner.pace.callsToday++
    // Self-fencing: a lease that could have expired meanwhile (a long pause, a slow
    // store) may belong to another process by now, which would redial this contact.
    if ((yield* Clock.currentTimeMillis) >= DateTime.toEpochMillis(dialing.lease.expiresAt) - leaseTtlMillis / 4) {
      runner.dialing = undefined
      yield* Effect.ignore(store.abandonAttempt(dialing.lease, begun.attempt.id))
      return
    }
    runner.inFlight++
    // Due: a retry's or a deferral's time; a first dial was due when the batch was to start, or last moved.
    const due = contact.nextRetryAt ?? batch.scheduledStartTime ?? batch.updatedAt
    yield* EngineMetrics.dialStarted(batch.organizationId, now - DateTime.toEpochMillis(due))
    yield* publishContact(context, runner, begun.contact, begun.attempt, now)
    const call = telephony.dial({
      attemptId: begun.attempt.id,
      organizationId: batch.organizationId,
      batchId: batch.id,
      contactId: contact.id,
      attemptNumber,
      agentId: batch.agentId,
      callerNumberId,
      callerNumber: dialing.numbers.get(callerNumberId) ?? null,
      to: contact.phone,
      contactName: contact.name,
      dynamicVariables: contact.customFields
    }).pipe(
      Effect.catch((error) => Effect.succeed(failedCall(error))),
      Effect.flatMap((result) => finish(context, runner, dialing, begun.contact, begun.attempt.id, result)),
      Effect.withSpan("outdial.dial", {
        attributes: { "outdial.attempt.id": begun.attempt.id, "outdial.batch.id": batch.id, "outdial.contact.id": contact.id }
      })
    )
    yield* Effect.forkIn(call, scope, { startImmediately: true })
  })
