/**
 * The writes and reads of batches and their contacts outside dialing:
 * idempotency keys, create, update, delete, add and remove contacts, and
 * the reads of batches, pages of contacts and counters. Each lifecycle write
 * is a transaction that locks the batch row first and appends its outbox
 * event in the same transaction.
 */
import * as BatchModel from "@outdial/core/Batch"
import type { Batch } from "@outdial/core/Batch"
import type { BatchStore, NewContact, StatusBreakdown } from "@outdial/core/BatchStore"
import * as Contact from "@outdial/core/Contact"
import {
  BatchNotFound,
  ContactNotFound,
  IdempotencyKeyReused,
  IdempotencyRequestInProgress
} from "@outdial/core/OutdialError"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import { counterColumn } from "../Migrations.ts"
import * as ContactPages from "./contactPages.ts"
import type { DialingWrites } from "./dialingWrites.ts"
import type { Fragments } from "./fragments.ts"
import * as PendingMerge from "./pendingMerge.ts"
import * as Search from "./search.ts"
import { clockDate, type Events } from "./outbox.ts"
import {
  type BatchRow,
  boolArray,
  encodeBatch,
  int4Array,
  jsonText,
  positionOf,
  rowCount,
  storeError,
  textArray,
  toBatch,
  toContact
} from "./rows.ts"

type Store = BatchStore["Service"]

const waitingStatuses: ReadonlyArray<Contact.ContactStatus> = Contact.statuses.filter(Contact.isWaiting)

