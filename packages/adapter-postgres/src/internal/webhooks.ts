/**
 * The `WebhookStore` on PostgreSQL: endpoints, the fan-out of the changes
 * the triggers recorded (migration 7) into deliveries, and deliveries
 * claimed with `FOR UPDATE SKIP LOCKED` and a lease, so engine processes
 * share the sending and a dead one's claims expire to the others.
 */
import type { StoreError } from "@outdial/core/OutdialError"
import type { EventType, StoredChange, WebhookChange } from "@outdial/core/WebhookPayload"
import type { Delivery, DeliveryStatus, WebhookEndpoint, WebhookStore } from "@outdial/core/WebhookStore"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { dateOf, int4Array, iso, storeError, textArray, utc } from "./rows.ts"

interface EndpointRow {
  readonly id: string
  readonly organization_id: string
  readonly url: string
  readonly description: string | null
  readonly event_types: ReadonlyArray<string>
  readonly enabled: boolean
  readonly disabled_reason: string | null
  readonly secret: string
  readonly failing_since: Date | null
  readonly created_at: Date
  readonly updated_at: Date
}

const toEndpoint = (row: EndpointRow): WebhookEndpoint => ({
  id: row.id,
  organizationId: row.organization_id,
  url: row.url,
  description: row.description,
  eventTypes: row.event_types as ReadonlyArray<EventType>,
  enabled: row.enabled,
  disabledReason: row.disabled_reason,
  secret: row.secret,
  failingSince: utc(row.failing_since),
  createdAt: DateTime.makeUnsafe(row.created_at),
  updatedAt: DateTime.makeUnsafe(row.updated_at)
})

interface DeliveryRow {
  readonly id: string
  readonly endpoint_id: string
  readonly message_id: string
  readonly event_type: string
  readonly status: DeliveryStatus
  readonly attempts: number
  readonly last_response_code: number | null
  readonly last_latency_ms: number | null
  readonly last_error: string | null
  readonly next_attempt_at: Date | null
  readonly created_at: Date
  readonly delivered_at: Date | null
}

const toDelivery = (row: DeliveryRow): Delivery => ({
  id: row.id,
  endpointId: row.endpoint_id,
  messageId: row.message_id,
  eventType: row.event_type as EventType,
  status: row.status,
  attempts: row.attempts,
  lastResponseCode: row.last_response_code,
  lastLatencyMillis: row.last_latency_ms,
  lastError: row.last_error,
  nextAttemptAt: utc(row.next_attempt_at),
  createdAt: DateTime.makeUnsafe(row.created_at),
  deliveredAt: utc(row.delivered_at)
})

const deliveryColumns = `id::text AS id, endpoint_id, message_id, event_type, status, attempts, last_response_code,
  last_latency_ms, last_error, next_attempt_at, created_at, delivered_at`

const date = DateTime.toDateUtc

