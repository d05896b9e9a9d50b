/**
 * The SQL fragments the statements are built from: column lists, the counter
 * upsert, the lease check and the leased contact, and the fenced outcome.
 *
 * Lock order. Every dialing write holds the batch's lease row FOR SHARE
 * while it still carries the writer's epoch, then locks its contact (FOR
 * UPDATE), then upserts one counter row (a shard picked by the contact's
 * position). Batch writes lock the batch row first and touch counters after
 * contacts too. With one order for all, concurrent writes of a batch never
 * deadlock; a takeover (an UPDATE of the lease row) waits for the writes in
 * progress, and the holder's own writes share the lease row side by side.
 */
import type { BatchStatus } from "@outdial/core/Batch"
import { BatchNotFound, InvalidTransition } from "@outdial/core/OutdialError"
import { type Lease, LeaseLost } from "@outdial/core/BatchStore"
import * as Contact from "@outdial/core/Contact"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { Fragment } from "effect/sql/Statement"
import { counterColumn, counterShards } from "../Migrations.ts"
import type { BatchRow, ContactRow } from "./rows.ts"

export const make = (sql: SqlClient.SqlClient) => {
  const contactColumns = sql.literal(
    "c.batch_id, c.position, c.row_number, c.phone, c.number_validated, c.name, c.external_id, c.custom_fields, c.status, " +
      "c.attempt_count, c.max_attempts, c.last_attempt_at, c.next_retry_at, c.completed_at, c.error_code, " +
      "c.failure_reason, c.call_duration, c.room_name, c.last_decision"
  )
  const batchColumns = sql.literal("b.settings, b.status, b.total_contacts")

  // Applies the status moves in the `moved` CTE (columns `old_status` and
  // `status`, either null for a contact that appears or goes) to the counters.
  const counterNames = sql.literal(Contact.statuses.map(counterColumn).join(", "))
  const counterUpdates = sql.literal(
    Contact.statuses.map((s) => `${counterColumn(s)} = k.${counterColumn(s)} + excluded.${counterColumn(s)}`).join(", ")
  )
  const counterSums = sql.literal(
    Contact.statuses.map((s) => `coalesce(sum(${counterColumn(s)}), 0)::int4 AS ${counterColumn(s)}`).join(", ")
  )
  const counterDeltas = sql.literal(
    Contact.statuses.map((s) =>
      `count(*) FILTER (WHERE status = '${s}') - count(*) FILTER (WHERE old_status = '${s}') AS ${counterColumn(s)}`
    ).join(", ")
  )
  const counted = (batchId: string, shard: number) =>
    sql`counted AS (
      INSERT INTO outdial_counters AS k (batch_id, shard, ${counterNames})
      SELECT ${batchId}, ${shard}, d.* FROM (SELECT ${counterDeltas} FROM moved) d
      WHERE EXISTS (SELECT 1 FROM moved)
      ON CONFLICT (batch_id, shard) DO UPDATE SET ${counterUpdates})`
  // `counted` for moves of many contacts: one counter row per shard touched, upserted
  // in shard order so that two such statements lock counter rows in one order too.
  const countedByShard = (batchId: string) =>
    sql`counted AS (
      INSERT INTO outdial_counters AS k (batch_id, shard, ${counterNames})
      SELECT ${batchId}, d.* FROM (
        SELECT position % ${sql.literal(String(counterShards))} AS shard, ${counterDeltas}
        FROM moved GROUP BY 1 ORDER BY 1) d
      ON CONFLICT (batch_id, shard) DO UPDATE SET ${counterUpdates})`
  const shardOf = (position: number) => position % counterShards
  // An attempt id ends with its contact's id and number (`Attempt.makeId`).
  const shardOfAttempt = (attemptId: string) => shardOf(Number(/_c(\d+)_\d+$/.exec(attemptId)?.[1] ?? 0))

  // The lease check every dialing write starts with.
  const leaseCte = (lease: Lease) =>
    sql`lease AS (
      SELECT 1 FROM outdial_leases
      WHERE batch_id = ${lease.batchId} AND owner_id = ${lease.ownerId} AND epoch = ${lease.epoch}
      FOR SHARE)`

  // The contact a dialing write moves, locked once the lease is held.
  const leasedContact = (lease: Lease, position: number) =>
    sql`old AS (
      SELECT c.* FROM outdial_contacts c
      WHERE c.batch_id = ${lease.batchId} AND c.position = ${position} AND EXISTS (SELECT 1 FROM lease)
      FOR UPDATE)`

  const batchForUpdate = (batchId: string) =>
    sql<BatchRow & { readonly next_position: number }>`
      SELECT ${batchColumns}, b.next_position FROM outdial_batches b WHERE b.id = ${batchId} FOR UPDATE`.pipe(
      Effect.flatMap((rows) =>
        rows.length === 0 ? Effect.fail(new BatchNotFound({ batchId })) : Effect.succeed(rows[0]!)
      )
    )

  const expectStatus = (status: BatchStatus, expected: ReadonlyArray<BatchStatus>, action: string) =>
    expected.includes(status)
      ? Effect.void
      : Effect.fail(new InvalidTransition({ entity: "batch", action, from: status }))

  /** The outcome of a fenced single-statement write: lost lease, missing contact, or the rows. */
  const fenced = <Row extends { readonly leased: number }>(lease: Lease, rows: ReadonlyArray<Row>) =>
    rows[0] === undefined || Number(rows[0].leased) === 0
      ? Effect.fail(new LeaseLost({ batchId: lease.batchId, epoch: lease.epoch }))
      : Effect.succeed(rows[0])

  /**
   * Applies `set` to every contact of the batch in one of `from`, counting
   * the moves. One plain UPDATE per status (each knows the status it moves
   * from) rather than a join with the rows it read: a join's plan, prepared
   * while a batch was small, can turn quadratic on a big one.
   */
  const moveAll = (batchId: string, from: ReadonlyArray<Contact.ContactStatus>, set: Fragment) => {
    const statuses = [...new Set(from)].filter((status) => Contact.statuses.includes(status))
    if (statuses.length === 0) return Effect.succeed(0)
    const updates = statuses.map((status, i) =>
      sql`${sql.literal(`u${i}`)} AS (
        UPDATE outdial_contacts SET ${set} WHERE batch_id = ${batchId} AND status = ${sql.literal(`'${status}'`)}
        RETURNING status, ${sql.literal(`'${status}'`)}::text AS old_status)`
    )
    const union = sql.literal(statuses.map((_, i) => `SELECT status, old_status FROM u${i}`).join(" UNION ALL "))
    return sql<{ count: number }>`
      WITH ${sql.csv(updates)},
      moved AS (${union}),
      ${counted(batchId, 0)}
      SELECT count(*)::int4 AS count FROM moved`.pipe(Effect.map((rows) => rows[0]!.count))
  }

  const contactStatement = (batchId: string, position: number) =>
    sql<ContactRow>`SELECT ${contactColumns} FROM outdial_contacts c WHERE c.batch_id = ${batchId} AND c.position = ${position}`

  return {
  contactColumns,
  batchColumns,
  counterSums,
  counted,
  countedByShard,
  shardOf,
  shardOfAttempt,
  leaseCte,
  leasedContact,
  batchForUpdate,
  expectStatus,
  fenced,
  moveAll,
  contactStatement
  }
}

export type Fragments = ReturnType<typeof make>
