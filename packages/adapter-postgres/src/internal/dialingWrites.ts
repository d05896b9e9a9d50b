/**
 * The dispatcher's writes: the lease, the contacts it may dial, and the four
 * fenced single statements that move a contact while it is dialed
 * (`beginAttempt`, `finishAttempt`, `abandonAttempt`, `decide`). Each fenced
 * statement holds the batch's lease row FOR SHARE while it still carries the
 * writer's epoch (see fragments.ts for the lock order); one with a stale
 * epoch changes nothing and answers `LeaseLost`.
 */
import * as Attempt from "@outdial/core/Attempt"
import type { BatchStore } from "@outdial/core/BatchStore"
import * as Contact from "@outdial/core/Contact"
import { InvalidTransition } from "@outdial/core/OutdialError"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { DecisionHistory } from "./decisionHistory.ts"
import type { Fragments } from "./fragments.ts"
import {
  type AttemptRow,
  type ContactRow,
  dateOf,
  defect,
  encodeDecision,
  int4Array,
  jsonText,
  positionOf,
  storeError,
  textArray,
  toAttempt,
  toContact
} from "./rows.ts"

type Store = BatchStore["Service"]

export type DialingWrites = Pick<
  Store,
  | "acquireLease"
  | "renewLease"
  | "renewLeases"
  | "releaseLease"
  | "dialable"
  | "nextDueAt"
  | "beginAttempt"
  | "finishAttempt"
  | "abandonAttempt"
  | "openAttempts"
  | "attemptsOnDay"
  | "decide"
>

