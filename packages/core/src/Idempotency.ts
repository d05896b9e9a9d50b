/**
 * Requests made safe to repeat: reserve the key, run once, then keep the
 * response for a repeat (or release the key when the run failed, so the
 * client may try again).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { BatchStore } from "./BatchStore.ts"
import * as InputGuard from "./InputGuard.ts"
import type { IdempotencyKeyReused, IdempotencyRequestInProgress, InvalidInput, StoreError } from "./OutdialError.ts"

/**
 * The key the client sent and a fingerprint of its body (the transport
 * computes it, since it sees the raw request).
 *
 * @since 0.1.0
 * @category models
 */
export interface Idempotency {
  readonly key: string
  readonly fingerprint: string
}

/** A key longer than this is not a key but a payload. */
const maxKeyLength = 255

/**
 * Runs `body` once per key within `scope`: a repeat replays the stored response.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <A, E>(
  store: BatchStore["Service"],
  scope: string,
  idempotency: Idempotency | undefined,
  body: Effect.Effect<A, E>
): Effect.Effect<A, E | InvalidInput | IdempotencyKeyReused | IdempotencyRequestInProgress | StoreError> => {
  if (idempotency === undefined) return body
  return Effect.gen(function*() {
    const malformed = InputGuard.checkText("Idempotency-Key", idempotency.key, maxKeyLength)
    if (malformed !== undefined) return yield* malformed
    const replay = yield* store.reserveIdempotencyKey(scope, idempotency.key, idempotency.fingerprint)
    if (replay !== undefined) return replay.response as A
    return yield* body.pipe(
      Effect.tap((response) => store.completeIdempotencyKey(scope, idempotency.key, response)),
      Effect.onError(() => Effect.ignore(store.releaseIdempotencyKey(scope, idempotency.key)))
    )
  })
}
