/**
 * The dispatcher dials. Each batch with work gets one runner fiber in the
 * process holding its lease; the runner starts the batch when it is due (a
 * timer, not polling), keeps `min(limit, dialable)` calls in flight inside
 * the calling window, sleeps while the eligibility chain holds the batch
 * back, records every outcome with its retry, and completes the batch when
 * every contact is final. Pause, resume, cancel and retry wake the runner at
 * once.
 *
 * Several processes may share one store: the lease (with its fencing epoch)
 * makes one of them the batch's only dialer, and a process taking over asks
 * the provider about the attempts the last holder left open instead of
 * redialing them.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Latch from "effect/Latch"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { Attempt } from "./Attempt.ts"
import { type Batch, isFinal } from "./Batch.ts"
import { BatchStore, type Lease } from "./BatchStore.ts"
import * as CallerRotation from "./CallerRotation.ts"
import * as CallingWindow from "./CallingWindow.ts"
import type { CallOutcome } from "./CallOutcome.ts"
import type { Contact, ContactStatus, Decision } from "./Contact.ts"
import { Credits } from "./Credits.ts"
import { Directory } from "./Directory.ts"
import * as Eligibility from "./Eligibility.ts"
import { EngineConfig } from "./EngineConfig.ts"
import { EngineEvents } from "./EngineEvents.ts"
import * as Estimate from "./Estimate.ts"
import * as RetryPolicy from "./RetryPolicy.ts"
import { type CallResult, Telephony, type TelephonyError } from "./Telephony.ts"

/**
 * @since 0.1.0
 * @category services
 */
export class Dispatcher extends Context.Service<Dispatcher, {
  /** Makes the batch's runner look at it again now, starting one if none runs here. */
  readonly wake: (batchId: string) => Effect.Effect<void>
  /** Batches with a runner in this process. */
  readonly active: Effect.Effect<ReadonlyArray<string>>
  /**
   * Succeeds once every runner waits for a signal or a timer. A test calls
   * it before moving a `TestClock`, which only waits for fibers it wakes
   * itself: work a host call started (a create, a resume) must settle first.
   */
  readonly settled: Effect.Effect<void>
}>()("@outdial/core/Dispatcher") {}

const waitingStatuses: ReadonlyArray<ContactStatus> = ["pending", "queued", "dialing"]

/**
 * What a runner needs to place calls, settled when it takes the lease.
 */
interface Dialing {
  readonly lease: Lease
  readonly schedule: CallingWindow.Compiled
  readonly pickNumber: (row: number) => string
  readonly numbers: ReadonlyMap<string, string | null>
  readonly policies: ReadonlyArray<Eligibility.Policy>
  readonly dialReason: string
  readonly contactPolicies: boolean
}

/**
 * The runner's view of one batch, shared with its call fibers.
 */
