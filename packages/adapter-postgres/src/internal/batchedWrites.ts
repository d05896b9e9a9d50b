/**
 * The dispatcher's batched writes: `beginAttempts` and `finishAttempts`, the
 * fenced single statements of dialingWrites.ts over many contacts, each still
 * one statement (the lease row FOR SHARE with the epoch check, the contacts,
 * the counter rows), so a runner's step or a tick's call ends cost one round
 * trip and one commit rather than one per contact.
 */
import * as Attempt from "@outdial/core/Attempt"
import type { BatchStore } from "@outdial/core/BatchStore"
import * as Contact from "@outdial/core/Contact"
import { InvalidTransition } from "@outdial/core/OutdialError"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as SqlClient from "effect/sql/SqlClient"
import type { DecisionHistory } from "./decisionHistory.ts"
import type { Fragments } from "./fragments.ts"
import {
  type AttemptRow,
  type ContactRow,
  defect,
  encodeDecision,
  int4Array,
  iso,
  jsonText,
  positionOf,
  storeError,
  textArray,
  toAttempt,
  toContact
} from "./rows.ts"

export type BatchedWrites = Required<Pick<BatchStore["Service"], "beginAttempts" | "finishAttempts">>

export const make = (sql: SqlClient.SqlClient, fragments: Fragments, history: DecisionHistory): BatchedWrites => {
  const { contactColumns, contactStatement, countedByShard, fenced, leaseCte } = fragments
  const { decisionCount, recordDecision } = history
  const finalStatuses = sql.literal(Contact.statuses.filter(Contact.isFinal).map((s) => `'${s}'`).join(", "))
  // Times travel as ISO text in the arrays: typed timestamp arrays add nothing here.
  return {
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
                   last_decision = coalesce(i.decision::jsonb, old.last_decision),
                   ${decisionCount(sql`i.decision::jsonb`)}
            FROM old JOIN input i ON i.position = old.position
            WHERE c.batch_id = old.batch_id AND c.position = old.position
              AND old.status IN ('pending', 'queued') AND old.attempt_count = i.attempt_number - 1
            RETURNING c.*, old.status AS old_status, i.decision::jsonb AS new_decision),
          ${recordDecision},
          recorded AS (
            INSERT INTO outdial_attempts (id, batch_id, contact_position, attempt_number, state, owner_epoch,
              caller_number_id, local_date, started_at, previous_status, previous_next_retry_at,
              previous_last_attempt_at, previous_last_decision, phone)
            SELECT i.id, old.batch_id, old.position, i.attempt_number, 'dialing', ${lease.epoch},
                   i.caller_number_id, i.local_date, i.started_at::timestamptz, old.status, old.next_retry_at,
                   old.last_attempt_at, old.last_decision, old.phone
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
          // Removed since the dispatcher read it: the others begin all the same.
          if (row.prior_status === null) {
            begun.push(Result.fail(Contact.removed("dial")))
            continue
          }
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
                                 ${textArray(ends.map((e) => e.decision === null ? null : jsonText(encodeDecision(e.decision))))},
                                 ${int4Array(ends.map((e) => e.refundAttempt === true ? 1 : 0))})
              WITH ORDINALITY AS t(id, ended_at, outcome, sip_code, duration, room_name, failure_reason, status,
                                   next_retry_at, decision, refund, ord)),
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
              max_attempts = old.max_attempts + CASE WHEN old.status = 'dialing' THEN i.refund ELSE 0 END,
              completed_at = CASE WHEN old.status <> 'dialing' OR i.status IN (${finalStatuses})
                                  THEN coalesce(old.completed_at, i.ended_at::timestamptz) END,
              error_code = i.sip_code, failure_reason = i.failure_reason,
              call_duration = i.duration::float8, room_name = i.room_name,
              last_decision = coalesce(i.decision::jsonb, old.last_decision),
              ${decisionCount(sql`i.decision::jsonb`)}
            FROM old JOIN fin ON fin.contact_position = old.position JOIN input i ON i.id = fin.id
            WHERE c.batch_id = old.batch_id AND c.position = old.position
            RETURNING c.*, old.status AS old_status, fin.id AS attempt_id, i.decision::jsonb AS new_decision),
          ${recordDecision},
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
      }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError("finishAttempts")(e))))
  }
}
