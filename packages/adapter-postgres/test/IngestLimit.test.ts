/**
 * Ingests bounded per store: a create holds a pool connection for its whole
 * ingest, so more creates than the bound wait for a turn without one, and
 * reads keep connections to run on. Needs a real server: embedded PGlite has
 * one connection, which everything shares in turn anyway.
 */
import { PgClient } from "@effect/sql-pg"
import { PgStorage } from "@outdial/adapter-postgres"
import type { Batch } from "@outdial/core/Batch"
import { BatchStore, type NewContact } from "@outdial/core/BatchStore"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Redacted from "effect/Redacted"
import * as SqlClient from "effect/sql/SqlClient"
import { describe, expect, it } from "vitest"
import { makeBatch } from "@outdial/testing/StoreFixtures"
import { freshDatabase, isReachable, serverUrl } from "./database.ts"

const reachable = await isReachable()

const draft = (id: string): Batch =>
  makeBatch({ id, organizationId: "org_ingest", name: id, createdAt: DateTime.makeUnsafe(0), updatedAt: DateTime.makeUnsafe(0) })

const contacts = (count: number): Array<NewContact> =>
  Array.from({ length: count }, (_, i) => ({
    row: i + 2,
    phone: `+49151${20_000_000 + i}`,
    numberValidated: true,
    name: `Contact ${i}`,
    externalId: null,
    customFields: {}
  }))

describe.skipIf(!reachable)("ingests bounded per store", () => {
  it("more creates than the bound wait without a connection, and reads are answered meanwhile", async () => {
    const program = Effect.gen(function*() {
      const { url } = yield* freshDatabase("outdial_ingest")
      // Three connections, one ingest at a time: five creates at once would take them all unbounded.
      const context = yield* Layer.build(
        PgStorage.layer({ url: Redacted.make(url), maxConnections: 3 }, { listen: false, maxConcurrentIngests: 1 })
      )
      const store = Context.get(context, BatchStore)
      const sql = Context.get(context, SqlClient.SqlClient)
      yield* store.createBatch(draft("batch_read"), contacts(3))

      // Another session holds a lock that blocks every insert of contacts (not reads): the ingest that
      // gets its turn stays inside its transaction, holding its connection, until the lock goes.
      const other = yield* PgClient.make({ url: Redacted.make(url), maxConnections: 1 }).pipe(
        Effect.provide(Reactivity.layer)
      )
      const locked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      yield* other`LOCK TABLE outdial_contacts IN SHARE MODE`.pipe(
        Effect.andThen(Deferred.succeed(locked, undefined)),
        Effect.andThen(Deferred.await(release)),
        other.withTransaction,
        Effect.forkScoped
      )
      yield* Deferred.await(locked)

      let finished = 0
      const creates = yield* Effect.forEach(
        [1, 2, 3, 4, 5],
        (i) => store.createBatch(draft(`batch_${i}`), contacts(10)).pipe(Effect.tap(() => Effect.sync(() => finished++))),
        { concurrency: "unbounded" }
      ).pipe(Effect.forkScoped)

      const waitingForLock = sql<{ count: number }>`
        SELECT count(*)::int4 AS count FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`.pipe(Effect.map((rows) => rows[0]!.count))
      for (let i = 0; i < 200 && (yield* waitingForLock) === 0; i++) yield* Effect.sleep(25)

      // Reads have connections to run on while five creates are in flight.
      for (let i = 0; i < 10; i++) {
        const batch = yield* store.getBatch("org_ingest", "batch_read")
        expect(batch.totalContacts).toBe(3)
        expect((yield* store.listContacts("batch_read", { page: 1, pageSize: 10 })).total).toBe(3)
        expect((yield* store.statusBreakdown("batch_read")).pending).toBe(3)
      }
      // One ingest is inside its transaction; the other four wait for their turn, holding nothing.
      expect(yield* waitingForLock).toBe(1)
      expect(finished).toBe(0)

      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(creates)
      expect(finished).toBe(5)
      for (const i of [1, 2, 3, 4, 5]) expect((yield* store.getBatch("org_ingest", `batch_${i}`)).totalContacts).toBe(10)
    })
    await Effect.runPromise(Effect.scoped(program))
  })
})

if (!reachable) {
  describe("ingests bounded per store", () => {
    it.skip(`skipped: no PostgreSQL reachable at ${serverUrl}`, () => {})
  })
}