interface Runner {
  readonly batchId: string
  readonly signal: Latch.Latch
  batch: Batch | undefined
  dialing: Dialing | undefined
  inFlight: number
  localDate: string
  callsToday: number
  lastDeferral: string
  nextEstimateAt: number
  talkSeconds: number
  talkSamples: number
  alarm: Fiber.Fiber<void> | undefined
  alarmAt: number
  /** Consecutive failures to record an outcome, and no store work before `backoffUntil`. */
  recordFailures: number
  lastRecordFailure: string
  backoffUntil: number
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  Dispatcher,
  never,
  BatchStore | Telephony | Directory | Credits | EngineEvents
> = Layer.effect(Dispatcher)(
  Effect.gen(function*() {
    const store = yield* BatchStore
    const telephony = yield* Telephony
    const directory = yield* Directory
    const credits = yield* Credits
    const events = yield* EngineEvents
    const config = yield* EngineConfig
    const scope = yield* Effect.scope
    const runners = new Map<string, Runner>()
    // Runners not waiting for a signal or timer.
    let busy = 0
    const policies: ReadonlyArray<Eligibility.Policy> = [...Eligibility.builtIn, ...config.policies]
    // A lease nobody else can contest never needs renewing.
    const leaseTtlMillis = store.processLocal === true ? 2 * 86_400_000 : config.leaseTtlMillis

    const nowMillis = Clock.currentTimeMillis

    const publishBatch = (batch: Batch, at: number) =>
      events.publish({
        _tag: "BatchChanged",
        organizationId: batch.organizationId,
        batchId: batch.id,
        batch,
        at: DateTime.makeUnsafe(at)
      })

    const publishContact = (runner: Runner, contact: Contact, attempt: Attempt | null, at: number) =>
      events.publish({
        _tag: "ContactChanged",
        organizationId: runner.batch!.organizationId,
        batchId: runner.batchId,
        contact,
        attempt,
        at: DateTime.makeUnsafe(at)
      })

    /** Applies a lifecycle move; a concurrent move (another process, a user) just means look again. */
    const moveBatch = (
      runner: Runner,
      expected: ReadonlyArray<Batch["status"]>,
      action: string,
      patch: Parameters<BatchStore["Service"]["updateBatch"]>[3],
      at: number
    ) =>
      store.updateBatch(runner.batchId, expected, action, { ...patch, updatedAt: DateTime.makeUnsafe(at) }).pipe(
        Effect.tap((batch) => {
          runner.batch = batch
          return publishBatch(batch, at)
        }),
        Effect.asVoid,
        Effect.catchTag("InvalidTransition", () => Effect.void)
      )

    // Waits for a signal or, at the latest, `deadline`.
    const rest = (runner: Runner, deadline: number | undefined) =>
      Effect.gen(function*() {
        if (runner.signal.isOpen()) return
        if (deadline !== undefined && Number.isFinite(deadline)) {
          const now = yield* nowMillis
          if (deadline <= now) return
          yield* setAlarm(runner, deadline, now)
        }
        busy--
        yield* Effect.ensuring(runner.signal.await, Effect.sync(() => void busy++))
      })

    // One timer per runner, kept while its time still suits: resting happens
    // after nearly every call, and a timer per rest would cost a fiber each.
    const setAlarm = (runner: Runner, at: number, now: number) =>
      Effect.suspend(() => {
        if (runner.alarm !== undefined && runner.alarmAt <= at) return Effect.void
        runner.alarm?.interruptUnsafe()
        runner.alarmAt = at
        return Effect.forkIn(
          Effect.sleep(at - now).pipe(Effect.andThen(Effect.sync(() => {
            runner.alarm = undefined
            runner.signal.openUnsafe()
          }))),
          scope
        ).pipe(Effect.map((fiber) => {
          runner.alarm = fiber
        }))
      })

    const estimateCompletion = (runner: Runner, dialing: Dialing, now: number) =>
      Effect.gen(function*() {
        const batch = runner.batch!
        const breakdown = yield* store.statusBreakdown(batch.id)
        const remaining = breakdown.pending + breakdown.queued + breakdown.dialing
        const durationSeconds = Estimate.durationSecondsOf({
          contacts: remaining,
          concurrentCallLimit: batch.concurrentCallLimit,
          openMinutesPerWeek: CallingWindow.openMinutesPerWeek(dialing.schedule),
          averageCallSeconds: runner.talkSamples >= 20 ? runner.talkSeconds / runner.talkSamples : config.averageCallSeconds,
          attemptsPerContact: 1
        })
        const from = CallingWindow.nextOpening(dialing.schedule, now)
        runner.nextEstimateAt = now + config.estimateIntervalMillis
        yield* moveBatch(runner, ["running"], "estimate", {
          estimatedCompletionTime: DateTime.makeUnsafe(from + durationSeconds * 1000)
        }, now)
      })

    /** Whether every contact is final; if so the batch completes. */
    const completeIfDone = (runner: Runner, now: number) =>
      Effect.gen(function*() {
        const breakdown = yield* store.statusBreakdown(runner.batchId)
        if (waitingStatuses.some((status) => breakdown[status] > 0)) return false
        const at = DateTime.makeUnsafe(now)
        yield* moveBatch(runner, ["running"], "complete", {
          status: "completed",
          completedAt: at,
          estimatedCompletionTime: at,
          statusReason: null
        }, now)
        return true
      })

    const failBatch = (runner: Runner, reason: string, now: number) =>
      moveBatch(runner, ["pending", "scheduled", "running", "paused"], "fail", {
        status: "failed",
        statusReason: reason,
        completedAt: DateTime.makeUnsafe(now)
      }, now)

    /**
     * Takes the lease and settles what dialing needs: the schedule, a usable
     * agent and caller numbers (their loss fails the batch), the day's count
     * and the attempts a previous holder left open.
     */
    const takeOver = (runner: Runner, batch: Batch, now: number) =>
      Effect.gen(function*() {
        const lease = yield* store.acquireLease(batch.id, config.ownerId, DateTime.makeUnsafe(now), leaseTtlMillis)
        if (lease === undefined) return undefined
        const agent = yield* directory.agent(batch.organizationId, batch.agentId)
        if (agent === undefined) {
          yield* failBatch(runner, `agent ${batch.agentId} no longer exists`, now)
          yield* store.releaseLease(lease)
          return undefined
        }
        const numbers = new Map<string, string | null>()
        for (const id of batch.phoneNumberIds) {
          const number = yield* directory.callerNumber(batch.organizationId, id)
          if (number !== undefined && number.outboundEnabled) numbers.set(id, number.number)
        }
        if (numbers.size === 0) {
          yield* failBatch(runner, "none of the batch's caller numbers can place outbound calls", now)
          yield* store.releaseLease(lease)
          return undefined
        }
        const schedule = yield* scheduleOf(batch)
        const dialing: Dialing = {
          lease,
          schedule,
          pickNumber: CallerRotation.make(batch.phoneRotationStrategy, [...numbers.keys()], config.random),
          numbers,
          policies,
          dialReason: Eligibility.dialReason(policies),
          contactPolicies: Eligibility.hasContactPolicies(policies)
        }
        runner.dialing = dialing
        runner.localDate = CallingWindow.localDate(schedule, now)
        runner.callsToday = yield* store.attemptsOnDay(batch.id, runner.localDate)
        yield* reconcile(runner, dialing)
        return dialing
      })

    /**
     * The attempts a previous holder began and never recorded: the provider
     * says whether each was never placed (the contact waits again), has ended
     * (recorded now) or is still going on (followed until it ends).
     */
    const reconcile = (runner: Runner, dialing: Dialing) =>
      Effect.gen(function*() {
        const open = yield* store.openAttempts(runner.batchId)
        for (const attempt of open) {
          const status = yield* telephony.lookup(attempt.id).pipe(
            Effect.catch(() => Effect.succeed({ _tag: "InProgress" } as const))
          )
          if (status._tag === "NotFound") {
            const contact = yield* store.abandonAttempt(dialing.lease, attempt.id)
            yield* publishContact(runner, contact, null, yield* nowMillis)
            continue
          }
          const contact = yield* store.getContact(runner.batchId, attempt.contactId)
          if (contact === undefined) continue
          runner.inFlight++
          const follow = status._tag === "Finished"
            ? Effect.succeed(status.result)
            : awaitFinished(attempt.id)
          yield* Effect.forkIn(
            follow.pipe(Effect.flatMap((result) => finish(runner, dialing, contact, attempt.id, result))),
            scope
          )
        }
      })

    const awaitFinished = (attemptId: string): Effect.Effect<CallResult> =>
      Effect.sleep(config.reconcilePollMillis).pipe(
        Effect.andThen(telephony.lookup(attemptId)),
        Effect.catch(() => Effect.succeed({ _tag: "InProgress" } as const)),
        Effect.flatMap((status) => status._tag === "Finished" ? Effect.succeed(status.result) : awaitFinished(attemptId))
      )

    /** Records an ended call with the contact's next status, then frees its slot. */
    const finish = (runner: Runner, dialing: Dialing, contact: Contact, attemptId: string, result: CallResult) =>
      Effect.gen(function*() {
        const now = yield* nowMillis
        const batch = runner.batch!
        const attemptCount = contact.attemptCount
        const retry = RetryPolicy.shouldRetry(batch.retryPolicy, result.outcome, attemptCount, contact.maxAttempts)
        const opening = retry
          ? CallingWindow.nextOpening(
            dialing.schedule,
            now + RetryPolicy.delayAfter(batch.retryPolicy, result.outcome, attemptCount) * 1000
          )
          : undefined
        // A retry that could never come (no opening within the horizon) is no retry: the contact ends.
        const nextRetryAt = opening !== undefined && opening <= now + retryHorizonMillis ? opening : undefined
        if (result.outcome === "completed" && result.duration !== null) {
          runner.talkSeconds += result.duration
          runner.talkSamples++
        }
        const recorded = yield* store.finishAttempt(dialing.lease, {
          attemptId,
          result,
          endedAt: DateTime.makeUnsafe(now),
          status: nextRetryAt === undefined ? result.outcome : "queued",
          nextRetryAt: nextRetryAt === undefined ? null : DateTime.makeUnsafe(nextRetryAt),
          decision: null
        }).pipe(
          // The write is idempotent, so a dropped connection is simply retried.
          Effect.retry({ while: (error) => error._tag === "StoreError", schedule: recordRetries, times: 8 })
        )
        runner.recordFailures = 0
        yield* publishContact(runner, recorded.contact, recorded.attempt, now)
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
              // The attempt stays open whatever lease the runner holds now: retake and reconcile.
              runner.dialing = undefined
              runner.recordFailures++
              runner.lastRecordFailure = Cause.pretty(cause).split("\n")[0]!.slice(0, 200)
              const now = yield* nowMillis
              runner.backoffUntil = Math.max(runner.backoffUntil, now + backoffMillis(runner.recordFailures))
              yield* Effect.logWarning(
                `outdial: could not record a call (${runner.recordFailures} in a row); retrying after a back-off`,
                cause
              )
            })
        ),
        Effect.ensuring(Effect.sync(() => {
          runner.inFlight--
          runner.signal.openUnsafe()
        }))
      )

    const failedCall = (error: TelephonyError): CallResult => ({
      outcome: "failed" satisfies CallOutcome,
      sipCode: null,
      duration: null,
      roomName: null,
      failureReason: error.message
    })

    /** Moves the contact to `dialing` with its attempt, then places the call in its own fiber. */
    const dial = (runner: Runner, dialing: Dialing, contact: Contact, decision: Decision, now: number) =>
      Effect.gen(function*() {
        const batch = runner.batch!
        const callerNumberId = dialing.pickNumber(contact.row)
        const attemptNumber = contact.attemptCount + 1
        const begun = yield* store.beginAttempt(dialing.lease, {
          contactId: contact.id,
          attemptNumber,
          callerNumberId,
          startedAt: DateTime.makeUnsafe(now),
          localDate: runner.localDate,
          decision
        })
        runner.callsToday++
        // Self-fencing: a lease that could have expired meanwhile (a long pause, a slow
        // store) may belong to another process by now, which would redial this contact.
        if ((yield* nowMillis) >= DateTime.toEpochMillis(dialing.lease.expiresAt) - leaseTtlMillis / 4) {
          runner.dialing = undefined
          yield* Effect.ignore(store.abandonAttempt(dialing.lease, begun.attempt.id))
          return
        }
        runner.inFlight++
        yield* publishContact(runner, begun.contact, begun.attempt, now)
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
          Effect.flatMap((result) => finish(runner, dialing, begun.contact, begun.attempt.id, result))
        )
        yield* Effect.forkIn(call, scope, { startImmediately: true })
      })

