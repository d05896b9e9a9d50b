/**
 * Every batch and contact change the engine makes, as an in-process stream.
 * The HTTP router turns it into Server-Sent Events; a host may also pass a
 * callback. A slow subscriber loses the oldest events rather than slowing
 * dialing down.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Stream from "effect/Stream"
import type { Attempt } from "./Attempt.ts"
import type { Batch } from "./Batch.ts"
import type { Contact } from "./Contact.ts"

/**
 * @since 0.1.0
 * @category models
 */
export type EngineEvent =
  | {
    readonly _tag: "BatchChanged"
    readonly organizationId: string
    readonly batchId: string
    readonly batch: Batch
    readonly at: DateTime.Utc
  }
  | {
    readonly _tag: "ContactChanged"
    readonly organizationId: string
    readonly batchId: string
    readonly contact: Contact
    /** The attempt that moved the contact, when a dial did. */
    readonly attempt: Attempt | null
    readonly at: DateTime.Utc
  }
  | {
    /** A batch-wide policy holds all dialing back until `until` (window closed, daily cap reached). */
    readonly _tag: "BatchDeferred"
    readonly organizationId: string
    readonly batchId: string
    readonly policy: string
    readonly reason: string
    readonly until: DateTime.Utc | null
    readonly at: DateTime.Utc
  }

/**
 * @since 0.1.0
 * @category services
 */
export class EngineEvents extends Context.Service<EngineEvents, {
  readonly publish: (event: EngineEvent) => Effect.Effect<void>
  /**
   * Whether an event published now reaches anyone (a stream being run, an
   * `onEvent`): when it answers false, a publisher may skip making the event.
   * The dispatcher publishes two per call.
   */
  readonly heard?: (() => boolean) | undefined
  /** Events published from the moment the stream is run. */
  readonly stream: Stream.Stream<EngineEvent>
}>()("@outdial/core/EngineEvents") {}

/**
 * Each subscriber buffers up to `capacity` events (defaults to `4096`); past
 * that its oldest are dropped. `onEvent`, when given, sees every event
 * synchronously as it is published.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: {
  readonly capacity?: number
  readonly onEvent?: (event: EngineEvent) => void
}): Layer.Layer<EngineEvents> =>
  Layer.effect(EngineEvents)(
    Effect.gen(function*() {
      const pubsub = yield* Effect.acquireRelease(
        PubSub.sliding<EngineEvent>(options?.capacity ?? 4096),
        PubSub.shutdown
      )
      const onEvent = options?.onEvent
      // Streams being run: with none, a publish (two per call dialed) skips the PubSub.
      // Counted before the stream subscribes, so no event meant for it is skipped.
      let listening = 0
      const listen = Effect.acquireRelease(
        Effect.sync(() => void listening++),
        () => Effect.sync(() => void listening--)
      )
      return EngineEvents.of({
        heard: () => listening > 0 || onEvent !== undefined,
        publish: (event) =>
          Effect.suspend(() => {
            onEvent?.(event)
            return listening === 0 ? Effect.void : PubSub.publish(pubsub, event)
          }),
        stream: Stream.unwrap(Effect.as(listen, Stream.fromPubSub(pubsub)))
      })
    })
  )