export const make = (
  sql: SqlClient.SqlClient,
  fragments: Fragments,
  events: Events,
  options: {
    readonly chunkSize: number
    /** The database has one connection (PGlite). */
    readonly processLocal: boolean
    /** Wraps an ingest's transaction: ingests waiting for a turn hold no connection. */
    readonly ingesting: <A, E, R>(ingest: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  }
): Omit<Store, keyof DialingWrites | "processLocal" | "changes" | "prune" | "beginAttemptsWithin" | "attemptsByNumber"> => {
  const { batchColumns, batchForUpdate, contactColumns, contactStatement, counted, counterSums, expectStatus, moveAll, shardOf } =
    fragments
  const { appendEvent, notify } = events
  const chunkSize = options.chunkSize
  const searchContacts = Search.make(sql, contactColumns).search
  const listPage = ContactPages.make(sql, contactColumns)
  const dispatchable = sql.literal(BatchModel.dispatchable.map((status) => `'${status}'`).join(", "))
  const unfinished = sql.literal(
    Contact.statuses.filter((status) => !Contact.isFinal(status)).map((status) => `${counterColumn(status)}`).join(" + ")
  )

  /** Whether a contact of the batch waits or is being dialed, by its counters. */
  const contactsLeft = (batchId: string) =>
    Effect.map(
      sql<{ remaining: number }>`SELECT coalesce(sum(${unfinished}), 0)::int4 AS remaining FROM outdial_counters WHERE batch_id = ${batchId}`,
      (rows) => (rows[0]?.remaining ?? 0) > 0
    )

  const { mergingBeside } = PendingMerge.make(sql, options)

  /**
   * The INSERT of the contacts from index `from` (one chunk), at the positions after `start + from`;
   * how many it stored. Its arrays are built here, when it is made. Set-returning functions in the
   * select list run in step a row at a time (unnest in FROM fills a tuplestore with the whole chunk
   * first), and the command tag counts the rows (RETURNING into a CTE stores each row once more):
   * the server's work is what an ingest waits on.
   */
  const insertChunk = (
    batchId: string,
    start: number,
    contacts: ReadonlyArray<NewContact>,
    from: number,
    maxAttempts: number
  ) => {
    const chunk = contacts.slice(from, from + chunkSize)
    // Without external ids no row can conflict: a plain INSERT skips the speculative insertion of each.
    const onConflict = chunk.some((c) => c.externalId !== null)
      ? sql.literal("ON CONFLICT (batch_id, external_id) WHERE external_id IS NOT NULL DO NOTHING")
      : sql.literal("")
    return sql`
      INSERT INTO outdial_contacts
        (batch_id, position, row_number, phone, number_validated, name, external_id, custom_fields, status,
         max_attempts)
      SELECT ${batchId}, generate_series(${start + from + 1}::int4, ${start + from + chunk.length}::int4),
             unnest(${int4Array(chunk.map((c) => c.row))}), unnest(${textArray(chunk.map((c) => c.phone))}),
             unnest(${boolArray(chunk.map((c) => c.numberValidated))}), unnest(${textArray(chunk.map((c) => c.name))}),
             unnest(${textArray(chunk.map((c) => c.externalId))}),
             unnest(${textArray(chunk.map((c) => JSON.stringify(c.customFields)))})::jsonb, 'pending', ${maxAttempts}
      ${onConflict}`.raw.pipe(Effect.map(rowCount))
  }

  /** Stores contacts after position `start`; returns how many were stored (repeated external ids are not). */
  const ingest = (
    batchId: string,
    start: number,
    contacts: ReadonlyArray<NewContact>,
    maxAttempts: number,
    noteStored: (count: number) => Effect.Effect<void>
  ) =>
    Effect.gen(function*() {
      // The ingest's own merges (see mergingBeside), in memory enough to merge a list of 64 MB at once.
      if (!options.processLocal && contacts.length > chunkSize) yield* sql`SET LOCAL gin_pending_list_limit = '64MB'`
      yield* sql`SET LOCAL work_mem = '64MB'`
      const chunkAt = (from: number) =>
        from < contacts.length ? insertChunk(batchId, start, contacts, from, maxAttempts) : undefined
      let added = 0
      let insert = chunkAt(0)
      for (let from = chunkSize; insert !== undefined; from += chunkSize) {
        // The next chunk is built while the server inserts this one: the INSERT's fiber runs first, up
        // to waiting for the reply. One transaction still: a failed INSERT fails the ingest before the
        // next is sent, and the next, built or not, is dropped.
        const [count, next] = yield* Effect.all([insert, Effect.sync(() => chunkAt(from))], { concurrency: 2 })
        added += count
        insert = next
        yield* noteStored(count)
      }
      return added
    })

  return {
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
      mergingBeside(contacts.length, (noteStored) =>
      Effect.gen(function*() {
        yield* sql`
          INSERT INTO outdial_batches (id, organization_id, agent_id, status, created_at, settings)
          VALUES (${batch.id}, ${batch.organizationId}, ${batch.agentId}, ${batch.status},
                  ${DateTime.toDateUtc(batch.createdAt)}, ${jsonText(encodeBatch(batch))}::jsonb)`
        yield* sql`INSERT INTO outdial_leases (batch_id) VALUES (${batch.id})`
        const added = yield* ingest(batch.id, 0, contacts, batch.retryPolicy.maxAttempts, noteStored)
        yield* sql`UPDATE outdial_batches SET total_contacts = ${added}, next_position = ${contacts.length}
                   WHERE id = ${batch.id}`
        yield* sql.unsafe(
          `INSERT INTO outdial_counters (batch_id, shard, ${counterColumn("pending")}) VALUES ($1, 0, $2)`,
          [batch.id, added]
        )
        yield* appendEvent({ ...batch, totalContacts: added }, "created")
      }).pipe(sql.withTransaction)
      ).pipe(
        options.ingesting,
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
    updateBatch: (batchId, expected, action, patch, updateOptions) =>
      Effect.gen(function*() {
        const row = yield* batchForUpdate(batchId)
        yield* expectStatus(row.status, expected, action)
        // Under the batch row's lock, which every addContacts takes too: none can slip in after the count.
        if (updateOptions?.unlessContactsLeft === true && (yield* contactsLeft(batchId))) {
          return yield* Contact.contactsLeft(action, row.status)
        }
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
        yield* sql`DELETE FROM outdial_decisions WHERE batch_id = ${batchId}`
        yield* sql`DELETE FROM outdial_contacts WHERE batch_id = ${batchId}`
        yield* sql`DELETE FROM outdial_counters WHERE batch_id = ${batchId}`
        yield* sql`DELETE FROM outdial_leases WHERE batch_id = ${batchId}`
        yield* sql`DELETE FROM outdial_batches WHERE id = ${batchId}`
      }).pipe(
        sql.withTransaction,
        Effect.tap(() => notify(batchId)),
        Effect.catchTag("SqlError", (e) => Effect.fail(storeError("deleteBatch")(e)))
      ),

    // Under the batch row's lock, as every lifecycle write: a batch cannot turn final (or
    // complete over the new contacts) meanwhile. The new rows conflict with no dialing
    // write; the counter row is touched last, as in the lock order.
    addContacts: (batchId, contacts, updatedAt, addOptions) =>
      mergingBeside(contacts.length, (noteStored) =>
      Effect.gen(function*() {
        const row = yield* batchForUpdate(batchId)
        yield* expectStatus(row.status, BatchModel.sourcesOf("add contacts to"), "add contacts to")
        const batch = toBatch(row)
        const phones = [...new Set(contacts.map((c) => c.phone))]
        const storedNumbers = phones.length === 0 ? [] : (yield* sql<{ phone: string }>`
          SELECT DISTINCT c.phone FROM outdial_contacts c
          WHERE c.batch_id = ${batchId} AND c.phone = ANY(${textArray(phones)})`).map((r) => r.phone).sort()
        const stored = new Set(storedNumbers)
        const kept = addOptions?.skipStoredNumbers === true ? contacts.filter((c) => !stored.has(c.phone)) : contacts
        const added = yield* ingest(batchId, row.next_position, kept, batch.retryPolicy.maxAttempts, noteStored)
        yield* sql`UPDATE outdial_batches SET total_contacts = total_contacts + ${added},
                     next_position = next_position + ${kept.length},
                     settings = ${jsonText(encodeBatch({ ...batch, updatedAt }))}::jsonb
                   WHERE id = ${batchId}`
        yield* sql.unsafe(
          `UPDATE outdial_counters SET ${counterColumn("pending")} = ${counterColumn("pending")} + $1
           WHERE batch_id = $2 AND shard = 0`,
          [added, batchId]
        )
        return { added, skipped: contacts.length - added, storedNumbers }
      }).pipe(sql.withTransaction)
      ).pipe(
        options.ingesting,
        // The batch's dispatcher, in whichever process holds it, dials the new contacts.
        Effect.tap(({ added }) => added > 0 ? notify(batchId) : Effect.void),
        Effect.catchTag("SqlError", (e) => Effect.fail(storeError("addContacts")(e)))
      ),
    // Only a waiting contact goes, and the DELETE itself says so: a dialing write holding the
    // contact's row makes it wait, then see the contact moved on. Locks: the batch row, the
    // contact, its counter row, in the order dialing writes take the last two.
    removeContact: (batchId, contactId, updatedAt) =>
      Effect.gen(function*() {
        const row = yield* batchForUpdate(batchId)
        yield* expectStatus(row.status, BatchModel.sourcesOf("remove contacts from"), "remove contacts from")
        const position = positionOf(contactId)
        if (position === undefined) return yield* new ContactNotFound({ batchId, contactId })
        const removed = yield* sql<{ count: number }>`
          WITH moved AS (
            DELETE FROM outdial_contacts
            WHERE batch_id = ${batchId} AND position = ${position} AND status IN ('pending', 'queued')
            RETURNING status AS old_status, NULL::text AS status),
          ${counted(batchId, shardOf(position))}
          SELECT count(*)::int4 AS count FROM moved`
        if (removed[0]?.count !== 1) {
          const current = yield* contactStatement(batchId, position)
          return yield* current.length === 0
            ? Effect.fail(new ContactNotFound({ batchId, contactId }))
            : Effect.fail(Contact.notRemovable(current[0]!.status))
        }
        // Its decisions (a waiting contact may have been deferred) go with it.
        yield* sql`DELETE FROM outdial_decisions WHERE batch_id = ${batchId} AND contact_position = ${position}`
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
    listContacts: (batchId, options) =>
      options.search !== undefined ? searchContacts(batchId, { ...options, search: options.search }) : listPage(batchId, options),
    getContact: (batchId, contactId) => {
      const position = positionOf(contactId)
      return position === undefined
        ? Effect.succeed(undefined)
        : contactStatement(batchId, position).pipe(
          Effect.map((rows) => rows.length === 0 ? undefined : toContact(rows[0]!)),
          Effect.mapError(storeError("getContact"))
        )
    },

    activeBatches: (contender) =>
      // The statuses are written out, not bound, so the planner uses the partial index of
      // the same statuses (Migrations).
      sql<BatchRow>`SELECT ${batchColumns} FROM outdial_batches b
                    WHERE b.status IN (${dispatchable}) ${
        contender === undefined ? sql.literal("") : sql`AND NOT EXISTS (
                      SELECT 1 FROM outdial_leases l WHERE l.batch_id = b.id AND l.owner_id <> ${contender.ownerId}
                        AND l.expires_at > ${DateTime.toDateUtc(contender.now)})`
      }`.pipe(
        Effect.map((rows) => rows.map(toBatch)),
        Effect.mapError(storeError("activeBatches"))
      ),
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
      ).pipe(Effect.mapError(storeError("requeueContacts")))
  }
}