    /** One pass over a running batch: hold back, dial, complete or rest. */
    const runStep = (runner: Runner, batch: Batch, now: number) =>
      Effect.gen(function*() {
        let dialing = runner.dialing
        if (dialing === undefined) {
          dialing = yield* takeOver(runner, batch, now)
          if (dialing === undefined) return "stop" as const
        } else if (now >= DateTime.toEpochMillis(dialing.lease.expiresAt) - leaseTtlMillis / 2) {
          const renewed = yield* store.renewLease(dialing.lease, DateTime.makeUnsafe(now), leaseTtlMillis)
          if (renewed === undefined) {
            // Another process holds the batch now; stop dialing at once.
            runner.dialing = undefined
            return "stop" as const
          }
          dialing = { ...dialing, lease: renewed }
          runner.dialing = dialing
        }
        const renewAt = DateTime.toEpochMillis(dialing.lease.expiresAt) - leaseTtlMillis / 2

        if ((yield* credits.balance(batch.organizationId)) <= 0) {
          yield* moveBatch(runner, ["running"], "pause", {
            status: "paused",
            statusReason: "insufficient credits: add credits and resume the batch"
          }, now)
          return "continue" as const
        }
        if (now >= runner.nextEstimateAt) yield* estimateCompletion(runner, dialing, now)

        const localDate = CallingWindow.localDate(dialing.schedule, now)
        if (localDate !== runner.localDate) {
          runner.localDate = localDate
          runner.callsToday = yield* store.attemptsOnDay(batch.id, localDate)
        }
        const view: Eligibility.BatchView = { batch, schedule: dialing.schedule, now, callsToday: runner.callsToday }
        const held = Eligibility.decideBatch(dialing.policies, view)
        if (held !== undefined && held.verdict._tag !== "Dial") {
          if (runner.inFlight === 0 && (yield* completeIfDone(runner, now))) return "continue" as const
          const until = held.verdict._tag === "Defer" ? held.verdict.until : undefined
          const key = `${held.policy}:${until}`
          if (runner.lastDeferral !== key) {
            runner.lastDeferral = key
            yield* events.publish({
              _tag: "BatchDeferred",
              organizationId: batch.organizationId,
              batchId: batch.id,
              policy: held.policy,
              reason: held.verdict.reason,
              until: until === undefined ? null : DateTime.makeUnsafe(until),
              at: DateTime.makeUnsafe(now)
            })
            yield* estimateCompletion(runner, dialing, now)
          }
          const wakeAt = until ?? Number.POSITIVE_INFINITY
          if (runner.inFlight === 0 && wakeAt > renewAt) {
            // Nothing to guard for a while: give the lease up rather than renew it all night.
            yield* store.releaseLease(dialing.lease)
            runner.dialing = undefined
            yield* rest(runner, wakeAt)
          } else {
            yield* rest(runner, Math.min(wakeAt, renewAt))
          }
          return "continue" as const
        }
        runner.lastDeferral = ""

        let budget = batch.concurrentCallLimit - runner.inFlight
        if (batch.maxCallsPerDay !== null) budget = Math.min(budget, batch.maxCallsPerDay - runner.callsToday)
        let dialed = 0
        if (budget > 0) {
          const contacts = yield* store.dialable(batch.id, DateTime.makeUnsafe(now), budget, noExclusions)
          // A database store writes the attempts side by side: one after another, a step's
          // round trips would bound the whole batch's dial rate.
          yield* Effect.forEach(contacts, (contact) =>
            Effect.gen(function*() {
              const decision = dialing.contactPolicies
                ? yield* Eligibility.decideContact(dialing.policies, view, contact, dialing.dialReason)
                : { kind: "dial" as const, policy: "eligibility", reason: dialing.dialReason, at: DateTime.makeUnsafe(now) }
              if (decision.kind === "dial") {
                yield* dial(runner, dialing, contact, decision, now)
                dialed++
              } else {
                const decided = yield* store.decide(dialing.lease, contact.id, decision)
                yield* publishContact(runner, decided, null, now)
              }
            }), { discard: true, concurrency: store.processLocal === true ? 1 : "unbounded" })
          if (contacts.length === budget) return "continue" as const
        }
        if (dialed === 0 && runner.inFlight === 0 && (yield* completeIfDone(runner, now))) return "continue" as const
        // Nothing more is due now: rest until a call ends, a retry comes due, or the lease needs renewing.
        const due = budget > 0 ? yield* store.nextDueAt(batch.id) : undefined
        yield* rest(runner, Math.min(due === undefined ? Number.POSITIVE_INFINITY : DateTime.toEpochMillis(due), renewAt))
        return "continue" as const
      })

