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
import * as Result from "effect/Result"
import type * as SqlClient from "effect/sql/SqlClient"
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
  | "releaseLease"
  | "dialable"
  | "nextDueAt"
  | "beginAttempt"
  | "beginAttempts"
  | "finishAttempt"
  | "finishAttempts"
  | "abandonAttempt"
  | "openAttempts"
  | "attemptsOnDay"
  | "decide"
>

export const make = (sql: SqlClient.SqlClient, fragments: Fragments): DialingWrites => {
  const { contactColumns, contactStatement, counted, countedByShard, fenced, leaseCte, leasedContact, shardOf, shardOfAttempt } =
    fragments
  const finalStatuses = sql.literal(Contact.statuses.filter(Contact.isFinal).map((s) => `'${s}'`).join(", "))
  const iso = (time: DateTime.Utc | null) => time === null ? null : DateTime.toDateUtc(time).toISOString()
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
    releaseLease: (lease) =>
      sql`UPDATE outdial_leases SET owner_id = NULL, expires_at = NULL
          WHERE batch_id = ${lease.batchId} AND owner_id = ${lease.ownerId} AND epoch = ${lease.epoch}`.pipe(
        Effect.asVoid,
        Effect.mapError(storeError("releaseLease"))
      ),

    // Reads without SKIP LOCKED: only the lease holder reads a batch's dialable
    // contacts, and each write it then makes is fenced by its epoch, so a reader
    // that lost the batch meanwhile changes nothing. Two halves, each ordered on
    // an index: due retries first, then contacts never tried.
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
    // `beginAttempt` over many contacts in one statement, for the same reasons, and so
    // that a runner's step costs one round trip and one commit rather than one per
    // contact. Lock order as everywhere: the lease row (FOR SHARE), then the contacts
    // in position order, then the counter rows in shard order, so two of these, or
    // one and the single writes, never wait on each other in a cycle.
    beginAttempts: (lease, attempts) =>
      Effect.gen(function*() {
        const positions: Array<number> = []
        for (const attempt of attempts) {
          const position = positionOf(attempt.contactId)
          if (position === undefined) return yield* defect(`No contact ${attempt.contactId}`)
          positions.push(position)
        }
        if (new Set(positions).size !== positions.length) return yield* defect("beginAttempts takes distinct contacts")
        if (attempts.length === 0) return []
        const ids = attempts.map((a) => Attempt.makeId(lease.batchId, a.contactId, a.attemptNumber))
        const rows = yield* sql<
          ContactRow & { leased: number; prior_status: Contact.ContactStatus | null; prior_count: number | null }
        >`
          WITH ${leaseCte(lease)},
          input AS (
            SELECT * FROM unnest(${int4Array(positions)}, ${int4Array(attempts.map((a) => a.attemptNumber))},
                                 ${textArray(attempts.map((a) => a.callerNumberId))},
                                 ${textArray(attempts.map((a) => a.localDate))},
                                 ${textArray(attempts.map((a) => iso(a.startedAt)))},
                                 ${textArray(attempts.map((a) => a.decision === null ? null : jsonText(encodeDecision(a.decision))))},
                                 ${textArray(ids)})
              WITH ORDINALITY AS t(position, attempt_number, caller_number_id, local_date, started_at, decision, id, ord)),
          old AS (
            SELECT c.* FROM outdial_contacts c
            WHERE c.batch_id = ${lease.batchId} AND c.position = ANY(${int4Array(positions)})
              AND EXISTS (SELECT 1 FROM lease)
            ORDER BY c.position
            FOR UPDATE),
          moved AS (
            UPDATE outdial_contacts c SET status = 'dialing', attempt_count = i.attempt_number,
                   last_attempt_at = i.started_at::timestamptz, next_retry_at = NULL,
                   last_decision = coalesce(i.decision::jsonb, old.last_decision)
            FROM old JOIN input i ON i.position = old.position
            WHERE c.batch_id = old.batch_id AND c.position = old.position
              AND old.status IN ('pending', 'queued') AND old.attempt_count = i.attempt_number - 1
            RETURNING c.*, old.status AS old_status),
          recorded AS (
            INSERT INTO outdial_attempts (id, batch_id, contact_position, attempt_number, state, owner_epoch,
              caller_number_id, local_date, started_at, previous_status, previous_next_retry_at,
              previous_last_attempt_at, previous_last_decision)
            SELECT i.id, old.batch_id, old.position, i.attempt_number, 'dialing', ${lease.epoch},
                   i.caller_number_id, i.local_date, i.started_at::timestamptz, old.status, old.next_retry_at,
                   old.last_attempt_at, old.last_decision
            FROM old JOIN input i ON i.position = old.position
            WHERE EXISTS (SELECT 1 FROM moved m WHERE m.position = old.position)),
          ${countedByShard(lease.batchId)}
          SELECT (SELECT count(*)::int4 FROM lease) AS leased, old.status AS prior_status,
                 old.attempt_count AS prior_count, ${contactColumns}
          FROM input i LEFT JOIN old ON old.position = i.position LEFT JOIN moved c ON c.position = i.position
          ORDER BY i.ord`
        yield* fenced(lease, rows)
        const begun: Array<Result.Result<{ contact: Contact.Contact; attempt: Attempt.Attempt }, InvalidTransition>> = []
        for (const [i, row] of rows.entries()) {
          const attempt = attempts[i]!
          if (row.prior_status === null) return yield* defect(`No contact ${attempt.contactId}`)
          if (row.position === null) {
            if (row.prior_status !== "pending" && row.prior_status !== "queued") {
              begun.push(Result.fail(new InvalidTransition({ entity: "contact", action: "dial", from: row.prior_status })))
              continue
            }
            return yield* defect(
              `Attempt ${attempt.attemptNumber} of contact ${attempt.contactId} follows ${row.prior_count} attempts`
            )
          }
          const contact = toContact(row)
          begun.push(Result.succeed({
            contact,
            attempt: Attempt.begun({
              id: ids[i]!,
              batchId: lease.batchId,
              contactId: contact.id,
              attemptNumber: attempt.attemptNumber,
              callerNumberId: attempt.callerNumberId,
              startedAt: attempt.startedAt
            })
          }))
        }
        return begun
      }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError("beginAttempts")(e)))),
    // `finishAttempt` over many attempts in one statement: the attempts locked in id
    // order, then their contacts in position order, then the counter rows by shard.
    finishAttempts: (lease, ends) =>
      Effect.gen(function*() {
        for (const end of ends) {
          const action = end.status === "queued" ? "requeue" : "finish"
          if (Contact.transition("dialing", action, end.status)._tag === "Failure") {
            return yield* defect(`An attempt cannot end with status ${end.status}`)
          }
        }
        if (new Set(ends.map((end) => end.attemptId)).size !== ends.length) {
          return yield* defect("finishAttempts takes distinct attempts")
        }
        if (ends.length === 0) return []
        const ids = textArray(ends.map((end) => end.attemptId))
        const rows = yield* sql<
          ContactRow & AttemptRow & {
            leased: number
            known: boolean
            a_position: number | null
            room_name_attempt: string | null
            failure_reason_attempt: string | null
          }
        >`
          WITH ${leaseCte(lease)},
          input AS (
            SELECT * FROM unnest(${ids}, ${textArray(ends.map((e) => iso(e.endedAt)))},
                                 ${textArray(ends.map((e) => e.result.outcome))},
                                 ${int4Array(ends.map((e) => e.result.sipCode))},
                                 ${textArray(ends.map((e) => e.result.duration === null ? null : String(e.result.duration)))},
                                 ${textArray(ends.map((e) => e.result.roomName))},
                                 ${textArray(ends.map((e) => e.result.failureReason))},
                                 ${textArray(ends.map((e) => e.status))},
                                 ${textArray(ends.map((e) => iso(e.nextRetryAt)))},
                                 ${textArray(ends.map((e) => e.decision === null ? null : jsonText(encodeDecision(e.decision))))})
              WITH ORDINALITY AS t(id, ended_at, outcome, sip_code, duration, room_name, failure_reason, status,
                                   next_retry_at, decision, ord)),
          a AS (
            SELECT t.* FROM outdial_attempts t
            WHERE t.id = ANY(${ids}) AND t.batch_id = ${lease.batchId} AND EXISTS (SELECT 1 FROM lease)
            ORDER BY t.id
            FOR UPDATE),
          fin AS (
            UPDATE outdial_attempts t SET state = 'finished', ended_at = i.ended_at::timestamptz, outcome = i.outcome,
                   sip_code = i.sip_code, duration = i.duration::float8, room_name = i.room_name,
                   failure_reason = i.failure_reason
            FROM a JOIN input i ON i.id = a.id
            WHERE t.id = a.id AND a.state = 'dialing'
            RETURNING t.*),
          old AS (
            SELECT c.* FROM outdial_contacts c JOIN fin ON c.batch_id = fin.batch_id AND c.position = fin.contact_position
            ORDER BY c.position
            FOR UPDATE OF c),
          moved AS (
            UPDATE outdial_contacts c SET
              status = CASE WHEN old.status = 'dialing' THEN i.status ELSE old.status END,
              next_retry_at = CASE WHEN old.status = 'dialing' AND i.status = 'queued'
                                   THEN i.next_retry_at::timestamptz END,
              completed_at = CASE WHEN old.status <> 'dialing' OR i.status IN (${finalStatuses})
                                  THEN coalesce(old.completed_at, i.ended_at::timestamptz) END,
              error_code = i.sip_code, failure_reason = i.failure_reason,
              call_duration = i.duration::float8, room_name = i.room_name,
              last_decision = coalesce(i.decision::jsonb, old.last_decision)
            FROM old JOIN fin ON fin.contact_position = old.position JOIN input i ON i.id = fin.id
            WHERE c.batch_id = old.batch_id AND c.position = old.position
            RETURNING c.*, old.status AS old_status, fin.id AS attempt_id),
          ${countedByShard(lease.batchId)}
          SELECT (SELECT count(*)::int4 FROM lease) AS leased, a.id IS NOT NULL AS known,
                 a.contact_position AS a_position, ${contactColumns},
                 coalesce(fin.state, a.state) AS state, coalesce(fin.ended_at, a.ended_at) AS ended_at,
                 coalesce(fin.outcome, a.outcome) AS outcome, coalesce(fin.sip_code, a.sip_code) AS sip_code,
                 coalesce(fin.duration, a.duration) AS duration,
                 coalesce(fin.room_name, a.room_name) AS room_name_attempt,
                 coalesce(fin.failure_reason, a.failure_reason) AS failure_reason_attempt,
                 a.id, a.attempt_number, a.caller_number_id, a.started_at, a.contact_position
          FROM input i LEFT JOIN a ON a.id = i.id LEFT JOIN fin ON fin.id = i.id LEFT JOIN moved c ON c.attempt_id = i.id
          ORDER BY i.ord`
        yield* fenced(lease, rows)
        const finished: Array<{ contact: Contact.Contact; attempt: Attempt.Attempt }> = []
        for (const [i, row] of rows.entries()) {
          if (!row.known) return yield* defect(`Attempt ${ends[i]!.attemptId} is not in batch ${lease.batchId}`)
          const attempt = toAttempt({
            ...row,
            batch_id: lease.batchId,
            room_name: row.room_name_attempt,
            failure_reason: row.failure_reason_attempt
          })
          if (row.position !== null) {
            finished.push({ contact: toContact(row), attempt })
            continue
          }
          // Recorded already (a retried write): the first record stands.
          const current = yield* contactStatement(lease.batchId, row.a_position!)
          finished.push({ contact: toContact(current[0]!), attempt })
        }
        return finished
      }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError("finishAttempts")(e)))),
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
      }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError("decide")(e))))
  }
}
