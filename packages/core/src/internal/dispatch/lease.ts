/**
 * The batch's lease, which makes this process its only dialer: taking it
 * over (and settling what dialing needs, or failing a batch that can no
 * longer dial), renewing it, and reconciling the attempts a previous holder
 * left open by asking the provider about each instead of redialing it.
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as EngineMetrics from "../../EngineMetrics.ts"
import * as Batch from "../../Batch.ts"
import * as CallerRotation from "../../CallerRotation.ts"
import * as CallingWindow from "../../CallingWindow.ts"
import * as Dialing from "../../Dialing.ts"
import * as Eligibility from "../../Eligibility.ts"
import { freeingSlot, wake } from "./alarm.ts"
import { awaitFinished, finish } from "./calls.ts"
import {
  type Dialing as DialingState,
  type DispatchContext,
  moveBatch,
  publishContact,
  type Registry,
  type Runner
} from "./context.ts"

export const failBatch = (context: DispatchContext, runner: Runner, reason: string, now: number) =>
  moveBatch(context, runner, Batch.sourcesOf("fail"), "fail", {
    status: "failed",
    statusReason: reason,
    completedAt: DateTime.makeUnsafe(now)
  }, now)

/** The lease if this process can take it; remembers who could not (see `heldElsewhere`). */
const acquire = (context: DispatchContext, batchId: string, now: number) =>
  context.store.acquireLease(batchId, context.config.ownerId, DateTime.makeUnsafe(now), context.leaseTtlMillis).pipe(
    Effect.tap((lease) =>
      Effect.sync(() => {
        if (lease === undefined) context.heldElsewhere.set(batchId, now + context.leaseTtlMillis)
        else context.heldElsewhere.delete(batchId)
      })
    )
  )

/**
 * Takes the lease and settles what dialing needs: the schedule, a usable
 * agent and caller numbers (their loss fails the batch), the day's count
 * and the attempts a previous holder left open.
 */
export const takeOver = (context: DispatchContext, runner: Runner, batch: Batch.Batch, now: number) =>
  Effect.gen(function*() {
    const { config, directory, store } = context
    const lease = yield* acquire(context, batch.id, now)
    if (lease === undefined) return undefined
    if (lease.epoch > 1) yield* EngineMetrics.leaseTakenOver
    // The takeover's reads side by side: a thousand batches starting at once take
    // their leases together, and each round trip in turn delayed every first dial.
    const [agent, usable] = yield* Effect.all([
      directory.agent(batch.organizationId, batch.agentId),
      Dialing.usableNumbers(directory, batch.organizationId, batch.phoneNumberIds)
    ], { concurrency: "unbounded" })
    if (agent === undefined) {
      yield* failBatch(context, runner, `agent ${batch.agentId} no longer exists`, now)
      yield* store.releaseLease(lease)
      return undefined
    }
    const numbers = new Map<string, string | null>(usable.map((number) => [number.id, number.number]))
    if (numbers.size === 0) {
      yield* failBatch(context, runner, "none of the batch's caller numbers can place outbound calls", now)
      yield* store.releaseLease(lease)
      return undefined
    }
    const schedule = yield* scheduleOf(batch)
    // Settled with the lease: an organization's first blackout date reaches a running batch at its next takeover.
    const policies = Eligibility.applicable(context.policies, batch, config.organizationBlackoutDates(batch.organizationId))
    const dialing: DialingState = {
      lease,
      schedule,
      pickNumber: CallerRotation.make(batch.phoneRotationStrategy, [...numbers.keys()], config.random),
      numbers,
      policies,
      dialReason: Eligibility.dialReason(policies),
      contactPolicies: Eligibility.hasContactPolicies(policies)
    }
    runner.dialing = dialing
    runner.pace.localDate = CallingWindow.localDate(schedule, now)
    const [callsToday] = yield* Effect.all([
      store.attemptsOnDay(batch.id, runner.pace.localDate),
      reconcile(context, runner, dialing)
    ], { concurrency: "unbounded" })
    runner.pace.callsToday = callsToday
    return dialing
  })

// A stored batch's schedule was valid when the batch was created.
const scheduleOf = (batch: Batch.Batch) =>
  Effect.orDie(CallingWindow.compileEffect({
    timeZone: batch.timezone,
    windows: batch.callingWindows,
    workingDays: batch.workingDays
  }))

/**
 * A final batch may still hold attempts nobody records (their process died,
 * or recording failed): they are looked up and recorded as on a takeover, so
 * no contact stays `dialing`. Attempts that could not be recorded
 * `maxRecordFailures` times are given up (the contact waits again, in a
 * batch that no longer dials). `true` while calls are being followed.
 */