    /**
     * A final batch may still hold attempts nobody records (their process died,
     * or recording failed): they are looked up and recorded as on a takeover, so
     * no contact stays `dialing`. Attempts that could not be recorded
     * `maxRecordFailures` times are given up (the contact waits again, in a
     * batch that no longer dials). `true` while calls are being followed.
     */
    const settleOpenAttempts = (runner: Runner, batch: Batch, now: number) =>
      Effect.gen(function*() {
        const open = yield* store.openAttempts(batch.id)
        if (open.length === 0) return false
        const lease = yield* store.acquireLease(batch.id, config.ownerId, DateTime.makeUnsafe(now), leaseTtlMillis)
        // Another process holds the batch and follows its calls.
        if (lease === undefined) return false
        if (runner.recordFailures >= config.maxRecordFailures) {
          for (const attempt of open) {
            const contact = yield* store.abandonAttempt(lease, attempt.id)
            yield* publishContact(runner, contact, null, now)
          }
          yield* store.releaseLease(lease)
          return false
        }
        const schedule = yield* scheduleOf(batch)
        const dialing: Dialing = { lease, schedule, pickNumber: () => "", numbers: new Map(), policies, dialReason: "", contactPolicies: false }
        runner.dialing = dialing
        yield* reconcile(runner, dialing)
        return runner.inFlight > 0 || runner.backoffUntil > now
      })

