/**
 * LISTEN/NOTIFY between processes: a lifecycle change made through one
 * store reaches every other store's change feed, which the dispatcher
 * turns into an immediate look at the batch. Needs a real server: embedded
 * PGlite belongs to one process and does not listen.
 */
import { PgEventRelay, PgStorage } from "@outdial/adapter-postgres"
import { BatchStore, EngineEvents } from "@outdial/core"
import * as StoreFixtures from "@outdial/testing/StoreFixtures"
import * as Context from "effect/Context"
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
      const batch = StoreFixtures.makeBatch({ status: "pending" })
      yield* store.createBatch(batch, StoreFixtures.newContacts(2))
      yield* store.updateBatch(batch.id, ["pending"], "pause", { status: "paused" })
      // Not a lifecycle move: no news.
      yield* store.updateBatch(batch.id, ["paused"], "estimate", { estimatedCompletionTime: StoreFixtures.after(60) })
      yield* store.updateBatch(batch.id, ["paused"], "cancel", { status: "cancelled" })
      for (let i = 0; i < 100 && received.length < 3; i++) yield* Effect.sleep(50)
      yield* Effect.sleep(300) // time for a notification that should not come
      yield* Fiber.interrupt(listening)
      expect(received).toEqual([batch.id, batch.id, batch.id])
    })
    await Effect.runPromise(Effect.scoped(program))
  })

  it("relays other processes' lifecycle changes into this one's events, not its own", async () => {
    const program = Effect.gen(function*() {
      const { url } = yield* freshDatabase("outdial_relay")
      const here = yield* Layer.build(
        PgEventRelay.layer({ pollIntervalMillis: 5_000 }).pipe(
          Layer.provideMerge(Layer.merge(PgStorage.layer({ url: Redacted.make(url) }), EngineEvents.layer()))
        )
      )
      const there = yield* Layer.build(PgStorage.layer({ url: Redacted.make(url) }))
      const events = Context.get(here, EngineEvents.EngineEvents)
      const seen: Array<string> = []
      yield* Stream.runForEach(events.stream, (event) =>
        Effect.sync(() => event._tag === "BatchChanged" && seen.push(`${event.batch.name}:${event.batch.status}`))
      ).pipe(Effect.forkScoped)
      yield* Effect.sleep(300)

      const remote = Context.get(there, BatchStore.BatchStore)
      const local = Context.get(here, BatchStore.BatchStore)
      const theirs = StoreFixtures.makeBatch({ status: "pending", name: "theirs" })
      const ours = StoreFixtures.makeBatch({ status: "pending", name: "ours" })
      yield* remote.createBatch(theirs, StoreFixtures.newContacts(1))
      yield* local.createBatch(ours, StoreFixtures.newContacts(1))
      yield* remote.updateBatch(theirs.id, ["pending"], "pause", { status: "paused" })
      for (let i = 0; i < 100 && seen.length < 2; i++) yield* Effect.sleep(50)
      yield* Effect.sleep(300)
      expect(seen).toEqual(["theirs:pending", "theirs:paused"])
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