export const make = (sql: SqlClient.SqlClient): WebhookStore => {
  const failed = (operation: string) => <A, R>(effect: Effect.Effect<A, SqlError, R>): Effect.Effect<A, StoreError, R> =>
    Effect.mapError(effect, storeError(operation))

  const getEndpoint = (organizationId: string, endpointId: string) =>
    sql<EndpointRow>`SELECT * FROM outdial_webhook_endpoints WHERE id = ${endpointId} AND organization_id = ${organizationId}`
      .pipe(Effect.map((rows) => rows[0] === undefined ? undefined : toEndpoint(rows[0])), failed("getEndpoint"))

  return {
    createEndpoint: (endpoint) =>
      sql`INSERT INTO outdial_webhook_endpoints
            (id, organization_id, url, description, event_types, enabled, disabled_reason, secret, failing_since,
             created_at, updated_at)
          VALUES (${endpoint.id}, ${endpoint.organizationId}, ${endpoint.url}, ${endpoint.description},
                  ${textArray(endpoint.eventTypes)}, ${endpoint.enabled}, ${endpoint.disabledReason}, ${endpoint.secret},
                  ${dateOf(endpoint.failingSince)}, ${date(endpoint.createdAt)}, ${date(endpoint.updatedAt)})`
        .pipe(Effect.asVoid, failed("createEndpoint")),
    listEndpoints: (organizationId) =>
      sql<EndpointRow>`SELECT * FROM outdial_webhook_endpoints WHERE organization_id = ${organizationId}
                       ORDER BY created_at, id`.pipe(Effect.map((rows) => rows.map(toEndpoint)), failed("listEndpoints")),
    getEndpoint,
    updateEndpoint: (organizationId, endpointId, patch) =>
      sql<EndpointRow>`
        UPDATE outdial_webhook_endpoints SET
          url = coalesce(${patch.url ?? null}, url),
          description = CASE WHEN ${patch.description !== undefined} THEN ${patch.description ?? null} ELSE description END,
          event_types = coalesce(${patch.eventTypes === undefined ? null : textArray(patch.eventTypes)}, event_types),
          secret = coalesce(${patch.secret ?? null}, secret),
          disabled_reason = CASE WHEN ${patch.enabled === true} THEN NULL ELSE disabled_reason END,
          failing_since = CASE WHEN ${patch.enabled === true} THEN NULL ELSE failing_since END,
          enabled = coalesce(${patch.enabled ?? null}, enabled),
          updated_at = ${date(patch.updatedAt)}
        WHERE id = ${endpointId} AND organization_id = ${organizationId}
        RETURNING *`.pipe(Effect.map((rows) => rows[0] === undefined ? undefined : toEndpoint(rows[0])), failed("updateEndpoint")),
    deleteEndpoint: (organizationId, endpointId) =>
      sql`DELETE FROM outdial_webhook_endpoints WHERE id = ${endpointId} AND organization_id = ${organizationId} RETURNING 1`
        .pipe(Effect.map((rows) => rows.length > 0), failed("deleteEndpoint")),
    recordChange: (change) =>
      sql`INSERT INTO outdial_webhook_changes (organization_id, change)
          SELECT ${change.organizationId}, ${JSON.stringify(change)}::jsonb
          WHERE EXISTS (SELECT 1 FROM outdial_webhook_endpoints WHERE organization_id = ${change.organizationId} AND enabled)`
        .pipe(Effect.asVoid, failed("recordChange")),
    fanOut: (limit, now, render) =>
      Effect.gen(function*() {
        // Taken and turned into deliveries in one transaction: a crash before the commit leaves the changes
        // to be taken again; SKIP LOCKED lets processes fan out side by side without taking one change twice.
        const taken = yield* sql<{ sequence: string; organization_id: string; change: WebhookChange }>`
          DELETE FROM outdial_webhook_changes WHERE sequence IN (
            SELECT sequence FROM outdial_webhook_changes ORDER BY sequence LIMIT ${limit} FOR UPDATE SKIP LOCKED)
          RETURNING sequence::text AS sequence, organization_id, change`
        if (taken.length === 0) return 0
        const organizations = [...new Set(taken.map((row) => row.organization_id))]
        const endpoints = yield* sql<{ id: string; organization_id: string; event_types: ReadonlyArray<string> }>`
          SELECT id, organization_id, event_types FROM outdial_webhook_endpoints
          WHERE enabled AND organization_id = ANY(${textArray(organizations)})`
        const rows = { endpoint: [] as Array<string>, organization: [] as Array<string>, message: [] as Array<string>, type: [] as Array<string>, payload: [] as Array<string> }
        const changes: Array<StoredChange> = taken
          .map((row) => ({ sequence: Number(row.sequence), change: row.change }))
          .sort((a, b) => a.sequence - b.sequence)
        for (const stored of changes) {
          const message = render(stored)
          if (message === undefined) continue
          const payload = JSON.stringify(message)
          for (const endpoint of endpoints) {
            if (endpoint.organization_id !== stored.change.organizationId) continue
            if (endpoint.event_types.length > 0 && !endpoint.event_types.includes(message.type)) continue
            rows.endpoint.push(endpoint.id)
            rows.organization.push(endpoint.organization_id)
            rows.message.push(message.id)
            rows.type.push(message.type)
            rows.payload.push(payload)
          }
        }
        if (rows.endpoint.length > 0) {
          yield* sql`
            INSERT INTO outdial_webhook_deliveries
              (endpoint_id, organization_id, message_id, event_type, payload, status, next_attempt_at, created_at, updated_at)
            SELECT e, o, m, t, p, 'pending', ${date(now)}, ${date(now)}, ${date(now)}
            FROM unnest(${textArray(rows.endpoint)}, ${textArray(rows.organization)}, ${textArray(rows.message)},
                        ${textArray(rows.type)}, ${textArray(rows.payload)}) AS d(e, o, m, t, p)`
        }
        return taken.length
      }).pipe(sql.withTransaction, failed("fanOut")),
    claimDue: ({ leaseMillis, limit, now, ownerId }) =>
      sql<{
        id: string
        message_id: string
        event_type: string
        payload: string
        attempts: number
        created_at: Date
        endpoint_id: string
        url: string
        secret: string
      }>`
        WITH due AS (
          SELECT d.id FROM outdial_webhook_deliveries d
          JOIN outdial_webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
          WHERE d.status = 'pending' AND d.next_attempt_at <= ${date(now)}
            AND (d.claim_expires_at IS NULL OR d.claim_expires_at <= ${date(now)})
          ORDER BY d.next_attempt_at, d.id
          LIMIT ${limit}
          FOR UPDATE OF d SKIP LOCKED)
        UPDATE outdial_webhook_deliveries d
        SET claimed_by = ${ownerId}, claim_expires_at = ${new Date(DateTime.toEpochMillis(now) + leaseMillis)},
            attempts = d.attempts + 1, updated_at = ${date(now)}
        FROM due, outdial_webhook_endpoints e
        WHERE d.id = due.id AND e.id = d.endpoint_id
        RETURNING d.id::text AS id, d.message_id, d.event_type, d.payload, d.attempts, d.created_at,
                  e.id AS endpoint_id, e.url, e.secret`.pipe(
        Effect.map((rows) =>
          rows.map((row) => ({
            id: row.id,
            messageId: row.message_id,
            eventType: row.event_type as EventType,
            payload: row.payload,
            attempt: row.attempts,
            createdAt: DateTime.makeUnsafe(row.created_at),
            endpoint: { id: row.endpoint_id, url: row.url, secret: row.secret }
          }))
        ),
        failed("claimDue")
      ),
    recordTries: (results) =>
      results.length === 0 ? Effect.void : sql`
        WITH r AS (
          SELECT * FROM unnest(${textArray(results.map((r) => r.deliveryId))}::bigint[],
                               ${int4Array(results.map((r) => r.attempt))}, ${textArray(results.map((r) => r.ownerId))},
                               ${textArray(results.map((r) => r.status))}, ${int4Array(results.map((r) => r.responseCode))},
                               ${int4Array(results.map((r) => Math.round(r.latencyMillis)))},
                               ${textArray(results.map((r) => r.error))},
                               ${textArray(results.map((r) => r.status === "pending" ? iso(r.nextAttemptAt) : null))}::timestamptz[],
                               ${textArray(results.map((r) => iso(r.at)))}::timestamptz[],
                               ${textArray(results.map((r) => iso(r.disableIfFailingSince)))}::timestamptz[],
                               ${textArray(results.map((r) => r.disableReason))})
            AS r(id, attempt, owner_id, status, code, latency, error, next_at, at, disable_if, reason)),
        d AS (
          UPDATE outdial_webhook_deliveries d SET
            status = r.status, claimed_by = NULL, claim_expires_at = NULL, last_response_code = r.code,
            last_latency_ms = r.latency, last_error = r.error, next_attempt_at = r.next_at,
            delivered_at = CASE WHEN r.status = 'delivered' THEN r.at END, updated_at = r.at
          FROM r
          WHERE d.id = r.id AND d.attempts = r.attempt AND d.claimed_by = r.owner_id
          RETURNING d.endpoint_id, r.status, r.at, r.disable_if, r.reason),
        x AS (
          SELECT endpoint_id, bool_or(status = 'delivered') AS delivered,
                 min(at) FILTER (WHERE status <> 'delivered') AS failed_at,
                 max(disable_if) FILTER (WHERE status <> 'delivered') AS disable_if,
                 (array_agg(reason ORDER BY at DESC) FILTER (WHERE status <> 'delivered'))[1] AS reason
          FROM d GROUP BY endpoint_id),
        -- Locked in id order: two senders recording tries of the same endpoints never wait on each other in a circle.
        locked AS (
          SELECT e.id FROM outdial_webhook_endpoints e JOIN x ON x.endpoint_id = e.id
          WHERE NOT x.delivered OR e.failing_since IS NOT NULL
          ORDER BY e.id
          FOR UPDATE OF e)
        UPDATE outdial_webhook_endpoints e SET
          failing_since = CASE WHEN x.delivered THEN NULL ELSE coalesce(e.failing_since, x.failed_at) END,
          enabled = e.enabled AND (x.delivered OR coalesce(e.failing_since, x.failed_at) > x.disable_if),
          disabled_reason = CASE WHEN NOT x.delivered AND coalesce(e.failing_since, x.failed_at) <= x.disable_if
                                 THEN x.reason ELSE e.disabled_reason END
        FROM x JOIN locked ON locked.id = x.endpoint_id
        WHERE e.id = x.endpoint_id`.pipe(Effect.asVoid, failed("recordTries")),
    listDeliveries: (organizationId, endpointId, { limit, status }) =>
      sql<DeliveryRow>`
        SELECT ${sql.unsafe(deliveryColumns)} FROM outdial_webhook_deliveries
        WHERE endpoint_id = ${endpointId} AND organization_id = ${organizationId}
          AND (${status ?? null}::text IS NULL OR status = ${status ?? null})
        ORDER BY id DESC LIMIT ${limit}`.pipe(Effect.map((rows) => rows.map(toDelivery)), failed("listDeliveries")),
    redeliver: (organizationId, endpointId, deliveryId, now) =>
      (/^\d{1,18}$/.test(deliveryId)
        ? sql<DeliveryRow>`
          UPDATE outdial_webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ${date(now)},
            claimed_by = NULL, claim_expires_at = NULL, delivered_at = NULL, updated_at = ${date(now)}
          WHERE id = ${deliveryId}::bigint AND endpoint_id = ${endpointId} AND organization_id = ${organizationId}
          RETURNING ${sql.unsafe(deliveryColumns)}`
        : Effect.succeed<ReadonlyArray<DeliveryRow>>([])).pipe(
          Effect.map((rows) => rows[0] === undefined ? undefined : toDelivery(rows[0])),
          failed("redeliver")
        ),
    pruneDeliveries: (before, limit) =>
      sql<{ count: number }>`
        WITH gone AS (
          DELETE FROM outdial_webhook_deliveries WHERE id IN (
            SELECT id FROM outdial_webhook_deliveries WHERE status <> 'pending' AND updated_at < ${date(before)} LIMIT ${limit})
          RETURNING 1)
        SELECT count(*)::int4 AS count FROM gone`.pipe(Effect.map((rows) => rows[0]?.count ?? 0), failed("pruneDeliveries")),
    pendingCount: sql<{ count: number }>`SELECT count(*)::int4 AS count FROM outdial_webhook_deliveries WHERE status = 'pending'`
      .pipe(Effect.map((rows) => rows[0]?.count ?? 0), failed("pendingCount"))
  }
}
