/**
 * Retention: idempotency keys (each holds a whole create response),
 * outbox events and finished webhook deliveries would otherwise be kept forever. Every process asks its store
 * to prune every `retention.intervalMillis` on the engine's `Clock`; the store
 * lets one process of those sharing it do the work per interval.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { BatchStore, type PruneResult } from "./BatchStore.ts"
import { EngineConfig } from "./EngineConfig.ts"
import type { StoreError } from "./OutdialError.ts"

/**
 * One prune at the clock's current time, with the configured ages.
 *
 * @since 0.1.0
 * @category retention
 */
export const pruneNow: Effect.Effect<PruneResult, StoreError, BatchStore> = Effect.gen(function*() {
  const store = yield* BatchStore
  const { retention } = yield* EngineConfig
  const now = yield* Clock.currentTimeMillis
  const result = yield* store.prune({
    now: DateTime.makeUnsafe(now),
    idempotencyKeysBefore: DateTime.makeUnsafe(now - retention.idempotencyKeysMillis),
    eventsBefore: DateTime.makeUnsafe(now - retention.eventsMillis),
    minIntervalMillis: retention.intervalMillis
  })
  if (!result.ran || store.webhooks === undefined) return result
  // Deliveries in the same turn, in chunks: a large backlog never holds many locks at once.
  const before = DateTime.makeUnsafe(now - (retention.webhookDeliveriesMillis ?? 7 * 86_400_000))
  let deliveries = 0
  for (;;) {
    const count = yield* store.webhooks.pruneDeliveries(before, deliveryChunk)
    deliveries += count
    // Said only when some went: a store without webhook traffic answers as it always did.
    if (count < deliveryChunk) return deliveries === 0 ? result : { ...result, deliveries }
  }
})

const deliveryChunk = 1_000

/**
 * Prunes at start, then every `retention.intervalMillis`, forever. A failure
 * is logged as a warning and the next interval tries again: retention must
 * never take the engine down.
 *
 * @since 0.1.0
 * @category retention
 */
export const run: Effect.Effect<never, never, BatchStore> = Effect.gen(function*() {
  const { retention } = yield* EngineConfig
  const once = pruneNow.pipe(
    Effect.tap((result) =>
      result.ran && (result.idempotencyKeys > 0 || result.events > 0 || (result.deliveries ?? 0) > 0)
        ? Effect.logDebug("outdial: pruned old records", result)
        : Effect.void
    ),
    Effect.catchCause((cause) => Effect.logWarning("outdial: could not prune old records; trying again later", cause))
  )
  return yield* once.pipe(Effect.andThen(Effect.sleep(retention.intervalMillis)), Effect.forever)
})
