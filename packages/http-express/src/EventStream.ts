/**
 * Live progress as Server-Sent Events: `progress` snapshots (counts by
 * status) when something changed, at most four a second and at least one a
 * second, beside each `batch`, `contact` and `deferred` event the engine
 * publishes; `end` once the batch is final. The snapshots come from the
 * store, so a batch dialed by another process sharing it shows progress too.
 *
 * @since 0.1.0
 */
import { Batch, BatchView, Engine, type EngineEvents } from "@outdial/core"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Response } from "express"

/**
 * The `progress` event; every event's shape is a Schema of `BatchView`.
 *
 * @since 0.1.0
 * @category models
 */
export type ProgressEvent = BatchView.ProgressEvent

const snapshotOf = (details: BatchView.BatchDetails): ProgressEvent => ({
  batchJobId: details.batchJobId,
  status: details.status,
  statusReason: details.statusReason,
  progress: details.progress,
  estimatedCompletionTime: details.timing.estimatedCompletionTime
})

/** The SSE form of an engine event: its name and data. */
const encode = (event: EngineEvents.EngineEvent): readonly [string, unknown] => {
  switch (event._tag) {
    case "BatchChanged":
      return ["batch", { ...BatchView.summaryOf(event.batch), at: DateTime.formatIso(event.at) } satisfies typeof BatchView.BatchEvent.Type]
    case "ContactChanged":
      return ["contact", {
        ...BatchView.contactView(event.contact),
        attemptId: event.attempt?.id ?? null,
        at: DateTime.formatIso(event.at)
      } satisfies typeof BatchView.ContactEvent.Type]
    case "BatchDeferred":
      return ["deferred", {
        policy: event.policy,
        reason: event.reason,
        until: event.until === null ? null : DateTime.formatIso(event.until),
        at: DateTime.formatIso(event.at)
      } satisfies typeof BatchView.DeferredEvent.Type]
  }
}

/**
 * Streams a batch's events to `response` until the batch is final or the
 * client goes away (interrupt the effect then). Fails before writing
 * anything when the organization has no such batch.
 *
 * @since 0.1.0
 * @category streams
 */
export const serve = (organizationId: string, batchId: string, response: Response) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const snapshot = engine.getBatch(organizationId, batchId, { contactsPageSize: 1 }).pipe(Effect.map(snapshotOf))
    // Subscribe before the first snapshot, so nothing falls between them.
    const events = yield* Stream.toPull(engine.events(organizationId, batchId))
    const first = yield* snapshot

    response.status(200).set({
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no"
    })
    response.flushHeaders()
    const write = (name: string, data: unknown) => {
      response.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)
    }
    write("progress", first)
    if (Batch.isFinal(first.status)) {
      write("end", { status: first.status })
      return
    }

    let changed = false
    let last = Date.now()
    const forward = events.pipe(
      Effect.tap((chunk) =>
        Effect.sync(() => {
          for (const event of chunk) {
            const [name, data] = encode(event)
            write(name, data)
          }
          changed = true
        })
      ),
      Effect.forever
    )
    const progress = Effect.gen(function*() {
      for (;;) {
        yield* Effect.sleep(250)
        if (!changed && Date.now() - last < 1_000) continue
        changed = false
        last = Date.now()
        const current = yield* snapshot
        write("progress", current)
        if (Batch.isFinal(current.status)) {
          write("end", { status: current.status })
          return
        }
      }
    })
    yield* Effect.raceFirst(progress, Effect.ignore(forward))
  }).pipe(Effect.scoped)
