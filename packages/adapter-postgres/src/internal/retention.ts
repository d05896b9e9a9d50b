/**
 * Retention: old idempotency keys and outbox events deleted, by one process
 * of those sharing the database per interval.
 */
import type { BatchStore, PruneResult } from "@outdial/core/BatchStore"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { storeError } from "./rows.ts"

export const make = (
  sql: SqlClient.SqlClient,
  options: { readonly chunkSize: number }
): Pick<BatchStore["Service"], "prune"> => {
  /** Runs `remove` (a DELETE of at most `limit` rows, answering how many) until a chunk comes back short; the total. */
  const deleteInChunks = (remove: (limit: number) => Effect.Effect<ReadonlyArray<{ readonly count: number }>, SqlError>) =>
    Effect.gen(function*() {
      let total = 0
      for (;;) {
        const count = (yield* remove(options.chunkSize))[0]?.count ?? 0
        total += count
        if (count < options.chunkSize) return total
      }
    })

  return {
    prune: ({ eventsBefore, idempotencyKeysBefore, minIntervalMillis, now }) =>
      Effect.gen(function*(): Effect.fn.Return<PruneResult, SqlError> {
        // The turn is claimed by one atomic upsert: the first prune ever inserts the row; later ones move
        // `ran_at` only when the interval has passed. Of processes racing for it, the row lock lets one
        // through; the others re-check `ran_at` after it commits and find it fresh.
        const claimed = yield* sql`
          INSERT INTO outdial_maintenance AS m (task, ran_at) VALUES ('retention', ${DateTime.toDateUtc(now)})
          ON CONFLICT (task) DO UPDATE SET ran_at = excluded.ran_at
          WHERE m.ran_at <= ${new Date(DateTime.toEpochMillis(now) - minIntervalMillis)}
          RETURNING 1`
        if (claimed.length === 0) return { ran: false, idempotencyKeys: 0, events: 0 }
        // Each chunk is its own short statement: a crash midway leaves the rest to the next turn.
        const keysBefore = DateTime.toDateUtc(idempotencyKeysBefore)
        const idempotencyKeys = yield* deleteInChunks((limit) =>
          sql<{ count: number }>`
            WITH gone AS (
              DELETE FROM outdial_idempotency_keys WHERE (scope, key) IN (
                SELECT scope, key FROM outdial_idempotency_keys WHERE created_at < ${keysBefore} LIMIT ${limit})
              RETURNING 1)
            SELECT count(*)::int4 AS count FROM gone`
        )
        const before = DateTime.toDateUtc(eventsBefore)
        const events = yield* deleteInChunks((limit) =>
          sql<{ count: number }>`
            WITH gone AS (
              DELETE FROM outdial_events WHERE id IN (
                SELECT id FROM outdial_events WHERE created_at < ${before} ORDER BY id LIMIT ${limit})
              RETURNING 1)
            SELECT count(*)::int4 AS count FROM gone`
        )
        return { ran: true, idempotencyKeys, events }
      }).pipe(Effect.mapError(storeError("prune")))
  }
}
