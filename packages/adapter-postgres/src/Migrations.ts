/**
 * The database schema, as forward-only numbered migrations run by effect's
 * SQL `Migrator`. Every process runs them at start; the migrator locks its
 * table, so processes starting together migrate once.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import * as Contact from "@outdial/core/Contact"
import * as WebhookSchema from "./internal/webhookSchema.ts"

/**
 * The counter column of a contact status in `outdial_counters`.
 *
 * @since 0.1.0
 * @category schema
 */
export const counterColumn = (status: Contact.ContactStatus): string => `n_${status}`

/**
 * Rows of counters per batch.
 *
 * @since 0.1.0
 * @category schema
 */
export const counterShards = 16

const initial = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // A batch's settings are one JSON document: the engine reads and writes
  // them whole, and only the columns beside it are ever filtered on.
  yield* sql`
    CREATE TABLE outdial_batches (
      id text PRIMARY KEY,
      organization_id text NOT NULL,
      agent_id text NOT NULL,
      status text NOT NULL,
      created_at timestamptz NOT NULL,
      total_contacts integer NOT NULL DEFAULT 0,
      next_position integer NOT NULL DEFAULT 0,
      settings jsonb NOT NULL
    )`
  yield* sql`CREATE INDEX outdial_batches_by_organization ON outdial_batches (organization_id, created_at DESC, id DESC)`
  yield* sql`
    CREATE INDEX outdial_batches_active ON outdial_batches (id)
    WHERE status IN ('pending', 'scheduled', 'running')`

  // The dispatch lease. Every dialing write holds this row FOR SHARE while it
  // still carries the writer's epoch: writes of the holder run side by side,
  // and a takeover (an UPDATE) waits for those in progress, or they see it.
  yield* sql`
    CREATE TABLE outdial_leases (
      batch_id text PRIMARY KEY,
      owner_id text,
      epoch integer NOT NULL DEFAULT 0,
      expires_at timestamptz
    )`

  // Status counters, split over a few rows per batch so that concurrent
  // writes rarely wait for one another; a read sums them.
  const counters = Contact.statuses.map((status) => `${counterColumn(status)} integer NOT NULL DEFAULT 0`).join(",\n")
  yield* sql.unsafe(`
    CREATE TABLE outdial_counters (
      batch_id text NOT NULL,
      shard smallint NOT NULL,
      ${counters},
      PRIMARY KEY (batch_id, shard)
    )`)

  // A contact's id is `c` and its position, which orders the batch's rows.
  yield* sql`
    CREATE TABLE outdial_contacts (
      batch_id text NOT NULL,
      position integer NOT NULL,
      row_number integer NOT NULL,
      phone text NOT NULL,
      name text,
      external_id text,
      custom_fields jsonb NOT NULL,
      status text NOT NULL,
      attempt_count integer NOT NULL DEFAULT 0,
      max_attempts integer NOT NULL,
      last_attempt_at timestamptz,
      next_retry_at timestamptz,
      completed_at timestamptz,
      error_code integer,
      failure_reason text,
      call_duration double precision,
      room_name text,
      last_decision jsonb,
      PRIMARY KEY (batch_id, position)
    )`
  yield* sql`
    CREATE UNIQUE INDEX outdial_contacts_external_id ON outdial_contacts (batch_id, external_id)
    WHERE external_id IS NOT NULL`
  yield* sql`CREATE INDEX outdial_contacts_by_status ON outdial_contacts (batch_id, status, position)`
  // Waiting contacts: due ones by time, then the rest (no due time) in row order.
  yield* sql`
    CREATE INDEX outdial_contacts_waiting ON outdial_contacts (batch_id, next_retry_at, position)
    WHERE status IN ('pending', 'queued')`

  // One row per dial, written before the provider is called. `previous_*`
  // keep what the contact was, so an attempt the provider never saw can be
  // undone exactly.
  yield* sql`
    CREATE TABLE outdial_attempts (
      id text PRIMARY KEY,
      batch_id text NOT NULL,
      contact_position integer NOT NULL,
      attempt_number integer NOT NULL,
      state text NOT NULL,
      owner_epoch integer NOT NULL,
      caller_number_id text NOT NULL,
      local_date text NOT NULL,
      started_at timestamptz NOT NULL,
      ended_at timestamptz,
      outcome text,
      sip_code integer,
      duration double precision,
      room_name text,
      failure_reason text,
      previous_status text NOT NULL,
      previous_next_retry_at timestamptz,
      previous_last_attempt_at timestamptz,
      previous_last_decision jsonb,
      UNIQUE (batch_id, contact_position, attempt_number)
    )`
  yield* sql`CREATE INDEX outdial_attempts_by_day ON outdial_attempts (batch_id, local_date)`
  yield* sql`CREATE INDEX outdial_attempts_open ON outdial_attempts (batch_id) WHERE state = 'dialing'`

  yield* sql`
    CREATE TABLE outdial_idempotency_keys (
      scope text NOT NULL,
      key text NOT NULL,
      fingerprint text NOT NULL,
      completed boolean NOT NULL DEFAULT false,
      response jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (scope, key)
    )`

  // Lifecycle changes, written in the transaction that makes them, for
  // hosts (and other processes) to follow in commit order.
  yield* sql`
    CREATE TABLE outdial_events (
      id bigserial PRIMARY KEY,
      batch_id text NOT NULL,
      organization_id text NOT NULL,
      type text NOT NULL,
      status text,
      origin text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX outdial_events_by_batch ON outdial_events (batch_id, id)`
})

