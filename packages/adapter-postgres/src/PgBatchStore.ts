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
 * @since 0.1.0
 */
import * as Attempt from "@outdial/core/Attempt"
import * as BatchModel from "@outdial/core/Batch"
import type { Batch, BatchStatus } from "@outdial/core/Batch"
import {
  BatchStore,
  type Lease,
  LeaseLost,
  type NewContact,
  type PruneResult,
  type StatusBreakdown
} from "@outdial/core/BatchStore"
import type { CallOutcome } from "@outdial/core/CallOutcome"
import * as Contact from "@outdial/core/Contact"
import {
  BatchNotFound,
  ContactNotFound,
  IdempotencyKeyReused,
  IdempotencyRequestInProgress,
  InvalidTransition,
  StoreError
} from "@outdial/core/OutdialError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import type { SqlError } from "effect/sql/SqlError"
import * as SqlClient from "effect/sql/SqlClient"
import type { Fragment } from "effect/sql/Statement"
import { PgClient, PgTypes } from "@effect/sql-pg"
import * as Result from "effect/Result"
import { counterColumn, counterShards } from "./Migrations.ts"

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

const waitingStatuses: ReadonlyArray<Contact.ContactStatus> = ["pending", "queued"]

/** The NOTIFY channel of lifecycle changes; the payload is the batch id. */
const channel = "outdial_batch_changes"

const BatchJson = Schema.toCodecJson(BatchModel.Batch)
const encodeBatch = Schema.encodeSync(BatchJson)
const decodeBatch = Schema.decodeUnknownSync(BatchJson)
const DecisionJson = Schema.toCodecJson(Contact.Decision)
const encodeDecision = Schema.encodeSync(DecisionJson)
const decodeDecision = Schema.decodeUnknownSync(DecisionJson)

const contactIdOf = (position: number) => `c${position}`
const positionOf = (contactId: string): number | undefined => {
  const match = /^c(\d{1,9})$/.exec(contactId)
  return match === null ? undefined : Number(match[1])
}

// Typed array parameters: the driver cannot infer an element type from nulls.
const arrayOf = (oid: number) => (values: ReadonlyArray<unknown>): PgTypes.Parameter =>
  Result.getOrThrow(PgTypes.array(values, oid))
const int4Array = arrayOf(PgTypes.OID.int4)
const textArray = arrayOf(PgTypes.OID.text)

const utc = (value: Date | null): DateTime.Utc | null => value === null ? null : DateTime.makeUnsafe(value)
const dateOf = (value: DateTime.Utc | null | undefined): Date | null =>
  value === null || value === undefined ? null : DateTime.toDateUtc(value)
const jsonText = (value: unknown): string | null => value === undefined ? null : JSON.stringify(value)

interface ContactRow {
  readonly batch_id: string
  readonly position: number
  readonly row_number: number
  readonly phone: string
  readonly name: string | null
  readonly external_id: string | null
  readonly custom_fields: Record<string, string>
  readonly status: Contact.ContactStatus
  readonly attempt_count: number
  readonly max_attempts: number
  readonly last_attempt_at: Date | null
  readonly next_retry_at: Date | null
  readonly completed_at: Date | null
  readonly error_code: number | null
  readonly failure_reason: string | null
  readonly call_duration: number | null
  readonly room_name: string | null
  readonly last_decision: unknown
}

const toContact = (row: ContactRow): Contact.Contact => ({
  id: contactIdOf(row.position),
  batchId: row.batch_id,
  row: row.row_number,
  phone: row.phone,
  name: row.name,
  externalId: row.external_id,
  customFields: row.custom_fields,
  status: row.status,
  attemptCount: row.attempt_count,
  maxAttempts: row.max_attempts,
  lastAttemptAt: utc(row.last_attempt_at),
  nextRetryAt: utc(row.next_retry_at),
  completedAt: utc(row.completed_at),
  errorCode: row.error_code,
  failureReason: row.failure_reason,
  callDuration: row.call_duration,
  roomName: row.room_name,
  lastDecision: row.last_decision === null ? null : decodeDecision(row.last_decision)
})

interface AttemptRow {
  readonly id: string
  readonly batch_id: string
  readonly contact_position: number
  readonly attempt_number: number
  readonly state: Attempt.AttemptState
  readonly caller_number_id: string
  readonly started_at: Date
  readonly ended_at: Date | null
  readonly outcome: CallOutcome | null
  readonly sip_code: number | null
  readonly duration: number | null
  readonly room_name: string | null
  readonly failure_reason: string | null
}

