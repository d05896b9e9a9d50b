/**
 * `BatchStore` on PostgreSQL through effect's `SqlClient` (`@effect/sql-pg`):
 * the same queries serve a real server and embedded PGlite.
 *
 * Dialing writes (`beginAttempt`, `finishAttempt`, `abandonAttempt`,
 * `decide`) are single statements: each holds the batch's lease row FOR SHARE
 * while it still carries the writer's epoch, then moves the contact, records
 * the attempt and adjusts one of the batch's counter rows. A write with a
 * stale epoch changes nothing; a takeover (an UPDATE of the lease row) waits
 * for the writes in progress; the holder's own writes run side by side.
 * Every statement locks the lease row, then contacts, then one counter row,
 * so concurrent writes of a batch never deadlock.
 *
 * The statements live in groups under `internal/`: `rows` (row types and
 * their mapping), `fragments` (the lease CTE, counters, the lock order),
 * `dialingWrites` (the lease and the fenced single statements),
 * `batchedWrites` (the same fenced statements over many contacts),
 * `batchWrites` (batches, contacts, idempotency keys), `decisionHistory`
 * (a contact's decisions, kept by the statements above), `outbox` (the
 * event outbox and NOTIFY) and `retention` (pruning). This module assembles them.
 *
 * @since 0.1.0
 */
import { BatchStore } from "@outdial/core/BatchStore"
import * as EngineMetrics from "@outdial/core/EngineMetrics"
import { PgClient } from "@effect/sql-pg"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Semaphore from "effect/Semaphore"
import * as SqlClient from "effect/sql/SqlClient"
import * as BatchedWrites from "./internal/batchedWrites.ts"
import * as BatchWrites from "./internal/batchWrites.ts"
import * as DecisionHistory from "./internal/decisionHistory.ts"
import * as CallLimits from "./internal/callLimits.ts"
import * as DialingWrites from "./internal/dialingWrites.ts"
import * as Fragments from "./internal/fragments.ts"
import { Outbox } from "./internal/outbox.ts"
import * as OutboxModule from "./internal/outbox.ts"
import * as Retention from "./internal/retention.ts"
import * as Webhooks from "./internal/webhooks.ts"

export {
  /**
   * The event outbox of this store: lifecycle changes in commit order, each
   * written in the transaction that made it.
   *
   * @since 0.1.0
   * @category services
   */
  Outbox,
  /**
   * A lifecycle change as the outbox keeps it.
   *
   * @since 0.1.0
   * @category models
   */
  type OutboxEvent
} from "./internal/outbox.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Whether the database lives in this process alone (embedded PGlite): the
   * dispatcher then skips looking for batches other processes left behind.
   */
  readonly processLocal?: boolean | undefined
  /**
   * LISTEN for other processes' lifecycle changes (schedule, pause, cancel…)
   * so their runners wake at once; polling remains the fallback. On by
   * default; it holds one connection.
   */
  readonly listen?: boolean | undefined
  /** Contacts per bulk `INSERT … unnest(…)`; 5,000 unless set. */
  readonly ingestChunkSize?: number | undefined
  /**
   * Ingests (`createBatch`, `addContacts`: a transaction holding a pool
   * connection while it inserts every contact) that may run at once in this
   * store; the others wait for a turn without holding a connection, so a
   * burst of large creates never takes the connections reads need. An eighth
   * of the pool, at least 1, unless set: 1 for the default 10 connections.
   * Ingests are bulk work for the server's CPUs, and a pool is commonly
   * sized at about twice their count: with a second concurrent ingest on a
   * 2-core machine, read p95 during a burst of creates rose 1.5 to 2 times
   * (`pnpm bench:ingest-load`).
   */
  readonly maxConcurrentIngests?: number | undefined
  /** Rows per `DELETE` when pruning, so a large backlog never holds many locks at once; 1,000 unless set. */
  readonly pruneChunkSize?: number | undefined
}

/**
 * Builds the store on the `SqlClient` (and, for LISTEN/NOTIFY, the
 * `PgClient`) in context. The schema must be migrated (`Migrations.run`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pg = yield* Effect.serviceOption(PgClient.PgClient)
    const fragments = Fragments.make(sql)
    const history = DecisionHistory.make(sql)
    const events = OutboxModule.make(sql, pg, options)
    // The pool's size as the client was configured (the pool's own default, 10, when unset).
    const poolSize = pg._tag === "Some" ? (pg.value.config as PgClient.PgPoolConfig).maxConnections ?? 10 : 10
    const ingests = yield* Semaphore.make(Math.max(1, options.maxConcurrentIngests ?? Math.floor(poolSize / 8)))
    const batched = BatchedWrites.make(sql, fragments, history)
    const store = BatchStore.of({
      processLocal: options.processLocal === true,
      changes: events.changes,
      webhooks: Webhooks.make(sql),
      ...BatchWrites.make(sql, fragments, events, {
        chunkSize: options.ingestChunkSize ?? 5_000,
        processLocal: options.processLocal === true,
        // Outside the transaction: an ingest waiting for its turn holds no connection.
        ingesting: ingests.withPermits(1)
      }),
      ...DialingWrites.make(sql, fragments, history),
      ...batched,
      contactHistory: history.contactHistory,
      ...CallLimits.make(sql, batched),
      ...Retention.make(sql, { chunkSize: options.pruneChunkSize ?? 1_000 })
    })
    // Every call timed and traced: a store's latency is where a database shows first.
    return { store: EngineMetrics.instrumentStore(store), outbox: events.outbox }
  })

/**
 * The store on the `SqlClient` in context (migrated by `Migrations.run`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<BatchStore | Outbox, never, SqlClient.SqlClient> =>
  Layer.effectContext(
    Effect.map(make(options), ({ outbox, store }) => Context.make(BatchStore, store).pipe(Context.add(Outbox, outbox)))
  )