// Retention deletes by age, so both tables get an index on their time
// column; `outdial_maintenance` records when a task last ran, for processes
// sharing the database to take turns instead of repeating each other's work.
const retention = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX outdial_idempotency_keys_by_age ON outdial_idempotency_keys (created_at)`
  yield* sql`CREATE INDEX outdial_events_by_age ON outdial_events (created_at)`
  yield* sql`
    CREATE TABLE outdial_maintenance (
      task text PRIMARY KEY,
      ran_at timestamptz NOT NULL
    )`
})

// A number kept as written under `ignoreE164Validation` is marked so: the
// contacts stored before were all validated.
const numberValidated = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE outdial_contacts ADD COLUMN number_validated boolean NOT NULL DEFAULT true`
})

// A contact's decisions (ContactHistory), each written by the statement that
// records it, numbered per contact by `decision_count` so that the same
// statement can forget the one that falls out of the latest
// `ContactHistory.decisionsKept` by primary key. And the indexes of a
// contacts search (ContactSearch): trigram GIN indexes on the lower-cased
// name and on the phone serve `LIKE '%…%'` on either, however deep in a big
// batch the matches lie, and a B-tree on the phone in code-unit order serves
// a number's prefix as a range. pg_trgm ships with PostgreSQL (contrib) and
// PGlite; where it cannot be created a substring search still works, by
// reading the batch's rows.
const contactHistoryAndSearch = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Adding a column with a constant default rewrites nothing (PostgreSQL 11+).
  yield* sql`ALTER TABLE outdial_contacts ADD COLUMN decision_count integer NOT NULL DEFAULT 0`
  yield* sql`
    CREATE TABLE outdial_decisions (
      batch_id text NOT NULL,
      contact_position integer NOT NULL,
      seq integer NOT NULL,
      decision jsonb NOT NULL,
      PRIMARY KEY (batch_id, contact_position, seq)
    )`
  yield* sql`CREATE INDEX outdial_contacts_phone_prefix ON outdial_contacts (batch_id, phone COLLATE "C")`
  // In its own subtransaction: a refusal (no contrib, no privilege) must not undo the migration.
  yield* sql.unsafe(`
    DO $$ BEGIN
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'pg_trgm is not available: contact searches read the batch without an index';
    END $$`)
  const trigrams = yield* sql<{ present: boolean }>`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS present`
  if (trigrams[0]?.present === true) {
    yield* sql`CREATE INDEX outdial_contacts_name_trgm ON outdial_contacts USING gin (lower(name) gin_trgm_ops)`
    yield* sql`CREATE INDEX outdial_contacts_phone_trgm ON outdial_contacts USING gin (phone gin_trgm_ops)`
  }
})

