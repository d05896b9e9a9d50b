/**
 * A runner's loop: look at the batch, act on its status, again until the
 * batch needs no runner here. The switch over statuses is the one place the
 * dispatcher reads the batch machine: waiting batches start when due,
 * running ones get a pacing pass, any other lets its calls in flight end.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Batch from "../../Batch.ts"
import { firstPassDone, rest } from "./alarm.ts"
import { type DispatchContext, moveBatch, type Registry, type Runner } from "./context.ts"
import { failBatch, settleOpenAttempts } from "./lease.ts"
import { runStep } from "./pacing.ts"

/** A runner for `batchId` that has not looked at its batch yet. */
export const make = (batchId: string): Runner => {
  const runner: Runner = {
    batchId,
    alarm: { open: false, waiter: undefined, fiber: undefined, at: 0 },
    pace: { localDate: "", callsToday: 0, lastDeferral: "", nextEstimateAt: 0, talkSeconds: 0, talkSamples: 0 },
    recording: { failures: 0, last: "", backoffUntil: 0 },
    batch: undefined,
    dialing: undefined,
    inFlight: 0,
    wakeScheduled: false,
    yieldingSince: 0
  }
  return runner
}

/**
 * How long at most a runner already dialing holds a pass back for starters:
 * past it, it takes one pass (its calls' refills), then holds back again.
 */
const maxYieldMillis = 1_000

/** Whether this pass waits for the starters (see `Registry.starting`). */
const holdsBack = (registry: Registry, runner: Runner, now: number) => {
  if (registry.starting.size === 0 || registry.starting.has(runner)) {
    runner.yieldingSince = 0
    return false
  }
  if (runner.yieldingSince === 0) runner.yieldingSince = now
  if (now - runner.yieldingSince < maxYieldMillis) return true
  runner.yieldingSince = 0
  return false
}

const waitingToStart = new Set(Batch.sourcesOf("start"))

type Next = "continue" | "stop" | "started"

/**
 * One look at the batch; `stop` ends the runner, `started` says the batch
 * was just started (its first pass goes on). Plain effects, not a generator,
 * up to the batch read: a busy batch looks once per burst of call ends.
 */
const step = (context: DispatchContext, registry: Registry, runner: Runner): Effect.Effect<Next, unknown> =>
  Clock.clockWith((clock) => {
    runner.alarm.open = false
    const now = clock.currentTimeMillisUnsafe()
    if (holdsBack(registry, runner, now)) {
      // Woken when the last starter is through, at the latest after `maxYieldMillis`.
      registry.yielding.add(runner)
      return rest(registry, runner, context.scope, runner.yieldingSince + maxYieldMillis)
    }
    if (now < runner.recording.backoffUntil) {
      // After failures the store gets a rest: no lease taken, nothing read, until the back-off ends.
      return rest(registry, runner, context.scope, runner.recording.backoffUntil)
    }
    return Effect.flatMap(context.store.findBatch(runner.batchId), (batch) => {
      runner.batch = batch ?? runner.batch
      if (batch === undefined) {
        return runner.inFlight === 0 ? Effect.succeed("stop" as const) : rest(registry, runner, context.scope, undefined)
      }
      if (batch.status === "running") {
        if (runner.recording.failures >= context.config.maxRecordFailures) {
          return Effect.as(failBatch(context, runner, `could not record call outcomes: ${runner.recording.last}`, now), "continue" as const)
        }
        return runStep(context, registry, runner, batch, now)
      }
      return notRunning(context, registry, runner, batch, now)
    })
  })

/** A batch waiting to start (started when due), paused or final (its calls in flight end, then the runner stops). */
const notRunning = (context: DispatchContext, registry: Registry, runner: Runner, batch: Batch.Batch, now: number) =>
  Effect.gen(function*() {
    const { store } = context
    if (waitingToStart.has(batch.status)) {
      const due = batch.scheduledStartTime === null ? now : DateTime.toEpochMillis(batch.scheduledStartTime)
      if (due > now) {
        yield* rest(registry, runner, context.scope, due)
        return "continue" as const
      }
      yield* moveBatch(context, runner, Batch.sourcesOf("start"), "start", {
        status: "running",
        statusReason: null,
        actualStartTime: batch.actualStartTime ?? DateTime.makeUnsafe(now)
      }, now)
      // Another process started it first (all of them hear of a new batch): it goes on to take
      // the lease, and a rescan finds the batch should it die meanwhile. Stopping here spares
      // the store this process's read and lease try for each of a thousand batches starting at once.
      // Its later changes concern the starter as if it held the lease already (see `heldElsewhere`).
      if (runner.batch === batch && store.processLocal !== true && runner.inFlight === 0 && runner.dialing === undefined) {
        context.heldElsewhere.set(batch.id, now + context.leaseTtlMillis)
        return "stop" as const
      }
      return "started" as const
    }
    // Paused or final: start nothing, but let the calls in flight end and be recorded.
    if (runner.inFlight > 0) {
      yield* rest(registry, runner, context.scope, undefined)
      return "continue" as const
    }
    if (Batch.isFinal(batch.status) && (yield* settleOpenAttempts(context, runner, batch, now))) {
      return "continue" as const
    }
    if (batch.status === "cancelled") {
      yield* store.cancelContacts(batch.id, DateTime.makeUnsafe(now))
    }
    return "stop" as const
  })

/** Runs a new runner, first among the starters (see `Registry.starting`). */
export const start = (context: DispatchContext, registry: Registry, runner: Runner): Effect.Effect<void> =>
  Effect.suspend(() => {
    registry.starting.add(runner)
    return run(context, registry, runner)
  })

/**
 * Runs the runner until it stops, then leaves the registry and gives up its
 * lease. The loop is made once per runner (a step, one match over its end)
 * and run again for each step: a busy batch steps once per burst of ends.
 */
const run = (context: DispatchContext, registry: Registry, runner: Runner): Effect.Effect<void> => {
  const handlers = {
    onSuccess: (next: Next): Effect.Effect<void> => {
      if (next === "started") return loop
      firstPassDone(registry, runner)
      return next === "continue" || runner.alarm.open ? loop : leave(context, registry, runner)
    },
    onFailure: (cause: Cause.Cause<unknown>): Effect.Effect<void> =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.logError("outdial: dispatcher step failed; retrying", cause).pipe(
          // A write whose outcome is unknown (a connection cut at commit) may have begun an
          // attempt: the next step takes the lease anew and reconciles open attempts.
          Effect.andThen(Effect.sync(() => {
            runner.dialing = undefined
            firstPassDone(registry, runner)
          })),
          Effect.andThen(Effect.sleep(1_000)),
          Effect.andThen(loop)
        )
  }
  const loop: Effect.Effect<void> = Effect.matchCauseEffect(step(context, registry, runner), handlers)
  return loop
}

/** The runner stops: leaving is decided synchronously, so a wake either sees this runner or starts a new one. */
const leave = (context: DispatchContext, registry: Registry, runner: Runner): Effect.Effect<void> => {
  registry.runners.delete(runner.batchId)
  registry.yielding.delete(runner)
  firstPassDone(registry, runner)
  registry.busy--
  runner.alarm.fiber?.interruptUnsafe()
  const dialing = runner.dialing
  return dialing === undefined ? Effect.void : Effect.ignore(context.store.releaseLease(dialing.lease))
}