    /** One look at the batch; `stop` ends the runner. */
    const step = (runner: Runner): Effect.Effect<"continue" | "stop", unknown> =>
      Effect.gen(function*() {
        runner.signal.closeUnsafe()
        const now = yield* nowMillis
        if (now < runner.backoffUntil) {
          // After failures the store gets a rest: no lease taken, nothing read, until the back-off ends.
          yield* rest(runner, runner.backoffUntil)
          return "continue" as const
        }
        const batch = yield* store.findBatch(runner.batchId)
        runner.batch = batch ?? runner.batch
        if (batch === undefined) return runner.inFlight === 0 ? "stop" as const : (yield* rest(runner, undefined), "continue" as const)
        switch (batch.status) {
          case "pending":
          case "scheduled": {
            const due = batch.scheduledStartTime === null ? now : DateTime.toEpochMillis(batch.scheduledStartTime)
            if (due > now) {
              yield* rest(runner, due)
              return "continue" as const
            }
            yield* moveBatch(runner, ["pending", "scheduled"], "start", {
              status: "running",
              statusReason: null,
              actualStartTime: batch.actualStartTime ?? DateTime.makeUnsafe(now)
            }, now)
            return "continue" as const
          }
          case "running":
            if (runner.recordFailures >= config.maxRecordFailures) {
              yield* failBatch(runner, `could not record call outcomes: ${runner.lastRecordFailure}`, now)
              return "continue" as const
            }
            return yield* runStep(runner, batch, now)
          default: {
            // Paused or final: start nothing, but let the calls in flight end and be recorded.
            if (runner.inFlight > 0) {
              yield* rest(runner, undefined)
              return "continue" as const
            }
            if (isFinal(batch.status) && (yield* settleOpenAttempts(runner, batch, now))) {
              return "continue" as const
            }
            if (batch.status === "cancelled") {
              yield* store.cancelContacts(batch.id, DateTime.makeUnsafe(now))
            }
            return "stop" as const
          }
        }
      })