const toAttempt = (row: AttemptRow): Attempt.Attempt => ({
  id: row.id,
  batchId: row.batch_id,
  contactId: contactIdOf(row.contact_position),
  attemptNumber: row.attempt_number,
  state: row.state,
  callerNumberId: row.caller_number_id,
  startedAt: DateTime.makeUnsafe(row.started_at),
  endedAt: utc(row.ended_at),
  outcome: row.outcome,
  sipCode: row.sip_code,
  duration: row.duration,
  roomName: row.room_name,
  failureReason: row.failure_reason
})

interface BatchRow {
  readonly settings: unknown
  readonly status: BatchStatus
  readonly total_contacts: number
}

const toBatch = (row: BatchRow): Batch => ({
  ...decodeBatch(row.settings),
  status: row.status,
  totalContacts: row.total_contacts
})

const storeError = (operation: string) => (cause: SqlError) =>
  new StoreError({ message: `PostgreSQL store: ${operation} failed: ${cause.message}`, cause })

/** The engine only names attempts and contacts the store gave it; any other is a bug, not a failure. */
const defect = (message: string) => Effect.die(new Error(message))

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
    const chunkSize = options.ingestChunkSize ?? 5_000
    const pruneChunkSize = options.pruneChunkSize ?? 1_000
    // The pool's size as the client was configured (the pool's own default, 10, when unset).
    const poolSize = pg._tag === "Some" ? (pg.value.config as PgClient.PgPoolConfig).maxConnections ?? 10 : 10
    const ingests = yield* Semaphore.make(Math.max(1, options.maxConcurrentIngests ?? Math.floor(poolSize / 8)))
    // Outside the transaction: an ingest waiting for its turn holds no connection.
    const ingesting = ingests.withPermits(1)
    const origin = globalThis.crypto.randomUUID()

    const contactColumns = sql.literal(
      "c.batch_id, c.position, c.row_number, c.phone, c.name, c.external_id, c.custom_fields, c.status, " +
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

    const notify = (batchId: string) =>
      pg._tag === "Some" ? Effect.ignore(pg.value.notify(channel, batchId)) : Effect.void

    // Times written for retention come from the engine's clock, as the prune's do: never the database's now().
    const clockDate = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

    const appendEvent = (batch: Batch, type: OutboxEvent["type"]) =>
      Effect.flatMap(clockDate, (at) =>
        sql`INSERT INTO outdial_events (batch_id, organization_id, type, status, origin, payload, created_at)
            VALUES (${batch.id}, ${batch.organizationId}, ${type}, ${batch.status}, ${origin}, ${
          jsonText(encodeBatch(batch))
        }::jsonb, ${at})`)

    /** Runs `remove` (a DELETE of at most `limit` rows, answering how many) until a chunk comes back short; the total. */
    const deleteInChunks = (remove: (limit: number) => Effect.Effect<ReadonlyArray<{ readonly count: number }>, SqlError>) =>
      Effect.gen(function*() {
        let total = 0
        for (;;) {
          const count = (yield* remove(pruneChunkSize))[0]?.count ?? 0
          total += count
          if (count < pruneChunkSize) return total
        }
      })

    /** Stores contacts after position `start`; returns how many were stored (repeated external ids are not). */
    const ingest = (batchId: string, start: number, contacts: ReadonlyArray<NewContact>, maxAttempts: number) =>
      Effect.gen(function*() {
        let added = 0
        for (let from = 0; from < contacts.length; from += chunkSize) {
          const chunk = contacts.slice(from, from + chunkSize)
          const rows = yield* sql<{ readonly added: number }>`
            WITH inserted AS (
              INSERT INTO outdial_contacts
                (batch_id, position, row_number, phone, name, external_id, custom_fields, status, max_attempts)
              SELECT ${batchId}, ${start + from} + t.ord, t.row_number, t.phone, t.name, t.external_id,
                     t.custom_fields::jsonb, 'pending', ${maxAttempts}
              FROM unnest(${int4Array(chunk.map((c) => c.row))}, ${textArray(chunk.map((c) => c.phone))},
                          ${textArray(chunk.map((c) => c.name))}, ${textArray(chunk.map((c) => c.externalId))},
                          ${textArray(chunk.map((c) => JSON.stringify(c.customFields)))})
                   WITH ORDINALITY AS t(row_number, phone, name, external_id, custom_fields, ord)
              ON CONFLICT (batch_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
              RETURNING 1)
            SELECT count(*)::int4 AS added FROM inserted`
          added += rows[0]!.added
        }
        return added
      })

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

    const store = BatchStore.of({
      processLocal: options.processLocal === true,
      changes,

      reserveIdempotencyKey: (scope, key, fingerprint) =>
        Effect.gen(function*() {
          const createdAt = yield* clockDate
          const inserted = yield* sql`
            INSERT INTO outdial_idempotency_keys (scope, key, fingerprint, created_at)
            VALUES (${scope}, ${key}, ${fingerprint}, ${createdAt})
            ON CONFLICT DO NOTHING RETURNING 1`
          if (inserted.length > 0) return undefined
          const rows = yield* sql<{ fingerprint: string; completed: boolean; response: unknown }>`
            SELECT fingerprint, completed, response FROM outdial_idempotency_keys WHERE scope = ${scope} AND key = ${key}`
          const record = rows[0]
          // Released between the two statements: the key is free again, but another request raced for it.
          if (record === undefined) return yield* new IdempotencyRequestInProgress({ key })
          if (record.fingerprint !== fingerprint) return yield* new IdempotencyKeyReused({ key })
          if (!record.completed) return yield* new IdempotencyRequestInProgress({ key })
          return { response: record.response }
        }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError("reserveIdempotencyKey")(e)))),
      completeIdempotencyKey: (scope, key, response) =>
        sql`UPDATE outdial_idempotency_keys SET completed = true, response = ${jsonText(response)}::jsonb
            WHERE scope = ${scope} AND key = ${key}`.pipe(Effect.asVoid, Effect.mapError(storeError("completeIdempotencyKey"))),
      releaseIdempotencyKey: (scope, key) =>
        sql`DELETE FROM outdial_idempotency_keys WHERE scope = ${scope} AND key = ${key}`.pipe(
          Effect.asVoid,
          Effect.mapError(storeError("releaseIdempotencyKey"))
        ),

      createBatch: (batch, contacts) =>
        Effect.gen(function*() {
          yield* sql`
            INSERT INTO outdial_batches (id, organization_id, agent_id, status, created_at, settings)
            VALUES (${batch.id}, ${batch.organizationId}, ${batch.agentId}, ${batch.status},
                    ${DateTime.toDateUtc(batch.createdAt)}, ${jsonText(encodeBatch(batch))}::jsonb)`
          yield* sql`INSERT INTO outdial_leases (batch_id) VALUES (${batch.id})`
          const added = yield* ingest(batch.id, 0, contacts, batch.retryPolicy.maxAttempts)
          yield* sql`UPDATE outdial_batches SET total_contacts = ${added}, next_position = ${contacts.length}
                     WHERE id = ${batch.id}`
          yield* sql.unsafe(
            `INSERT INTO outdial_counters (batch_id, shard, ${counterColumn("pending")}) VALUES ($1, 0, $2)`,
            [batch.id, added]
          )
          yield* appendEvent({ ...batch, totalContacts: added }, "created")
        }).pipe(
          sql.withTransaction,
          ingesting,
          Effect.tap(() => notify(batch.id)),
          Effect.mapError(storeError("createBatch"))
        ),
      getBatch: (organizationId, batchId) =>
        sql<BatchRow>`SELECT ${batchColumns} FROM outdial_batches b
                      WHERE b.id = ${batchId} AND b.organization_id = ${organizationId}`.pipe(
          Effect.mapError(storeError("getBatch")),
          Effect.flatMap((rows) =>
            rows.length === 0 ? Effect.fail(new BatchNotFound({ batchId })) : Effect.succeed(toBatch(rows[0]!))
          )
        ),
      findBatch: (batchId) =>
        sql<BatchRow>`SELECT ${batchColumns} FROM outdial_batches b WHERE b.id = ${batchId}`.pipe(
          Effect.map((rows) => rows.length === 0 ? undefined : toBatch(rows[0]!)),
          Effect.mapError(storeError("findBatch"))
        ),
      listBatches: (organizationId, { agentId, limit, offset, status }) =>
        Effect.gen(function*() {
          const filter = sql.and([
            sql`b.organization_id = ${organizationId}`,
            ...(agentId === undefined ? [] : [sql`b.agent_id = ${agentId}`]),
            ...(status === undefined ? [] : [sql`b.status = ${status}`])
          ])
          const [rows, counts] = yield* Effect.all([
            sql<BatchRow>`SELECT ${batchColumns} FROM outdial_batches b WHERE ${filter}
                          ORDER BY b.created_at DESC, b.id COLLATE "C" DESC LIMIT ${limit} OFFSET ${offset}`,
            sql<{ total: number }>`SELECT count(*)::int4 AS total FROM outdial_batches b WHERE ${filter}`
          ], { concurrency: 2 })
          return { items: rows.map(toBatch), total: counts[0]!.total }
        }).pipe(Effect.mapError(storeError("listBatches"))),
      updateBatch: (batchId, expected, action, patch) =>
        Effect.gen(function*() {
          const row = yield* batchForUpdate(batchId)
          yield* expectStatus(row.status, expected, action)
          const { totalContacts: _, ...changes } = patch
          const batch: Batch = { ...toBatch(row), ...changes }
          yield* sql`UPDATE outdial_batches SET status = ${batch.status}, agent_id = ${batch.agentId},
                     settings = ${jsonText(encodeBatch(batch))}::jsonb WHERE id = ${batchId}`
          const moved = batch.status !== row.status
          if (moved) yield* appendEvent(batch, "status_changed")
          return { batch, moved }
        }).pipe(
          sql.withTransaction,
          Effect.tap(({ moved }) => moved ? notify(batchId) : Effect.void),
          Effect.map(({ batch }) => batch),
          Effect.catchTag("SqlError", (e) => Effect.fail(storeError("updateBatch")(e)))
        ),
      deleteBatch: (batchId, expected) =>
        Effect.gen(function*() {
          const row = yield* batchForUpdate(batchId)
          yield* expectStatus(row.status, expected, "delete")
          yield* appendEvent(toBatch(row), "deleted")
          // No foreign keys: they would take a lock on the batch row for every attempt written.
          yield* sql`DELETE FROM outdial_attempts WHERE batch_id = ${batchId}`
          yield* sql`DELETE FROM outdial_contacts WHERE batch_id = ${batchId}`
          yield* sql`DELETE FROM outdial_counters WHERE batch_id = ${batchId}`
          yield* sql`DELETE FROM outdial_leases WHERE batch_id = ${batchId}`
          yield* sql`DELETE FROM outdial_batches WHERE id = ${batchId}`
        }).pipe(
          sql.withTransaction,
          Effect.tap(() => notify(batchId)),
          Effect.catchTag("SqlError", (e) => Effect.fail(storeError("deleteBatch")(e)))
        ),

      addContacts: (batchId, contacts, updatedAt) =>
        Effect.gen(function*() {
          const row = yield* batchForUpdate(batchId)
          yield* expectStatus(row.status, ["draft"], "add contacts to")
          const batch = toBatch(row)
          const added = yield* ingest(batchId, row.next_position, contacts, batch.retryPolicy.maxAttempts)
          yield* sql`UPDATE outdial_batches SET total_contacts = total_contacts + ${added},
                       next_position = next_position + ${contacts.length},
                       settings = ${jsonText(encodeBatch({ ...batch, updatedAt }))}::jsonb
                     WHERE id = ${batchId}`
          yield* sql.unsafe(
            `UPDATE outdial_counters SET ${counterColumn("pending")} = ${counterColumn("pending")} + $1
             WHERE batch_id = $2 AND shard = 0`,
            [added, batchId]
          )
          return { added, skipped: contacts.length - added }
        }).pipe(sql.withTransaction, ingesting, Effect.catchTag("SqlError", (e) => Effect.fail(storeError("addContacts")(e)))),
      removeContact: (batchId, contactId, updatedAt) =>
        Effect.gen(function*() {
          const row = yield* batchForUpdate(batchId)
          yield* expectStatus(row.status, ["draft"], "remove contacts from")
          const position = positionOf(contactId)
          const removed = position === undefined ? [] : yield* sql<{ count: number }>`
            WITH moved AS (
              DELETE FROM outdial_contacts WHERE batch_id = ${batchId} AND position = ${position}
              RETURNING status AS old_status, NULL::text AS status),
            ${counted(batchId, 0)}
            SELECT count(*)::int4 AS count FROM moved`
          if (removed[0]?.count !== 1) return yield* new ContactNotFound({ batchId, contactId })
          const batch = toBatch(row)
          yield* sql`UPDATE outdial_batches SET total_contacts = total_contacts - 1,
                       settings = ${jsonText(encodeBatch({ ...batch, updatedAt }))}::jsonb
                     WHERE id = ${batchId}`
        }).pipe(sql.withTransaction, Effect.catchTag("SqlError", (e) => Effect.fail(storeError("removeContact")(e)))),
      statusBreakdown: (batchId) =>
        sql<Record<string, number>>`SELECT ${counterSums} FROM outdial_counters WHERE batch_id = ${batchId}`.pipe(
          Effect.map((rows) =>
            Object.fromEntries(Contact.statuses.map((s) => [s, rows[0]?.[counterColumn(s)] ?? 0])) as StatusBreakdown
          ),
          Effect.mapError(storeError("statusBreakdown"))
        ),
      listContacts: (batchId, { page, pageSize, status }) =>
        Effect.gen(function*() {
          const total = status === undefined
            ? sql<{ total: number }>`SELECT total_contacts AS total FROM outdial_batches WHERE id = ${batchId}`
            : sql<{ total: number }>`SELECT coalesce(sum(${sql(counterColumn(status))}), 0)::int4 AS total
                                     FROM outdial_counters WHERE batch_id = ${batchId}`
          const items = sql<ContactRow>`
            SELECT ${contactColumns} FROM outdial_contacts c
            WHERE c.batch_id = ${batchId} ${status === undefined ? sql.literal("") : sql`AND c.status = ${status}`}
            ORDER BY c.position LIMIT ${pageSize} OFFSET ${(page - 1) * pageSize}`
          const [rows, totals] = yield* Effect.all([items, total], { concurrency: 2 })
          return { items: rows.map(toContact), total: totals[0]?.total ?? 0 }
        }).pipe(Effect.mapError(storeError("listContacts"))),
      getContact: (batchId, contactId) => {
        const position = positionOf(contactId)
        return position === undefined
          ? Effect.succeed(undefined)
          : contactStatement(batchId, position).pipe(
            Effect.map((rows) => rows.length === 0 ? undefined : toContact(rows[0]!)),
            Effect.mapError(storeError("getContact"))
          )
      },

      activeBatches: () =>
        sql<BatchRow>`SELECT ${batchColumns} FROM outdial_batches b
                      WHERE b.status IN ('pending', 'scheduled', 'running')`.pipe(
          Effect.map((rows) => rows.map(toBatch)),
          Effect.mapError(storeError("activeBatches"))
        ),
      acquireLease: (batchId, ownerId, now, ttlMillis) => {
        const expiresAt = DateTime.addDuration(now, ttlMillis)
        return sql<{ epoch: number }>`
          UPDATE outdial_leases SET owner_id = ${ownerId}, epoch = epoch + 1,
                 expires_at = ${DateTime.toDateUtc(expiresAt)}
          WHERE batch_id = ${batchId}
            AND (owner_id IS NULL OR owner_id = ${ownerId} OR expires_at <= ${DateTime.toDateUtc(now)})
          RETURNING epoch`.pipe(
          Effect.map((rows) =>
            rows.length === 0 ? undefined : { batchId, ownerId, epoch: rows[0]!.epoch, expiresAt }
          ),
          Effect.mapError(storeError("acquireLease"))
        )
      },
      renewLease: (lease, now, ttlMillis) => {
        const expiresAt = DateTime.addDuration(now, ttlMillis)
        return sql`
          UPDATE outdial_leases SET expires_at = ${DateTime.toDateUtc(expiresAt)}
          WHERE batch_id = ${lease.batchId} AND owner_id = ${lease.ownerId} AND epoch = ${lease.epoch}
          RETURNING 1`.pipe(
          Effect.map((rows) => rows.length === 0 ? undefined : { ...lease, expiresAt }),
          Effect.mapError(storeError("renewLease"))
        )
      },
      releaseLease: (lease) =>
        sql`UPDATE outdial_leases SET owner_id = NULL, expires_at = NULL
            WHERE batch_id = ${lease.batchId} AND owner_id = ${lease.ownerId} AND epoch = ${lease.epoch}`.pipe(
          Effect.asVoid,
          Effect.mapError(storeError("releaseLease"))
        ),

      dialable: (batchId, now, limit, exclude) => {
        if (limit <= 0) return Effect.succeed([])
        const excluded = [...exclude].map(positionOf).filter((p): p is number => p !== undefined)
        const notExcluded = excluded.length === 0
          ? sql.literal("")
          : sql`AND NOT (c.position = ANY(${int4Array(excluded)}))`
        return sql<ContactRow>`
          (SELECT ${contactColumns} FROM outdial_contacts c
           WHERE c.batch_id = ${batchId} AND c.status IN ('pending', 'queued')
             AND c.next_retry_at <= ${DateTime.toDateUtc(now)} ${notExcluded}
           ORDER BY c.next_retry_at, c.position LIMIT ${limit})
          UNION ALL
          (SELECT ${contactColumns} FROM outdial_contacts c
           WHERE c.batch_id = ${batchId} AND c.status IN ('pending', 'queued')
             AND c.next_retry_at IS NULL ${notExcluded}
           ORDER BY c.next_retry_at, c.position LIMIT ${limit})`.pipe(
          Effect.map((rows) => rows.slice(0, limit).map(toContact)),
          Effect.mapError(storeError("dialable"))
        )
      },
      nextDueAt: (batchId) =>
        sql<{ next_retry_at: Date }>`
          SELECT c.next_retry_at FROM outdial_contacts c
          WHERE c.batch_id = ${batchId} AND c.status IN ('pending', 'queued') AND c.next_retry_at IS NOT NULL
          ORDER BY c.next_retry_at LIMIT 1`.pipe(
          Effect.map((rows) => rows.length === 0 ? undefined : DateTime.makeUnsafe(rows[0]!.next_retry_at)),
          Effect.mapError(storeError("nextDueAt"))
        ),

      beginAttempt: (lease, attempt) =>
        Effect.gen(function*() {
          const position = positionOf(attempt.contactId)
          if (position === undefined) return yield* defect(`No contact ${attempt.contactId}`)
          const id = Attempt.makeId(lease.batchId, attempt.contactId, attempt.attemptNumber)
          const startedAt = DateTime.toDateUtc(attempt.startedAt)
          const decision = attempt.decision === null ? null : jsonText(encodeDecision(attempt.decision))
          const rows = yield* sql<ContactRow & { leased: number; prior_status: string | null; prior_count: number | null }>`
            WITH ${leaseCte(lease)},
            ${leasedContact(lease, position)},
            moved AS (
              UPDATE outdial_contacts c SET status = 'dialing', attempt_count = ${attempt.attemptNumber},
                     last_attempt_at = ${startedAt}, next_retry_at = NULL,
                     last_decision = coalesce(${decision}::jsonb, old.last_decision)
              FROM old
              WHERE c.batch_id = old.batch_id AND c.position = old.position
                AND old.status IN ('pending', 'queued') AND old.attempt_count = ${attempt.attemptNumber - 1}
              RETURNING c.*, old.status AS old_status),
            recorded AS (
              INSERT INTO outdial_attempts (id, batch_id, contact_position, attempt_number, state, owner_epoch,
                caller_number_id, local_date, started_at, previous_status, previous_next_retry_at,
                previous_last_attempt_at, previous_last_decision)
              SELECT ${id}, old.batch_id, old.position, ${attempt.attemptNumber}, 'dialing', ${lease.epoch},
                     ${attempt.callerNumberId}, ${attempt.localDate}, ${startedAt}, old.status, old.next_retry_at,
                     old.last_attempt_at, old.last_decision
              FROM old WHERE EXISTS (SELECT 1 FROM moved)),
            ${counted(lease.batchId, shardOf(position))}
            SELECT (SELECT count(*)::int4 FROM lease) AS leased, old.status AS prior_status,
                   old.attempt_count AS prior_count, ${contactColumns}
            FROM (SELECT 1) one LEFT JOIN old ON true LEFT JOIN moved c ON true`
          const row = yield* fenced(lease, rows)
          if (row.prior_status === null) return yield* defect(`No contact ${attempt.contactId}`)
          if (row.position === null) {
            if (row.prior_status !== "pending" && row.prior_status !== "queued") {
              return yield* new InvalidTransition({ entity: "contact", action: "dial", from: row.prior_status })
            }
            // Another number would reuse an attempt id: the provider would take it for a call already placed.
            return yield* defect(
              `Attempt ${attempt.attemptNumber} of contact ${attempt.contactId} follows ${row.prior_count} attempts`
            )
          }
          const contact = toContact(row)
          return {
            contact,
            attempt: Attempt.begun({
              id,
              batchId: lease.batchId,
              contactId: contact.id,
              attemptNumber: attempt.attemptNumber,
              callerNumberId: attempt.callerNumberId,
              startedAt: attempt.startedAt
            })
          }
        }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError("beginAttempt")(e)))),
      finishAttempt: (lease, end) =>
        Effect.gen(function*() {
          const action = end.status === "queued" ? "requeue" : "finish"
          if (Contact.transition("dialing", action, end.status)._tag === "Failure") {
            return yield* defect(`An attempt cannot end with status ${end.status}`)
          }
          const endedAt = DateTime.toDateUtc(end.endedAt)
          const { result } = end
          const decision = end.decision === null ? null : jsonText(encodeDecision(end.decision))
          const rows = yield* sql<
            ContactRow & AttemptRow & { leased: number; known: number; prior_state: string | null; a_position: number }
          >`
            WITH ${leaseCte(lease)},
            a AS (
              SELECT * FROM outdial_attempts
              WHERE id = ${end.attemptId} AND batch_id = ${lease.batchId} AND EXISTS (SELECT 1 FROM lease)
              FOR UPDATE),
            fin AS (
              UPDATE outdial_attempts t SET state = 'finished', ended_at = ${endedAt}, outcome = ${result.outcome},
                     sip_code = ${result.sipCode}, duration = ${result.duration}, room_name = ${result.roomName},
                     failure_reason = ${result.failureReason}
              FROM a WHERE t.id = a.id AND a.state = 'dialing'
              RETURNING t.*),
            old AS (
              SELECT c.* FROM outdial_contacts c, fin
              WHERE c.batch_id = fin.batch_id AND c.position = fin.contact_position
              FOR UPDATE OF c),
            moved AS (
              UPDATE outdial_contacts c SET
                status = CASE WHEN old.status = 'dialing' THEN ${end.status} ELSE old.status END,
                next_retry_at = CASE WHEN old.status = 'dialing' AND ${end.status} = 'queued'
                                     THEN ${dateOf(end.nextRetryAt)}::timestamptz END,
                completed_at = CASE WHEN old.status <> 'dialing' OR ${Contact.isFinal(end.status)}
                                    THEN coalesce(old.completed_at, ${endedAt}) END,
                error_code = ${result.sipCode}, failure_reason = ${result.failureReason},
                call_duration = ${result.duration}, room_name = ${result.roomName},
                last_decision = coalesce(${decision}::jsonb, old.last_decision)
              FROM old WHERE c.batch_id = old.batch_id AND c.position = old.position
              RETURNING c.*, old.status AS old_status),
            ${counted(lease.batchId, shardOfAttempt(end.attemptId))}
            SELECT (SELECT count(*)::int4 FROM lease) AS leased, (SELECT count(*)::int4 FROM a) AS known,
                   a.contact_position AS a_position, ${contactColumns},
                   coalesce(fin.state, a.state) AS state, coalesce(fin.ended_at, a.ended_at) AS ended_at,
                   coalesce(fin.outcome, a.outcome) AS outcome, coalesce(fin.sip_code, a.sip_code) AS sip_code,
                   coalesce(fin.duration, a.duration) AS duration,
                   coalesce(fin.room_name, a.room_name) AS room_name_attempt,
                   coalesce(fin.failure_reason, a.failure_reason) AS failure_reason_attempt,
                   a.id, a.attempt_number, a.caller_number_id, a.started_at, a.contact_position
            FROM (SELECT 1) one LEFT JOIN a ON true LEFT JOIN fin ON true LEFT JOIN moved c ON true`
          const row = yield* fenced(lease, rows)
          if (Number(row.known) === 0) return yield* defect(`Attempt ${end.attemptId} is not in batch ${lease.batchId}`)
          const r = row as typeof row & { room_name_attempt: string | null; failure_reason_attempt: string | null }
          const attempt = toAttempt({
            ...r,
            batch_id: lease.batchId,
            room_name: r.room_name_attempt,
            failure_reason: r.failure_reason_attempt
          })
          if (row.position !== null) return { contact: toContact(row), attempt }
          // Recorded already (a retried write): the first record stands.
          const current = yield* contactStatement(lease.batchId, row.a_position)
          return { contact: toContact(current[0]!), attempt }
        }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError("finishAttempt")(e)))),
      abandonAttempt: (lease, attemptId) =>
        Effect.gen(function*() {
          const rows = yield* sql<ContactRow & { leased: number; prior_state: string | null }>`
            WITH ${leaseCte(lease)},
            a AS (
              SELECT * FROM outdial_attempts
              WHERE id = ${attemptId} AND batch_id = ${lease.batchId} AND EXISTS (SELECT 1 FROM lease)
              FOR UPDATE),
            gone AS (
              DELETE FROM outdial_attempts t USING a WHERE t.id = a.id AND a.state = 'dialing' RETURNING t.*),
            old AS (
              SELECT c.* FROM outdial_contacts c, gone
              WHERE c.batch_id = gone.batch_id AND c.position = gone.contact_position
              FOR UPDATE OF c),
            moved AS (
              UPDATE outdial_contacts c SET
                status = CASE WHEN old.status = 'dialing' THEN gone.previous_status ELSE old.status END,
                next_retry_at = CASE WHEN old.status = 'dialing' THEN gone.previous_next_retry_at
                                     ELSE old.next_retry_at END,
                attempt_count = gone.attempt_number - 1,
                last_attempt_at = gone.previous_last_attempt_at,
                last_decision = gone.previous_last_decision
              FROM old, gone WHERE c.batch_id = old.batch_id AND c.position = old.position
              RETURNING c.*, old.status AS old_status),
            ${counted(lease.batchId, shardOfAttempt(attemptId))}
            SELECT (SELECT count(*)::int4 FROM lease) AS leased, a.state AS prior_state, ${contactColumns}
            FROM (SELECT 1) one LEFT JOIN a ON true LEFT JOIN moved c ON true`
          const row = yield* fenced(lease, rows)
          if (row.prior_state === null) return yield* defect(`Attempt ${attemptId} is not in batch ${lease.batchId}`)
          if (row.position === null) return yield* defect(`Attempt ${attemptId} has ended and cannot be abandoned`)
          return toContact(row)
        }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError("abandonAttempt")(e)))),
      openAttempts: (batchId) =>
        sql<AttemptRow>`SELECT * FROM outdial_attempts WHERE batch_id = ${batchId} AND state = 'dialing'
                        ORDER BY started_at, id`.pipe(
          Effect.map((rows) => rows.map(toAttempt)),
          Effect.mapError(storeError("openAttempts"))
        ),
      attemptsOnDay: (batchId, localDate) =>
        sql<{ count: number }>`SELECT count(*)::int4 AS count FROM outdial_attempts
                               WHERE batch_id = ${batchId} AND local_date = ${localDate}`.pipe(
          Effect.map((rows) => rows[0]!.count),
          Effect.mapError(storeError("attemptsOnDay"))
        ),
      decide: (lease, contactId, decision) =>
        Effect.gen(function*() {
          if (decision.kind === "dial") return yield* defect("A decision to dial is recorded by beginAttempt")
          const position = positionOf(contactId)
          if (position === undefined) return yield* defect(`No contact ${contactId}`)
          const at = DateTime.toDateUtc(decision.at)
          const set = decision.kind === "skip"
            ? sql`status = 'skipped', completed_at = ${at}, next_retry_at = NULL`
            : sql`next_retry_at = ${DateTime.toDateUtc(decision.until ?? decision.at)}`
          const rows = yield* sql<ContactRow & { leased: number; prior_status: Contact.ContactStatus | null }>`
            WITH ${leaseCte(lease)},
            ${leasedContact(lease, position)},
            moved AS (
              UPDATE outdial_contacts c SET ${set}, last_decision = ${jsonText(encodeDecision(decision))}::jsonb
              FROM old WHERE c.batch_id = old.batch_id AND c.position = old.position
                AND old.status IN ('pending', 'queued')
              RETURNING c.*, old.status AS old_status),
            ${counted(lease.batchId, shardOf(position))}
            SELECT (SELECT count(*)::int4 FROM lease) AS leased, old.status AS prior_status, ${contactColumns}
            FROM (SELECT 1) one LEFT JOIN old ON true LEFT JOIN moved c ON true`
          const row = yield* fenced(lease, rows)
          if (row.prior_status === null) return yield* defect(`No contact ${contactId}`)
          if (row.position === null) {
            return yield* new InvalidTransition({ entity: "contact", action: decision.kind, from: row.prior_status })
          }
          return toContact(row)
        }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError("decide")(e)))),
      cancelContacts: (batchId, at) =>
        moveAll(batchId, waitingStatuses, sql`status = 'cancelled', completed_at = ${DateTime.toDateUtc(at)}, next_retry_at = NULL`)
          .pipe(Effect.mapError(storeError("cancelContacts"))),
      requeueContacts: (batchId, statuses, extraAttempts, at) =>
        // Only contacts that have ended: a waiting or dialing one must never gain a second entry point.
        moveAll(
          batchId,
          statuses.filter(Contact.isFinal),
          sql`status = 'queued', max_attempts = attempt_count + ${extraAttempts},
              next_retry_at = ${DateTime.toDateUtc(at)}, completed_at = NULL`
        ).pipe(Effect.mapError(storeError("requeueContacts"))),

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
    })
    return { store, outbox }
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

