/**
 * Limits across an organization's batches and processes: `attemptsByNumber`
 * for frequency caps, and `beginAttemptsWithin`, which counts the
 * organization's calls in flight and its caller numbers' starts of the last
 * second, then begins what the limits admit, in one transaction under a
 * transaction-scoped advisory lock per organization. Two processes' steps
 * for one organization thus take turns between count and begin, so neither
 * limit is ever exceeded; organizations without limits never take the lock.
 */
import type { BatchStore } from "@outdial/core/BatchStore"
import * as CallLimits from "@outdial/core/CallLimits"
import type { NumberHistory } from "@outdial/core/FrequencyCap"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { BatchedWrites } from "./batchedWrites.ts"
import { storeError, textArray } from "./rows.ts"

export type CallLimitWrites = Pick<BatchStore["Service"], "beginAttemptsWithin" | "attemptsByNumber">

export const make = (sql: SqlClient.SqlClient, batched: BatchedWrites): CallLimitWrites => ({
  beginAttemptsWithin: (lease, attempts, limits) =>
    Effect.gen(function*() {
      if (attempts.length === 0) return { results: [], retryAt: undefined }
      const now = DateTime.toEpochMillis(attempts[0]!.startedAt)
      const callers = [...new Set(attempts.map((attempt) => attempt.callerNumberId))]
      yield* sql`SELECT pg_advisory_xact_lock(hashtextextended(${`outdial:organization:${limits.organizationId}`}, 0))`
      // Open attempts are calls in flight wherever they were begun, a dead process's included
      // until a takeover settles them: they may still be talking.
      const inFlight = limits.maxConcurrentCalls === null ? 0 : (yield* sql<{ readonly n: number }>`
        SELECT count(*)::int4 AS n FROM outdial_attempts a JOIN outdial_batches b ON b.id = a.batch_id
        WHERE a.state = 'dialing' AND b.organization_id = ${limits.organizationId}`)[0]!.n
      const recent = limits.maxCallsPerSecondPerNumber === null ? [] : yield* sql<
        { readonly caller_number_id: string; readonly started_at: Date }
      >`
        SELECT a.caller_number_id, a.started_at FROM outdial_attempts a JOIN outdial_batches b ON b.id = a.batch_id
        WHERE a.caller_number_id = ANY(${textArray(callers)}) AND a.started_at > ${new Date(now - 1_000)}
          AND b.organization_id = ${limits.organizationId}`
      const recentStarts = new Map<string, Array<number>>()
      for (const row of recent) {
        const starts = recentStarts.get(row.caller_number_id)
        if (starts === undefined) recentStarts.set(row.caller_number_id, [row.started_at.getTime()])
        else starts.push(row.started_at.getTime())
      }
      const { admitted, retryAt } = CallLimits.admit(
        limits,
        { inFlight, recentStarts },
        attempts.map((attempt) => attempt.callerNumberId),
        now
      )
      const begun = yield* batched.beginAttempts(lease, attempts.filter((_, i) => admitted[i]))
      let next = 0
      return { results: attempts.map((_, i) => admitted[i] ? begun[next++] : undefined), retryAt }
    }).pipe(
      sql.withTransaction,
      Effect.catchTag("SqlError", (cause) => Effect.fail(storeError("beginAttemptsWithin")(cause)))
    ),
  attemptsByNumber: (organizationId, numbers, since) =>
    sql<{ readonly phone: string; readonly started_at: Date; readonly outcome: string | null; readonly state: string }>`
      SELECT a.phone, a.started_at, a.outcome, a.state FROM outdial_attempts a JOIN outdial_batches b ON b.id = a.batch_id
      WHERE a.phone = ANY(${textArray(numbers)}) AND a.started_at >= ${DateTime.toDateUtc(since)}
        AND b.organization_id = ${organizationId}
      ORDER BY a.started_at`.pipe(
      Effect.map((rows) => {
        const found = new Map<string, { starts: Array<number>; connected: Array<number>; open: Array<number> }>()
        for (const row of rows) {
          let history = found.get(row.phone)
          if (history === undefined) found.set(row.phone, history = { starts: [], connected: [], open: [] })
          history.starts.push(row.started_at.getTime())
          if (row.outcome === "completed") history.connected.push(row.started_at.getTime())
          else if (row.state === "dialing") history.open.push(row.started_at.getTime())
        }
        return found as ReadonlyMap<string, NumberHistory>
      }),
      Effect.mapError(storeError("attemptsByNumber"))
    )
})
