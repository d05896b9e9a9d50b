/**
 * Migration 7: outgoing webhooks. Endpoints; the changes waiting to be sent
 * (the webhook outbox), written by triggers in the transaction of every
 * batch status change and every contact change, so no write path can forget
 * them; and one delivery per change and subscribed endpoint.
 *
 * The triggers record a change only while its organization has an enabled
 * endpoint: without webhooks, a dial costs one index probe more. The contact
 * trigger runs once per statement over its transition tables, so a batched
 * write of a hundred contacts records them with one INSERT. A change's
 * `sequence` is drawn while the statement still holds the contact's row lock,
 * so it grows per contact in the order the changes were made.
 */
import * as Effect from "effect/Effect"
import * as SqlClient from "effect/sql/SqlClient"

export const migration = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE outdial_webhook_endpoints (
      id text PRIMARY KEY,
      organization_id text NOT NULL,
      url text NOT NULL,
      description text,
      event_types text[] NOT NULL DEFAULT '{}',
      enabled boolean NOT NULL,
      disabled_reason text,
      secret text NOT NULL,
      failing_since timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX outdial_webhook_endpoints_by_organization ON outdial_webhook_endpoints (organization_id, created_at, id)`
  yield* sql`
    CREATE TABLE outdial_webhook_changes (
      sequence bigserial PRIMARY KEY,
      organization_id text NOT NULL,
      change jsonb NOT NULL
    )`
  // The payload is text, not jsonb: the bytes signed are the bytes sent, on every retry.
  yield* sql`
    CREATE TABLE outdial_webhook_deliveries (
      id bigserial PRIMARY KEY,
      endpoint_id text NOT NULL REFERENCES outdial_webhook_endpoints (id) ON DELETE CASCADE,
      organization_id text NOT NULL,
      message_id text NOT NULL,
      event_type text NOT NULL,
      payload text NOT NULL,
      status text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz,
      claimed_by text,
      claim_expires_at timestamptz,
      last_response_code integer,
      last_latency_ms integer,
      last_error text,
      created_at timestamptz NOT NULL,
      delivered_at timestamptz,
      updated_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX outdial_webhook_deliveries_due ON outdial_webhook_deliveries (next_attempt_at, id) WHERE status = 'pending'`
  yield* sql`CREATE INDEX outdial_webhook_deliveries_by_endpoint ON outdial_webhook_deliveries (endpoint_id, id DESC)`
  yield* sql`CREATE INDEX outdial_webhook_deliveries_finished ON outdial_webhook_deliveries (updated_at) WHERE status <> 'pending'`

  yield* sql.unsafe(`
    CREATE FUNCTION outdial_webhook_batch_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.status IS NOT DISTINCT FROM NEW.status THEN RETURN NULL; END IF;
      IF NOT EXISTS (
        SELECT 1 FROM outdial_webhook_endpoints WHERE organization_id = NEW.organization_id AND enabled
      ) THEN RETURN NULL; END IF;
      INSERT INTO outdial_webhook_changes (organization_id, change) VALUES (NEW.organization_id, jsonb_build_object(
        'kind', 'batch',
        'organizationId', NEW.organization_id,
        'batchId', NEW.id,
        'previousStatus', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status END,
        'status', NEW.status,
        'name', NEW.settings->>'name',
        'agentId', NEW.agent_id,
        'totalContacts', NEW.total_contacts));
      RETURN NULL;
    END $$`)
  yield* sql.unsafe(`
    CREATE TRIGGER outdial_webhook_batch_change AFTER INSERT OR UPDATE OF status ON outdial_batches
    FOR EACH ROW EXECUTE FUNCTION outdial_webhook_batch_change()`)

  yield* sql.unsafe(`
    CREATE FUNCTION outdial_webhook_contact_changes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO outdial_webhook_changes (organization_id, change)
      SELECT b.organization_id, jsonb_build_object(
        'kind', 'contact',
        'organizationId', b.organization_id,
        'batchId', n.batch_id,
        'previousStatus', o.status,
        'contact', jsonb_build_object(
          'id', 'c' || n.position,
          'phone', n.phone,
          'name', n.name,
          'externalId', n.external_id,
          'status', n.status,
          'attemptCount', n.attempt_count,
          'maxAttempts', n.max_attempts,
          'errorCode', n.error_code,
          'failureReason', n.failure_reason,
          'callDuration', n.call_duration,
          'roomName', n.room_name,
          'nextRetryAt', n.next_retry_at,
          'completedAt', n.completed_at,
          'decision', n.last_decision))
      FROM new_rows n
      JOIN old_rows o ON o.batch_id = n.batch_id AND o.position = n.position
      JOIN outdial_batches b ON b.id = n.batch_id
      WHERE (o.status <> n.status
             OR (n.last_decision->>'kind' = 'defer' AND n.last_decision IS DISTINCT FROM o.last_decision))
        AND EXISTS (SELECT 1 FROM outdial_webhook_endpoints e WHERE e.organization_id = b.organization_id AND e.enabled)
      ORDER BY n.batch_id, n.position;
      RETURN NULL;
    END $$`)
  yield* sql.unsafe(`
    CREATE TRIGGER outdial_webhook_contact_changes AFTER UPDATE ON outdial_contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION outdial_webhook_contact_changes()`)
})
