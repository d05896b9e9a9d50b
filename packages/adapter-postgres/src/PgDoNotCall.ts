/**
 * `DoNotCall` on PostgreSQL: one table keyed by organization and number, so
 * a dispatch step's lookup (`matching`) is one statement over the primary
 * key however long the list, and pages are keyset reads in number order.
 *
 * @since 0.1.0
 */
import { DoNotCall, type Entry } from "@outdial/core/DoNotCall"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as SqlClient from "effect/sql/SqlClient"
import { storeError, textArray } from "./internal/rows.ts"

interface EntryRow {
  readonly number: string
  readonly source: string
  readonly expires_at: Date | null
  readonly created_at: Date
}

const toEntry = (row: EntryRow): Entry => ({
  number: row.number,
  source: row.source,
  expiresAt: row.expires_at === null ? null : DateTime.makeUnsafe(row.expires_at),
  createdAt: DateTime.makeUnsafe(row.created_at)
})

/** Rows per `INSERT … unnest(…)` when adding many numbers. */
const chunkSize = 5_000

/**
 * The list on the `SqlClient` in context (migrated by `Migrations.run`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const iso = (time: DateTime.Utc | null) => time === null ? null : DateTime.toDateUtc(time).toISOString()
  return DoNotCall.of({
    add: (organizationId, entries) =>
      Effect.gen(function*() {
        // The newest entry of a number repeated in one call wins, as if added one after another.
        const unique = [...new Map(entries.map((entry) => [entry.number, entry])).values()]
        for (let from = 0; from < unique.length; from += chunkSize) {
          const chunk = unique.slice(from, from + chunkSize)
          yield* sql`
            INSERT INTO outdial_do_not_call (organization_id, number, source, expires_at, created_at)
            SELECT ${organizationId}, t.number, t.source, t.expires_at::timestamptz, t.created_at::timestamptz
            FROM unnest(${textArray(chunk.map((e) => e.number))}, ${textArray(chunk.map((e) => e.source))},
                        ${textArray(chunk.map((e) => iso(e.expiresAt)))}, ${textArray(chunk.map((e) => iso(e.createdAt)))})
                 AS t(number, source, expires_at, created_at)
            ON CONFLICT (organization_id, number) DO UPDATE
              SET source = excluded.source, expires_at = excluded.expires_at, created_at = excluded.created_at`
        }
        return entries.length
      }).pipe(Effect.mapError(storeError("adding to the do-not-call list"))),
    remove: (organizationId, number) =>
      sql`DELETE FROM outdial_do_not_call WHERE organization_id = ${organizationId} AND number = ${number} RETURNING 1`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(storeError("removing from the do-not-call list"))
      ),
    find: (organizationId, number, now) =>
      sql<EntryRow>`
        SELECT number, source, expires_at, created_at FROM outdial_do_not_call
        WHERE organization_id = ${organizationId} AND number = ${number}
          AND (expires_at IS NULL OR expires_at > ${DateTime.toDateUtc(now)})`.pipe(
        Effect.map((rows) => rows[0] === undefined ? undefined : toEntry(rows[0])),
        Effect.mapError(storeError("reading the do-not-call list"))
      ),
    matching: (organizationId, numbers, now) =>
      numbers.length === 0 ? Effect.succeed(new Set()) : sql<{ readonly number: string }>`
        SELECT number FROM outdial_do_not_call
        WHERE organization_id = ${organizationId} AND number = ANY(${textArray(numbers)})
          AND (expires_at IS NULL OR expires_at > ${DateTime.toDateUtc(now)})`.pipe(
        Effect.map((rows) => new Set(rows.map((row) => row.number))),
        Effect.mapError(storeError("reading the do-not-call list"))
      ),
    list: (organizationId, { after, limit, now }) =>
      sql<EntryRow>`
        SELECT number, source, expires_at, created_at FROM outdial_do_not_call
        WHERE organization_id = ${organizationId} AND number > ${after ?? ""}
          AND (expires_at IS NULL OR expires_at > ${DateTime.toDateUtc(now)})
        ORDER BY number LIMIT ${limit + 1}`.pipe(
        Effect.map((rows) => {
          const items = rows.slice(0, limit).map(toEntry)
          return { items, next: rows.length > limit ? items[items.length - 1]!.number : null }
        }),
        Effect.mapError(storeError("listing the do-not-call list"))
      )
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<DoNotCall, never, SqlClient.SqlClient> = Layer.effect(DoNotCall)(make)
