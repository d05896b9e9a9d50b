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
 * `batchWrites` (batches, contacts, idempotency keys) and `outbox` (the
 * event outbox and NOTIFY). This module assembles them.
 *
 * @since 0.1.0
 */
import { BatchStore } from "@outdial/core/BatchStore"
import { PgClient } from "@effect/sql-pg"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as SqlClient from "effect/sql/SqlClient"
import * as BatchWrites from "./internal/batchWrites.ts"
import * as DialingWrites from "./internal/dialingWrites.ts"
import * as Fragments from "./internal/fragments.ts"
import { Outbox } from "./internal/outbox.ts"
import * as OutboxModule from "./internal/outbox.ts"

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
    const events = OutboxModule.make(sql, pg, options)
    const store = BatchStore.of({
      processLocal: options.processLocal === true,
      changes: events.changes,
      ...BatchWrites.make(sql, fragments, events, { chunkSize: options.ingestChunkSize ?? 5_000 }),
      ...DialingWrites.make(sql, fragments)
    })
    return { store, outbox: events.outbox }
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

