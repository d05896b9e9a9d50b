/**
 * How a runner rests: until its signal opens (a wake, a call's end) or, at
 * the latest, a deadline, by one timer per runner.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Alarm, Registry, Runner } from "./context.ts"

/**
 * Sets the signal; a resting runner resumes at once, in the caller's turn.
 * The signal is the runner's own (not a `Latch`): a rest then costs one
 * callback, not a latch's wait and a finalizer, and a call's end can tell
 * whether the runner rests.
 */
export const wake = (alarm: Alarm): void => {
  alarm.open = true
  const waiter = alarm.waiter
  if (waiter === undefined) return
  alarm.waiter = undefined
  waiter(continued)
}

/** The runner goes on: what a rest answers, read by its loop as the step's outcome without a step more. */
export const continued = Effect.succeed("continue" as const)

/** Whether the runner's timer already rings by `at`: kept while its time suits, since resting happens after nearly every call. */
const ringsBy = (alarm: Alarm, at: number) => alarm.fiber !== undefined && alarm.at <= at

/** The runner's one timer, for `at` (replacing any later one): a timer per rest would cost a fiber each. */
const setAlarm = (alarm: Alarm, scope: Scope.Scope, at: number, now: number) => {
  alarm.fiber?.interruptUnsafe()
  alarm.at = at
  // Started at once, so its sleep is registered before this pass ends (see `slotFreed`);
  // it names itself the timer first, and clears that when it rings.
  return Effect.asVoid(Effect.forkIn(
    Effect.withFiber((timer) => {
      alarm.fiber = timer
      return Effect.andThen(
        Effect.sleep(at - now),
        Effect.sync(() => {
          alarm.fiber = undefined
          wake(alarm)
        })
      )
    }),
    scope,
    { startImmediately: true }
  ))
}

/**
 * The runner's first pass has ended (it rests, or its step is over): once no
 * starter is left, the runners holding back for them go on (`Registry.starting`).
 */
export const firstPassDone = (registry: Registry, runner: Runner) => {
  if (!registry.starting.delete(runner) || registry.starting.size > 0) return
  for (const waiting of registry.yielding) wake(waiting.alarm)
  registry.yielding.clear()
}

/**
 * A call's slot is free (its end recorded, or past recording): the runner
 * fills it. A runner in a pass only has its signal opened, and its rest then
 * returns at once. A resting runner resumes in a microtask, not inside the
 * call's end: calls end in bursts (a simulated week ends nearly two a tick),
 * and a pass run inside the first end refilled one slot each, paying the
 * pass's fixed cost (batch read, credits, eligibility) once per call instead
 * of once per burst. A microtask, not a task on a dispatcher: the burst's
 * ends are all in by then, and under a `TestClock` a woken sleep that
 * scheduled a task costs the clock a race against a live timer (two fibers
 * and a timer per wake-up, most of a simulated week's overhead). The pass
 * forks its timers started at once (`setAlarm`, the watchdog's), so it has
 * registered every sleep before the clock moves on. Plain code, run as the
 * call's fiber ends: an effect here cost several per call.
 */
export const slotFreed = (runner: Runner): void => {
  runner.inFlight--
  const alarm = runner.alarm
  if (alarm.waiter === undefined) {
    alarm.open = true
    return
  }
  if (runner.wakeScheduled) return
  runner.wakeScheduled = true
  queueMicrotask(() => {
    runner.wakeScheduled = false
    wake(alarm)
  })
}

/** Runs `self`, then frees its call's slot however it ends: for a call whose fiber is not the one `placeCalls` observes. */
export const freeingSlot = (runner: Runner, self: Effect.Effect<void>): Effect.Effect<void> =>
  Effect.ensuring(self, Effect.sync(() => slotFreed(runner)))

/**
 * Waits for a signal or, at the latest, `deadline`; meanwhile the runner
 * does not count as busy, nor as a starter.
 */
export const rest = (
  registry: Registry,
  runner: Runner,
  scope: Scope.Scope,
  deadline: number | undefined
): Effect.Effect<"continue"> =>
  // Without a generator: a busy batch rests once per call.
  Clock.clockWith((clock) => {
    const alarm = runner.alarm
    firstPassDone(registry, runner)
    if (alarm.open) return continued
    if (deadline !== undefined && Number.isFinite(deadline)) {
      const now = clock.currentTimeMillisUnsafe()
      if (deadline <= now) return continued
      if (ringsBy(alarm, deadline)) return wait(registry, alarm)
      return Effect.andThen(setAlarm(alarm, scope, deadline, now), Effect.suspend(() => wait(registry, alarm)))
    }
    return wait(registry, alarm)
  })

/** Waits for the signal; meanwhile the runner does not count as busy. */
const wait = (registry: Registry, alarm: Alarm): Effect.Effect<"continue"> =>
  Effect.callback<"continue">((resume) => {
    if (alarm.open) return resume(continued)
    registry.busy--
    alarm.waiter = (resumed) => {
      registry.busy++
      resume(resumed)
    }
    // Interrupted while resting: the dispatcher is closing.
    return Effect.sync(() => {
      alarm.waiter = undefined
      registry.busy++
    })
  })
