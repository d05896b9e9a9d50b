/**
 * How a runner rests: until its signal opens (a wake, a call's end) or, at
 * the latest, a deadline, by one timer per runner.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Alarm, Registry, Runner } from "./context.ts"

// One timer per runner, kept while its time still suits: resting happens
// after nearly every call, and a timer per rest would cost a fiber each.
const setAlarm = (alarm: Alarm, scope: Scope.Scope, at: number, now: number) =>
  Effect.suspend(() => {
    if (alarm.fiber !== undefined && alarm.at <= at) return Effect.void
    alarm.fiber?.interruptUnsafe()
    alarm.at = at
    return Effect.forkIn(
      Effect.sleep(at - now).pipe(Effect.andThen(Effect.sync(() => {
        alarm.fiber = undefined
        alarm.signal.openUnsafe()
      }))),
      scope
    ).pipe(Effect.map((fiber) => {
      alarm.fiber = fiber
    }))
  })

/**
 * The runner's first pass has ended (it rests, or its step is over): once no
 * starter is left, the runners holding back for them go on (`Registry.starting`).
 */
export const firstPassDone = (registry: Registry, runner: Runner) => {
  if (!registry.starting.delete(runner) || registry.starting.size > 0) return
  for (const waiting of registry.yielding) waiting.alarm.signal.openUnsafe()
  registry.yielding.clear()
}

/**
 * Wakes the runner once the calls ending now have all been recorded: its
 * signal opens at once, but a resting runner resumes in a scheduled task,
 * not inside the call's fiber. Calls end in bursts (a simulated week ends
 * nearly two a tick), and a pass run inside the first call's end refilled
 * one slot each, paying the pass's fixed cost (batch read, credits,
 * eligibility) once per call instead of once per burst.
 */
export const wakeAfterEnd = (runner: Runner): Effect.Effect<void> => Effect.asVoid(runner.alarm.signal.open)

/**
 * Waits for a signal or, at the latest, `deadline`; meanwhile the runner
 * does not count as busy, nor as a starter.
 */
export const rest = (registry: Registry, runner: Runner, scope: Scope.Scope, deadline: number | undefined): Effect.Effect<void> =>
  // Without a generator: a busy batch rests once per call.
  Clock.clockWith((clock) => {
    const alarm = runner.alarm
    firstPassDone(registry, runner)
    if (alarm.signal.isOpen()) return Effect.void
    if (deadline !== undefined && Number.isFinite(deadline)) {
      const now = clock.currentTimeMillisUnsafe()
      if (deadline <= now) return Effect.void
      return Effect.andThen(setAlarm(alarm, scope, deadline, now), Effect.suspend(() => wait(registry, alarm)))
    }
    return wait(registry, alarm)
  })

const wait = (registry: Registry, alarm: Alarm) => {
  registry.busy--
  return Effect.ensuring(alarm.signal.await, Effect.sync(() => void registry.busy++))
}