export const settleOpenAttempts = (context: DispatchContext, runner: Runner, batch: Batch.Batch, now: number) =>
  Effect.gen(function*() {
    const { config, store } = context
    const open = yield* store.openAttempts(batch.id)
    if (open.length === 0) return false
    const lease = yield* acquire(context, batch.id, now)
    // Another process holds the batch and follows its calls.
    if (lease === undefined) return false
    if (runner.recording.failures >= config.maxRecordFailures) {
      for (const attempt of open) {
        const contact = yield* store.abandonAttempt(lease, attempt.id)
        yield* publishContact(context, runner, contact, null, now)
      }
      yield* store.releaseLease(lease)
      return false
    }
    const dialing: DialingState = {
      lease,
      schedule: yield* scheduleOf(batch),
      pickNumber: () => "",
      numbers: new Map(),
      policies: context.policies,
      dialReason: "",
      contactPolicies: false
    }
    runner.dialing = dialing
    yield* reconcile(context, runner, dialing)
    return runner.inFlight > 0 || runner.recording.backoffUntil > now
  })

/**
 * The lease renewed (due once half its time is gone, see `renewAt`);
 * `undefined` when another process holds the batch now.
 */
export const renew = (context: DispatchContext, runner: Runner, dialing: DialingState, now: number) =>
  Effect.gen(function*() {
    const renewed = yield* context.store.renewLease(dialing.lease, DateTime.makeUnsafe(now), context.leaseTtlMillis)
    if (renewed === undefined) {
      // Another process holds the batch now; stop dialing at once.
      runner.dialing = undefined
      return undefined
    }
    const next = { ...dialing, lease: renewed }
    runner.dialing = next
    return next
  })

/**
 * Renews, in one write, every lease of this process that comes due before
 * `horizon`: a process holding many batches would otherwise write once per
 * batch and lease period. A runner whose lease was lost stops dialing at
 * once (its next step finds no lease and cannot take it back); one that
 * moved on meanwhile (released, took a new epoch) is left alone.
 */
export const renewHeld = (context: DispatchContext, registry: Registry, now: number, horizon: number) =>
  Effect.gen(function*() {
    const renewLeases = context.store.renewLeases
    if (renewLeases === undefined) return
    const due: Array<readonly [Runner, DialingState]> = []
    for (const runner of registry.runners.values()) {
      const dialing = runner.dialing
      if (dialing !== undefined && renewAt(context, dialing) < horizon) due.push([runner, dialing])
    }
    if (due.length === 0) return
    const renewed = yield* renewLeases(due.map(([, dialing]) => dialing.lease), DateTime.makeUnsafe(now), context.leaseTtlMillis)
    const byBatch = new Map(renewed.map((lease) => [lease.batchId, lease]))
    for (const [runner, dialing] of due) {
      if (runner.dialing?.lease !== dialing.lease) continue
      const lease = byBatch.get(dialing.lease.batchId)
      if (lease !== undefined) {
        runner.dialing = { ...runner.dialing, lease }
      } else {
        runner.dialing = undefined
        wake(runner.alarm)
      }
    }
  })

/** When the lease must be renewed. */
export const renewAt = (context: DispatchContext, dialing: DialingState) =>
  DateTime.toEpochMillis(dialing.lease.expiresAt) - context.leaseTtlMillis / 2

/**
 * The attempts a previous holder began and never recorded: the provider
 * says whether each was never placed (the contact waits again), has ended
 * (recorded now) or is still going on (followed until it ends).
 */
const reconcile = (context: DispatchContext, runner: Runner, dialing: DialingState) =>
  Effect.gen(function*() {
    const { scope, store, telephony } = context
    const open = yield* store.openAttempts(runner.batchId)
    for (const attempt of open) {
      const status = yield* telephony.lookup(attempt.id).pipe(
        Effect.catch(() => Effect.succeed({ _tag: "InProgress" } as const))
      )
      if (status._tag === "NotFound") {
        const contact = yield* store.abandonAttempt(dialing.lease, attempt.id)
        yield* publishContact(context, runner, contact, null, yield* Clock.currentTimeMillis)
        continue
      }
      const contact = yield* store.getContact(runner.batchId, attempt.contactId)
      if (contact === undefined) continue
      runner.inFlight++
      const follow = status._tag === "Finished"
        ? Effect.succeed(status.result)
        : awaitFinished(context, attempt.id)
      yield* Effect.forkIn(
        freeingSlot(runner, Effect.flatMap(follow, (result) => finish(context, runner, dialing, contact, attempt.id, result))),
        scope
      )
    }
  })
