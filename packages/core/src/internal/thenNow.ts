/**
 * `Effect.flatMap`, but `f` runs at once on an effect already succeeded (an
 * answer given in place, such as a link's verdicts on a list in this
 * process): the dispatcher's step reads such answers on every dial, and each
 * effect in between is a step of the fiber's loop.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

export const thenNow = <A, E, R, B, E2, R2>(
  self: Effect.Effect<A, E, R>,
  f: (a: A) => Effect.Effect<B, E2, R2>
): Effect.Effect<B, E | E2, R | R2> => Exit.isExit(self) && Exit.isSuccess(self) ? f(self.value as A) : Effect.flatMap(self, f)
