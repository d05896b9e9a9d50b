/**
 * A contact's decisions (`ContactHistory`), kept by the statements that
 * record them: each such statement's `moved` CTE counts the decision on the
 * contact (`decisionCount`) and returns it as `new_decision`, and
 * `recordDecision` adds the CTEs that store it and forget the one that falls
 * out of the latest `ContactHistory.decisionsKept`. In the same statement,
 * the history can never disagree with `last_decision`; the rows touched
 * belong to the contact the statement holds locked, so the lock order
 * (fragments.ts) is unchanged.
 */
import { decisionsKept } from "@outdial/core/ContactHistory"
import type { ContactHistory } from "@outdial/core/BatchStore"
import type { StoreError } from "@outdial/core/OutdialError"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { Fragment } from "effect/sql/Statement"
import { type AttemptRow, decodeDecision, positionOf, storeError, toAttempt } from "./rows.ts"

export const make = (sql: SqlClient.SqlClient) => {
  /** The SET item counting `decision` (a jsonb expression, null for none) on the contact. */
  const decisionCount = (decision: Fragment) =>
    sql`decision_count = old.decision_count + CASE WHEN ${decision} IS NULL THEN 0 ELSE 1 END`

  // Numbers grow by one per decision, so the one to forget is exactly `decisionsKept` back.
  const recordDecision = sql`
    decided AS (
      INSERT INTO outdial_decisions (batch_id, contact_position, seq, decision)
      SELECT m.batch_id, m.position, m.decision_count, m.new_decision FROM moved m WHERE m.new_decision IS NOT NULL),
    forgotten AS (
      DELETE FROM outdial_decisions d USING moved m
      WHERE m.new_decision IS NOT NULL AND d.batch_id = m.batch_id AND d.contact_position = m.position
        AND d.seq = m.decision_count - ${sql.literal(String(decisionsKept))})`

  // Both reads are ranges of a primary key or unique index: (batch, position, number).
  const contactHistory = (batchId: string, contactId: string): Effect.Effect<ContactHistory, StoreError> => {
    const position = positionOf(contactId)
    if (position === undefined) return Effect.succeed({ attempts: [], decisions: [] })
    return Effect.all([
      sql<AttemptRow>`SELECT * FROM outdial_attempts WHERE batch_id = ${batchId} AND contact_position = ${position}
                      ORDER BY attempt_number`,
      sql<{ decision: unknown }>`SELECT decision FROM outdial_decisions
                                 WHERE batch_id = ${batchId} AND contact_position = ${position} ORDER BY seq`
    ], { concurrency: 2 }).pipe(
      Effect.map(([attempts, decisions]) => ({
        attempts: attempts.map(toAttempt),
        decisions: decisions.map((row) => decodeDecision(row.decision))
      })),
      Effect.mapError(storeError("contactHistory"))
    )
  }

  return { decisionCount, recordDecision, contactHistory }
}

export type DecisionHistory = ReturnType<typeof make>
