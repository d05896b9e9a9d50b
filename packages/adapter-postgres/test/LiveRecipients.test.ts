/**
 * Contacts added through one process to a batch another process dispatches
 * (issue 16): the add's NOTIFY wakes the holder's resting runner, which
 * dials them long before its lease renewal or a rescan would have looked.
 * Needs a real server: embedded PGlite belongs to one process and does not
 * listen.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { Engine } from "@outdial/core"
import * as TestEngine from "@outdial/testing/TestEngine"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { describe, expect, it } from "vitest"
import { freshDatabase, isReachable } from "./database.ts"

const reachable = await isReachable()

const busy = "+4915139990001"
const answers = "+4915139990002"

// Rests long enough that only a notification can wake a runner within the test.
const slowLooks = { leaseTtlMillis: 600_000, rescanIntervalMillis: 600_000 }

const process = (url: string) =>
  TestEngine.engineOnly(slowLooks).pipe(
    Layer.provideMerge(TestEngine.ports({
      store: Layer.orDie(PgStorage.layer({ url: Redacted.make(url) })),
      telephony: { byNumber: { [busy]: "busy", [answers]: "completed" }, ringSeconds: 0, talkSeconds: 0.01, rejectSeconds: 0 }
    }))
  )

describe.skipIf(!reachable)("contacts added from another process", () => {
  it("are dialed by the process holding the batch, woken by the store's notification", async () => {
    const program = Effect.gen(function*() {
      const { url } = yield* freshDatabase("outdial_live_add")
      const holder = Context.get(yield* Layer.build(process(url)), Engine.Engine)
      const other = Context.get(yield* Layer.build(process(url)), Engine.Engine)
      const organizationId = TestEngine.organizationId
      // One busy contact retried in an hour keeps the batch running, its runner resting.
      const created = yield* holder.createBatch(organizationId, {
        name: "Held here",
        agentId: TestEngine.agentId,
        contacts: [{ phone: busy }],
        maxAttempts: 2,
        retryDelay: 3600
      })
      const queued = () => Effect.map(holder.getBatch(organizationId, created.batchJobId), (b) => b.progress.statusBreakdown.queued)
      for (let i = 0; i < 200 && (yield* queued()) === 0; i++) yield* Effect.sleep(25)
      expect(yield* queued()).toBe(1)

      const added = yield* other.addContacts(organizationId, created.batchJobId, { _tag: "Rows", rows: [{ phone: answers }] })
      expect(added).toMatchObject({ added: 1, totalContacts: 2 })
      const completed = () =>
        Effect.map(holder.getBatch(organizationId, created.batchJobId), (b) => b.progress.statusBreakdown.completed)
      for (let i = 0; i < 200 && (yield* completed()) === 0; i++) yield* Effect.sleep(25)
      const batch = yield* holder.getBatch(organizationId, created.batchJobId)
      expect(batch.status).toBe("running")
      expect(batch.progress.statusBreakdown).toMatchObject({ completed: 1, queued: 1 })
    })
    await Effect.runPromise(Effect.scoped(program))
  }, 30_000)
})
