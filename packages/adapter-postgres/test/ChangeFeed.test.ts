/**
 * LISTEN/NOTIFY between processes: a lifecycle change made through one
 * store reaches every other store's change feed, which the dispatcher
 * turns into an immediate look at the batch. Needs a real server: embedded
 * PGlite belongs to one process and does not listen.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { BatchStore } from "@outdial/core"
import * as BatchStoreSuite from "@outdial/core/BatchStoreSuite"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { describe, expect, it } from "vitest"
import { freshDatabase, isReachable, serverUrl } from "./database.ts"

const reachable = await isReachable()

describe.skipIf(!reachable)("the change feed", () => {
  it("carries another process's create, pause and cancel to this one", async () => {
    const program = Effect.gen(function*() {
      const { url } = yield* freshDatabase("outdial_feed")
      // Two stores, two connection pools: as two processes would have them.
      const here = yield* Layer.build(PgStorage.layer({ url: Redacted.make(url) }))
      const there = yield* Layer.build(PgStorage.layer({ url: Redacted.make(url) }))
      const listener = BatchStore.BatchStore.pipe(Effect.provide(here))
      const writer = BatchStore.BatchStore.pipe(Effect.provide(there))
      const feed = (yield* listener).changes!
      expect(feed).toBeDefined()
      const received: Array<string> = []
      const listening = yield* Stream.runForEach(feed, (id) => Effect.sync(() => received.push(id))).pipe(Effect.forkScoped)
      yield* Effect.sleep(200) // LISTEN confirmed before anything is sent

      const store = yield* writer
      const batch = BatchStoreSuite.makeBatch({ status: "pending" })
      yield* store.createBatch(batch, BatchStoreSuite.newContacts(2))
      yield* store.updateBatch(batch.id, ["pending"], "pause", { status: "paused" })
      // Not a lifecycle move: no news.
      yield* store.updateBatch(batch.id, ["paused"], "estimate", { estimatedCompletionTime: BatchStoreSuite.after(60) })
      yield* store.updateBatch(batch.id, ["paused"], "cancel", { status: "cancelled" })
      for (let i = 0; i < 100 && received.length < 3; i++) yield* Effect.sleep(50)
      yield* Effect.sleep(300) // time for a notification that should not come
      yield* Fiber.interrupt(listening)
      expect(received).toEqual([batch.id, batch.id, batch.id])
    })
    await Effect.runPromise(Effect.scoped(program))
  })

  it("is absent on embedded PGlite, which one process owns", async () => {
    const program = Effect.gen(function*() {
      const context = yield* Layer.build(PgStorage.layerEmbedded())
      const store = yield* BatchStore.BatchStore.pipe(Effect.provide(context))
      expect(store.changes).toBeUndefined()
      expect(store.processLocal).toBe(true)
    })
    await Effect.runPromise(Effect.scoped(program))
  })
})

if (!reachable) {
  describe("the change feed", () => {
    it.skip(`skipped: no PostgreSQL reachable at ${serverUrl}`, () => {})
  })
}
