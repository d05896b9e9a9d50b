/**
 * The watchdog over a call in flight. A provider's call ends by itself
 * within ring timeout + longest call; one still `dialing` past that (and a
 * margin) lost its end somewhere (a dropped webhook, a hung SDK call). It is
 * then looked up with the provider by its attempt id, never redialed
 * blindly: an end the provider knows is recorded as it was, a call the
 * provider never heard of is recorded `failed` (the retry policy decides
 * what follows, under a new attempt id), and one still going on is looked
 * at again after another margin.
 */
import * as Effect from "effect/Effect"
import type { CallResult } from "../../Telephony.ts"
import type { DispatchContext } from "./context.ts"

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

/**
 * `call`, or once it has run past the limit, what the provider says of the
 * attempt; the call's own fiber is interrupted when the watchdog answers.
 */
export const guard = (context: DispatchContext, attemptId: string, call: Effect.Effect<CallResult>): Effect.Effect<CallResult> =>
  Effect.race(
    call,
    Effect.sleep(limitMillis(context)).pipe(
      Effect.andThen(Effect.logWarning(`outdial: call ${attemptId} is still dialing past its longest possible length; asking the provider`)),
      Effect.andThen(resolve(context, attemptId))
    )
  )
