/**
 * Lifecycle events of other processes, in this one's event stream: the
 * relay follows the store's outbox (woken by its change feed, polling as
 * the fallback) and publishes each change another process committed —
 * a batch created, scheduled, paused, cancelled, completed — as a
 * `BatchChanged` event here, so Server-Sent Events and host callbacks of
 * every process see them. Changes this process made are already published
 * by it, and are skipped.
 *
 * @since 0.1.0
 */
import { BatchStore, EngineEvents } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { Outbox } from "./PgBatchStore.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How often to read the outbox without news from the change feed; 2 s unless set. */
  readonly pollIntervalMillis?: number | undefined
}

/**
 * Runs for the layer's lifetime; add it beside the storage layer in hosts
 * that run several processes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<never, never, Outbox | BatchStore.BatchStore | EngineEvents.EngineEvents> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const outbox = yield* Outbox
    const store = yield* BatchStore.BatchStore
    const events = yield* EngineEvents.EngineEvents
    // From now on: a process that starts does not replay history.
    let after = yield* Effect.orElseSucceed(outbox.latestId, () => 0)

    const drain: Effect.Effect<void> = Effect.gen(function*() {
      for (;;) {
        const page = yield* outbox.read(after, 500)
        for (const event of page) {
          after = event.id
          if (event.origin === outbox.origin) continue
          yield* events.publish({
            _tag: "BatchChanged",
            organizationId: event.batch.organizationId,
            batchId: event.batch.id,
            batch: event.batch,
            at: event.at
          })
        }
        if (page.length < 500) return
      }
    }).pipe(Effect.catchCause((cause) => Effect.logWarning("outdial: could not read the event outbox", cause)))

    const poll = Effect.sleep(options.pollIntervalMillis ?? 2_000).pipe(Effect.andThen(drain), Effect.forever)
    const woken = store.changes === undefined
      ? Effect.never
      : Stream.runForEach(store.changes, () => drain).pipe(
        Effect.catchCause((cause) => Effect.logWarning("outdial: lost the change feed; polling the outbox", cause)),
        Effect.andThen(Effect.never)
      )
    yield* Effect.forkScoped(Effect.raceFirst(poll, woken))
  }))
