/**
 * The event outbox: every lifecycle change (create, status change, delete)
 * is appended in the transaction that made it, so other processes read the
 * changes in commit order; a NOTIFY wakes their runners at once.
 */
import type { Batch } from "@outdial/core/Batch"
import type { StoreError } from "@outdial/core/OutdialError"
import type { PgClient } from "@effect/sql-pg"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as SqlClient from "effect/sql/SqlClient"
import * as Stream from "effect/Stream"
import { decodeBatch, encodeBatch, jsonText, storeError } from "./rows.ts"

/**
 * A lifecycle change as the outbox keeps it.
 *
 * @since 0.1.0
 * @category models
 */
export interface OutboxEvent {
  readonly id: number
  /** The store (process) that made the change. */
  readonly origin: string
  readonly type: "created" | "status_changed" | "deleted"
  readonly batch: Batch
  readonly at: DateTime.Utc
}

/**
 * The event outbox of this store: lifecycle changes in commit order, each
 * written in the transaction that made it.
 *
 * @since 0.1.0
 * @category services
 */
export class Outbox extends Context.Service<Outbox, {
  /** Names the changes this store writes. */
  readonly origin: string
  /** The id of the newest event; 0 when there is none. */
  readonly latestId: Effect.Effect<number, StoreError>
  /** Events after `afterId`, oldest first. */
  readonly read: (afterId: number, limit: number) => Effect.Effect<ReadonlyArray<OutboxEvent>, StoreError>
}>()("@outdial/adapter-postgres/Outbox") {}

/** The NOTIFY channel of lifecycle changes; the payload is the batch id. */
const channel = "outdial_batch_changes"

/** Times written for retention come from the engine's clock, as the prune's do: never the database's now(). */
export const clockDate: Effect.Effect<Date> = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

export const make = (
  sql: SqlClient.SqlClient,
  pg: Option.Option<PgClient.PgClient>,
  options: { readonly listen?: boolean | undefined }
) => {
  const origin = globalThis.crypto.randomUUID()

  const notify = (batchId: string) =>
    pg._tag === "Some" ? Effect.ignore(pg.value.notify(channel, batchId)) : Effect.void

  const appendEvent = (batch: Batch, type: OutboxEvent["type"]) =>
    Effect.flatMap(clockDate, (at) =>
      sql`INSERT INTO outdial_events (batch_id, organization_id, type, status, origin, payload, created_at)
          VALUES (${batch.id}, ${batch.organizationId}, ${type}, ${batch.status}, ${origin}, ${
        jsonText(encodeBatch(batch))
      }::jsonb, ${at})`)

  const changes: Stream.Stream<string, StoreError> | undefined = pg._tag === "Some" && options.listen !== false
    ? Stream.unwrap(Effect.map(pg.value.listen(channel), Stream.fromQueue)).pipe(
      Stream.map((notification) => notification.payload),
      Stream.mapError(storeError("listen"))
    )
    : undefined

  const outbox = Outbox.of({
    origin,
    latestId: sql<{ id: string | null }>`SELECT max(id)::text AS id FROM outdial_events`.pipe(
      Effect.map((rows) => Number(rows[0]?.id ?? 0)),
      Effect.mapError(storeError("outbox"))
    ),
    read: (afterId, limit) =>
      sql<{ id: string; origin: string; type: OutboxEvent["type"]; payload: unknown; created_at: Date }>`
        SELECT id::text AS id, origin, type, payload, created_at FROM outdial_events
        WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`.pipe(
        Effect.map((rows) =>
          rows.map((row) => ({
            id: Number(row.id),
            origin: row.origin,
            type: row.type,
            batch: decodeBatch(row.payload),
            at: DateTime.makeUnsafe(row.created_at)
          }))
        ),
        Effect.mapError(storeError("outbox"))
      )
  })

  return { outbox, appendEvent, notify, changes }
}

export type Events = ReturnType<typeof make>