export const make = (sql: SqlClient.SqlClient, fragments: Fragments, history: DecisionHistory): DialingWrites => {
  const { contactColumns, contactStatement, counted, fenced, leaseCte, leasedContact, shardOf, shardOfAttempt } = fragments
  const { decisionCount, recordDecision } = history
  return {
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
    renewLeases: (leases, now, ttlMillis) => {
      if (leases.length === 0) return Effect.succeed([])
      const expiresAt = DateTime.addDuration(now, ttlMillis)
      // Each row is matched on its owner and epoch as in renewLease; only this batch's
      // lease rows are locked, one at a time, so no lock order is needed.
      return sql<{ batch_id: string; epoch: number }>`
        UPDATE outdial_leases l SET expires_at = ${DateTime.toDateUtc(expiresAt)}
        FROM unnest(${textArray(leases.map((lease) => lease.batchId))}::text[],
                    ${textArray(leases.map((lease) => lease.ownerId))}::text[],
                    ${int4Array(leases.map((lease) => lease.epoch))}::int4[]) AS r(batch_id, owner_id, epoch)
        WHERE l.batch_id = r.batch_id AND l.owner_id = r.owner_id AND l.epoch = r.epoch
        RETURNING l.batch_id, l.epoch`.pipe(
        Effect.map((rows) => {
          const renewed = new Set(rows.map((row) => `${row.batch_id}\u0000${row.epoch}`))
          return leases.filter((lease) => renewed.has(`${lease.batchId}\u0000${lease.epoch}`)).map((lease) => ({ ...lease, expiresAt }))
        }),
        Effect.mapError(storeError("renewLeases"))
      )
    },
    releaseLease: (lease) =>
      sql`UPDATE outdial_leases SET owner_id = NULL, expires_at = NULL
          WHERE batch_id = ${lease.batchId} AND owner_id = ${lease.ownerId} AND epoch = ${lease.epoch}`.pipe(
        Effect.asVoid,
        Effect.mapError(storeError("releaseLease"))
      ),

    // Reads without SKIP LOCKED: only the lease holder reads a batch's dialable
    // contacts, and each write it then makes is fenced by its epoch, so a reader
    // that lost the batch meanwhile changes nothing. Two halves, each ordered on
    // an index (Migrations, migration 9): due retries first, then contacts with no
    // due time, in row order.
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
         ORDER BY c.position LIMIT ${limit})`.pipe(
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

    // One statement because the lease check, the contact's move to `dialing`, the
    // attempt's record (with what it replaced, so abandoning can put it back) and
    // the counter must commit together: split, a takeover could slip between the
    // check and the write and two processes would dial the contact. It also spares
    // a transaction's round trips on the hottest write, and checks the attempt
    // number against the stored count in the same snapshot.
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
                   last_decision = coalesce(${decision}::jsonb, old.last_decision),
                   ${decisionCount(sql`${decision}::jsonb`)}
            FROM old
            WHERE c.batch_id = old.batch_id AND c.position = old.position
              AND old.status IN ('pending', 'queued') AND old.attempt_count = ${attempt.attemptNumber - 1}
            RETURNING c.*, old.status AS old_status, ${decision}::jsonb AS new_decision),
          ${recordDecision},
          recorded AS (
            INSERT INTO outdial_attempts (id, batch_id, contact_position, attempt_number, state, owner_epoch,
              caller_number_id, local_date, started_at, previous_status, previous_next_retry_at,
              previous_last_attempt_at, previous_last_decision, phone)
            SELECT ${id}, old.batch_id, old.position, ${attempt.attemptNumber}, 'dialing', ${lease.epoch},
                   ${attempt.callerNumberId}, ${attempt.localDate}, ${startedAt}, old.status, old.next_retry_at,
                   old.last_attempt_at, old.last_decision, old.phone
            FROM old WHERE EXISTS (SELECT 1 FROM moved)),
          ${counted(lease.batchId, shardOf(position))}
          SELECT (SELECT count(*)::int4 FROM lease) AS leased, old.status AS prior_status,
                 old.attempt_count AS prior_count, ${contactColumns}
          FROM (SELECT 1) one LEFT JOIN old ON true LEFT JOIN moved c ON true`
        const row = yield* fenced(lease, rows)
        // Removed since the dispatcher read it.
        if (row.prior_status === null) return yield* Contact.removed("dial")
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
    // One statement because closing the attempt, moving the contact and counting
    // the move must agree, under a lease still held: a retried write (a dropped
    // connection) then finds the attempt finished and changes nothing, which is
    // what makes recording idempotent. A contact moved on meanwhile (cancelled)
    // keeps its status; the attempt still records the call.
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
              max_attempts = old.max_attempts + CASE WHEN old.status = 'dialing' THEN ${end.refundAttempt === true ? 1 : 0}::int4
                                                     ELSE 0 END,
              completed_at = CASE WHEN old.status <> 'dialing' OR ${Contact.isFinal(end.status)}
                                  THEN coalesce(old.completed_at, ${endedAt}) END,
              error_code = ${result.sipCode}, failure_reason = ${result.failureReason},
              call_duration = ${result.duration}, room_name = ${result.roomName},
              last_decision = coalesce(${decision}::jsonb, old.last_decision),
              ${decisionCount(sql`${decision}::jsonb`)}
            FROM old WHERE c.batch_id = old.batch_id AND c.position = old.position
            RETURNING c.*, old.status AS old_status, ${decision}::jsonb AS new_decision),
          ${recordDecision},
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
    // One statement because deleting the never-placed attempt and restoring the
    // contact to what it was before must happen together under the lease: apart,
    // the contact could be seen `dialing` with no attempt, or waiting twice.
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
    // One statement because the lease check, the waiting contact's new due time (or
    // skip) and the counter move must commit together, like the writes above.
    decide: (lease, contactId, decision) =>
      Effect.gen(function*() {
        if (decision.kind === "dial") return yield* defect("A decision to dial is recorded by beginAttempt")
        const position = positionOf(contactId)
        if (position === undefined) return yield* defect(`No contact ${contactId}`)
        const at = DateTime.toDateUtc(decision.at)
        const set = decision.kind === "skip"
          ? sql`status = 'skipped', completed_at = ${at}, next_retry_at = NULL`
          : sql`next_retry_at = ${DateTime.toDateUtc(decision.until ?? decision.at)}`
        const stored = jsonText(encodeDecision(decision))
        const rows = yield* sql<ContactRow & { leased: number; prior_status: Contact.ContactStatus | null }>`
          WITH ${leaseCte(lease)},
          ${leasedContact(lease, position)},
          moved AS (
            UPDATE outdial_contacts c SET ${set}, last_decision = ${stored}::jsonb,
                   ${decisionCount(sql`${stored}::jsonb`)}
            FROM old WHERE c.batch_id = old.batch_id AND c.position = old.position
              AND old.status IN ('pending', 'queued')
            RETURNING c.*, old.status AS old_status, ${stored}::jsonb AS new_decision),
          ${recordDecision},
          ${counted(lease.batchId, shardOf(position))}
          SELECT (SELECT count(*)::int4 FROM lease) AS leased, old.status AS prior_status, ${contactColumns}
          FROM (SELECT 1) one LEFT JOIN old ON true LEFT JOIN moved c ON true`
        const row = yield* fenced(lease, rows)
        // Removed since the dispatcher read it.
        if (row.prior_status === null) return yield* Contact.removed(decision.kind)
        if (row.position === null) {
          return yield* new InvalidTransition({ entity: "contact", action: decision.kind, from: row.prior_status })
        }
        return toContact(row)
      }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError("decide")(e))))
  }
}
