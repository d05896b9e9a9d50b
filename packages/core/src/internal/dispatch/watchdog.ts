/**
 * The watchdog over a call in flight. A provider's call ends by itself
 * within ring timeout + longest call; one still `dialing` past that (and a
 * margin) lost its end somewhere (a dropped webhook, a hung SDK call). It is
 * then looked up with the provider by its attempt id, never redialed
 * blindly: an end the provider knows is recorded as it was, a call the
 * provider never heard of is recorded `failed` (the retry policy decides
 * what follows, under a new attempt id), and one still going on is looked
 * at again after another margin. One timer over the oldest call watches
 * every call of the dispatcher, not a race and a timer per call.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { CallResult } from "../../Telephony.ts"
import type { DispatchContext, Watch, Watched } from "./context.ts"

const lostCall: CallResult = {
  outcome: "failed",
  sipCode: null,
  duration: null,
  roomName: null,
  failureReason: "the call outlived the longest possible call and the provider has no record of it"
}

/** How long a call may be in flight before the provider is asked about it. */
export const limitMillis = (context: DispatchContext): number => {
  const { marginSeconds, maxCallSeconds, ringTimeoutSeconds } = context.config.watchdog
  return (ringTimeoutSeconds + maxCallSeconds + marginSeconds) * 1000
}

// Suspended: an adapter may start its request when `lookup` is called, and the watchdog asks only when due.
const resolve = (context: DispatchContext, attemptId: string): Effect.Effect<CallResult> =>
  Effect.suspend(() => context.telephony.lookup(attemptId)).pipe(
    // A provider that cannot answer now is asked again later: the call is not guessed at.
    Effect.catch(() => Effect.succeed({ _tag: "InProgress" } as const)),
    Effect.flatMap((status) => {
      switch (status._tag) {
        case "Finished":
          return Effect.succeed(status.result)
        case "NotFound":
          return Effect.succeed(lostCall)
        case "InProgress":
          return Effect.sleep(context.config.watchdog.marginSeconds * 1000).pipe(Effect.andThen(resolve(context, attemptId)))
      }
    })
  )

const enlist = (watch: Watch, watched: Watched) => {
  watched.listed = true
  watched.previous = watch.last
  if (watch.last === undefined) watch.first = watched
  else watch.last.next = watched
  watch.last = watched
}

const delist = (watch: Watch, watched: Watched) => {
  if (!watched.listed) return
  watched.listed = false
  const { next, previous } = watched
  if (previous === undefined) watch.first = next
  else previous.next = next
  if (next === undefined) watch.last = previous
  else next.previous = previous
  watched.previous = watched.next = undefined
}

/** The call's end, unless the other side answered first: true once, for the call or the watchdog. */
const answer = (context: DispatchContext, watched: Watched, by: "call" | "watchdog"): boolean => {
  if (watched.answeredBy !== undefined) return false
  watched.answeredBy = by
  delist(context.watch, watched)
  return true
}

/**
 * The call answered first: the watchdog's questions to the provider, if any,
 * stop. False when the watchdog answered first (it records the end itself).
 */
export const callAnswered = (context: DispatchContext, watched: Watched): boolean => {
  if (!answer(context, watched, "call")) return false
  watched.resolver?.interruptUnsafe()
  return true
}

/** The timer over the oldest call in flight, unless one is set: it may be older, and then looks again. */
export const arm = (context: DispatchContext, now: number): Effect.Effect<void> => {
  const watch = context.watch
  if (watch.timer !== undefined) return Effect.void
  const oldest = watch.first
  if (oldest === undefined) return Effect.void
  // Started at once, so its sleep is registered within the pass that armed it (see `slotFreed`);
  // it names itself the timer first, and `sweep` clears that when it fires.
  return Effect.asVoid(Effect.forkIn(
    Effect.withFiber((timer) => {
      watch.timer = timer
      return Effect.andThen(Effect.sleep(Math.max(0, oldest.due - now)), sweep(context))
    }),
    context.scope,
    { startImmediately: true }
  ))
}

/**
 * Asks the provider about every call past its limit, each in its own fiber;
 * the calls still within it wait for the next timer.
 */
const sweep = (context: DispatchContext): Effect.Effect<void> =>
  Clock.clockWith((clock) => {
    const watch = context.watch
    // This fiber is the timer that fired: the next one, if any, is a new fiber.
    watch.timer = undefined
    const now = clock.currentTimeMillisUnsafe()
    const due: Array<Watched> = []
    while (watch.first !== undefined && watch.first.due <= now) {
      due.push(watch.first)
      delist(watch, watch.first)
    }
    const asked = Effect.forEach(due, (watched) =>
      Effect.forkIn(
        Effect.logWarning(`outdial: call ${watched.attemptId} is still dialing past its longest possible length; asking the provider`).pipe(
          Effect.andThen(resolve(context, watched.attemptId)),
          Effect.flatMap((result) => {
            if (!answer(context, watched, "watchdog")) return Effect.void
            watched.fiber?.interruptUnsafe()
            return watched.onEnd(result)
          })
        ),
        context.scope
      ).pipe(Effect.map((resolver) => {
        watched.resolver = resolver
      })), { discard: true })
    return Effect.andThen(asked, arm(context, now))
  })

/**
 * A call placed at `now`, under the watchdog until it answers: the call's
 * end goes through `callAnswered`; once it has run past the limit, `onEnd`
 * gets what the provider says of the attempt, and the call's own fiber is
 * interrupted. The caller sets `fiber` once it has forked the call, and arms
 * the timer (`arm`) after its step's calls.
 */
export const watch = (
  context: DispatchContext,
  attemptId: string,
  now: number,
  onEnd: (result: CallResult) => Effect.Effect<void>
): Watched => {
  const watched: Watched = {
    attemptId,
    due: now + limitMillis(context),
    fiber: undefined,
    onEnd,
    answeredBy: undefined,
    resolver: undefined,
    listed: false,
    previous: undefined,
    next: undefined
  }
  // A call interrupted from outside is its dispatcher closing: the list of calls goes with it.
  enlist(context.watch, watched)
  return watched
}