    const run = (runner: Runner): Effect.Effect<void> =>
      step(runner).pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.failCause(cause)
            : Effect.logError("outdial: dispatcher step failed; retrying", cause).pipe(
              // A write whose outcome is unknown (a connection cut at commit) may have begun an
              // attempt: the next step takes the lease anew and reconciles open attempts.
              Effect.andThen(Effect.sync(() => void (runner.dialing = undefined))),
              Effect.andThen(Effect.sleep(1_000)),
              Effect.as("continue" as const)
            )
        ),
        Effect.flatMap((next) =>
          Effect.suspend(() => {
            if (next === "continue" || runner.signal.isOpen()) return run(runner)
            // Leaving is decided synchronously, so a wake either sees this runner or starts a new one.
            runners.delete(runner.batchId)
            busy--
            runner.alarm?.interruptUnsafe()
            const dialing = runner.dialing
            return dialing === undefined ? Effect.void : Effect.ignore(store.releaseLease(dialing.lease))
          })
        )
      ) as Effect.Effect<void>

    const wake = (batchId: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        const existing = runners.get(batchId)
        if (existing !== undefined) {
          existing.signal.openUnsafe()
          return Effect.void
        }
        const runner: Runner = {
          batchId,
          signal: Latch.makeUnsafe(false),
          batch: undefined,
          dialing: undefined,
          inFlight: 0,
          localDate: "",
          callsToday: 0,
          lastDeferral: "",
          nextEstimateAt: 0,
          talkSeconds: 0,
          talkSamples: 0,
          alarm: undefined,
          alarmAt: 0,
          recordFailures: 0,
          lastRecordFailure: "",
          backoffUntil: 0
        }
        runners.set(batchId, runner)
        busy++
        return Effect.asVoid(Effect.forkIn(run(runner), scope, { startImmediately: true }))
      })

    const rescan = store.activeBatches().pipe(
      Effect.flatMap((batches) =>
        Effect.forEach(batches, (batch) => (runners.has(batch.id) ? Effect.void : wake(batch.id)), { discard: true })
      ),
      Effect.catchCause((cause) => Effect.logWarning("outdial: could not list active batches", cause))
    )
    // Picks up batches already in the store and, when other processes share
    // it, those created there or whose holder died.
    yield* Effect.forkIn(
      store.processLocal === true
        ? rescan
        : Effect.forever(rescan.pipe(Effect.andThen(Effect.sleep(config.rescanIntervalMillis)))),
      scope
    )

    // Lifecycle changes other processes made (pause, cancel, a new batch) wake runners at once.
    const changes = store.changes
    if (changes !== undefined) {
      yield* Effect.forkIn(
        Stream.runForEach(changes, wake).pipe(
          Effect.catchCause((cause) => Effect.logWarning("outdial: lost the store's change feed; listening again", cause)),
          Effect.andThen(Effect.sleep(1_000)),
          Effect.forever
        ),
        scope
      )
    }

    const settled: Effect.Effect<void> = Effect.suspend(() =>
      busy <= 0 ? Effect.void : Effect.andThen(Effect.yieldNow, settled)
    )

    return Dispatcher.of({
      wake,
      active: Effect.sync(() => [...runners.keys()]),
      settled
    })
  })
)

const noExclusions: ReadonlySet<string> = new Set()

// A stored batch's schedule was valid when the batch was created.
const scheduleOf = (batch: Batch) =>
  Effect.orDie(CallingWindow.compileEffect({
    timeZone: batch.timezone,
    windows: batch.callingWindows,
    workingDays: batch.workingDays
  }))

const recordRetries = Schedule.exponential(200, 2)

/** The wait after `failures` failures in a row: 1 s, doubling, at most 5 minutes. */
const backoffMillis = (failures: number): number => Math.min(1_000 * 2 ** Math.min(failures - 1, 20), 300_000)

/** Further away than this a retry is no retry; it also keeps every time well inside a date's range. */
const retryHorizonMillis = 400 * 86_400_000