// Lawful, paced calling across batches: the organizations' do-not-call lists;
// each attempt keeps the number it dialed (backfilled), indexed by number and
// time for frequency caps and by caller number and time for calls per second.
const callLimits = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE outdial_do_not_call (
      organization_id text NOT NULL,
      number text NOT NULL,
      source text NOT NULL,
      expires_at timestamptz,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (organization_id, number)
    )`
  yield* sql`ALTER TABLE outdial_attempts ADD COLUMN phone text`
  yield* sql`
    UPDATE outdial_attempts a SET phone = c.phone FROM outdial_contacts c
    WHERE c.batch_id = a.batch_id AND c.position = a.contact_position`
  yield* sql`CREATE INDEX outdial_attempts_by_phone ON outdial_attempts (phone, started_at)`
  yield* sql`CREATE INDEX outdial_attempts_by_caller ON outdial_attempts (caller_number_id, started_at)`
})

/**
 * What a contacts search looks in: the lower-cased name and the number, one
 * text per contact (`ContactSearch` matches either). Its trigram index is
 * the only one a search needs (internal/search.ts).
 *
 * @since 0.1.0
 * @category schema
 */
export const searchText = "(lower(coalesce(name, '')) || ' ' || phone)"

// One trigram index on the name and number together replaces migration 4's
// three search indexes (trigrams of the name, of the phone, and the phone's
// B-tree), which every ingested contact paid for: a search finds its
// candidates by its rare stretches, which one index serves for names, digits
// and prefixes alike (internal/search.ts).
const contactSearchText = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP INDEX IF EXISTS outdial_contacts_phone_prefix`
  yield* sql`DROP INDEX IF EXISTS outdial_contacts_name_trgm`
  yield* sql`DROP INDEX IF EXISTS outdial_contacts_phone_trgm`
  const trigrams = yield* sql<{ present: boolean }>`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS present`
  if (trigrams[0]?.present === true) {
    yield* sql.unsafe(`CREATE INDEX outdial_contacts_search ON outdial_contacts USING gin (${searchText} gin_trgm_ops)`)
  }
})

// A contact waiting with no due time (every contact an ingest stores) is kept
// by one index alone, the ready index, in row order: the dispatcher's next
// contacts and a waiting status's page read it (internal/contactPages.ts). The
// status index leaves it out, and the waiting index splits in two (due times,
// ready), so that a stored contact enters one B-tree fewer: a tenth of an
// ingest's time on the server. The ready index carries the status and the
// status index the due time, so that a page number of a waiting status is
// counted over both without visiting rows.
const readyContactsApart = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP INDEX outdial_contacts_by_status`
  yield* sql`
    CREATE INDEX outdial_contacts_by_status ON outdial_contacts (batch_id, status, position) INCLUDE (next_retry_at)
    WHERE status NOT IN ('pending', 'queued') OR next_retry_at IS NOT NULL`
  yield* sql`DROP INDEX outdial_contacts_waiting`
  yield* sql`
    CREATE INDEX outdial_contacts_due ON outdial_contacts (batch_id, next_retry_at, position)
    WHERE status IN ('pending', 'queued') AND next_retry_at IS NOT NULL`
  yield* sql`
    CREATE INDEX outdial_contacts_ready ON outdial_contacts (batch_id, position) INCLUDE (status)
    WHERE status IN ('pending', 'queued') AND next_retry_at IS NULL`
})

/**
 * The migrations, by number.
 *
 * @since 0.1.0
 * @category migrations
 */
export const loader: Migrator.Loader = Migrator.fromRecord({
  "1_initial": initial,
  "2_retention": retention,
  "3_number_validated": numberValidated,
  "4_contact_history_and_search": contactHistoryAndSearch,
  "5_call_limits": callLimits,
  "7_webhooks": WebhookSchema.migration,
  "8_contact_search_text": contactSearchText,
  "9_ready_contacts_apart": readyContactsApart
})

/**
 * Brings the database up to date; safe to run from several processes at once.
 *
 * @since 0.1.0
 * @category migrations
 */
export const run = Migrator.make({})({ loader, table: "outdial_migrations" })
