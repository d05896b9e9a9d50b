/**
 * What the PostgreSQL and HTTP benches share: a database to run in, a
 * batch of a million contacts with statuses spread as a half-done batch
 * would have them, and latency percentiles.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { BatchStore, Directory, Engine, EngineEvents, SimulatedTelephony } from "@outdial/core"
import * as StoreFixtures from "@outdial/testing/StoreFixtures"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as SqlClient from "effect/sql/SqlClient"
import { createDatabase, isReachable, serverUrl } from "../packages/adapter-postgres/test/database.ts"

export const contactStatuses = ["completed", "no_answer", "busy", "pending", "queued"] as const

export const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

/** p50 and p95 of `runs` timed calls of `read(i)`, after 50 untimed ones. */
export const latencies = async (read: (i: number) => Promise<unknown>, runs = 400) => {
  for (let i = 0; i < 50; i++) await read(i)
  const times: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await read(i)
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  return { p50: round(percentile(times, 0.5)), p95: round(percentile(times, 0.95)) }
}

/** A fresh database on the machine's PostgreSQL, or exit with the reason. */
export const benchDatabase = async (prefix: string) => {
  if (!(await isReachable())) {
    console.log(`this bench needs a PostgreSQL server; none reachable at ${serverUrl}`)
    process.exit(1)
  }
  return createDatabase(prefix)
}

/**
 * Stores a running batch of `count` contacts in one create (timed, with the
 * WAL the server wrote meanwhile: where the disk is slow, it bounds the
 * create), then gives them the statuses of a half-done batch, counters kept
 * true.
 */
export const largeBatch = (organizationId: string, count: number) =>
  Effect.gen(function*() {
    const store = yield* BatchStore.BatchStore
    const sql = yield* SqlClient.SqlClient
    const batch = StoreFixtures.makeBatch({ status: "running", organizationId })
    const contacts = StoreFixtures.newContacts(count)
    const [before] = yield* sql<{ readonly lsn: string }>`SELECT pg_current_wal_lsn()::text AS lsn`
    const started = performance.now()
    yield* store.createBatch(batch, contacts)
    const ingestSeconds = (performance.now() - started) / 1000
    const [written] = yield* sql<{ readonly bytes: string }>`
      SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${before!.lsn}::pg_lsn)::text AS bytes`
    const ingestWalBytes = Number(written!.bytes)

    yield* sql`UPDATE outdial_contacts SET status = CASE
                 WHEN position % 10 < 3 THEN 'completed' WHEN position % 10 = 3 THEN 'no_answer'
                 WHEN position % 10 = 4 THEN 'queued' WHEN position % 20 = 5 THEN 'busy' ELSE status END
               WHERE batch_id = ${batch.id}`
    yield* sql`DELETE FROM outdial_counters WHERE batch_id = ${batch.id}`
    yield* sql`INSERT INTO outdial_counters (batch_id, shard, n_pending, n_completed, n_no_answer, n_queued, n_busy)
               SELECT ${batch.id}, 0, count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'completed'),
                      count(*) FILTER (WHERE status = 'no_answer'), count(*) FILTER (WHERE status = 'queued'),
                      count(*) FILTER (WHERE status = 'busy')
               FROM outdial_contacts WHERE batch_id = ${batch.id}`
    yield* sql`VACUUM ANALYZE outdial_contacts`.pipe(Effect.ignore)
    return { batchId: batch.id, ingestSeconds, ingestWalBytes }
  })

/**
 * The engine the benches behind HTTP serve: PostgreSQL at `url`, simulated
 * calls, one agent (`agent`) of `organizationId` with one caller number.
 */
export const servedEngine = (url: string, organizationId: string) =>
  Engine.layerWith({
    store: PgStorage.layer({ url: Redacted.make(url), maxConnections: 10 }),
    telephony: SimulatedTelephony.layer({ record: false }),
    directory: Directory.layerStatic({
      agents: [{ id: "agent", organizationId, ready: true, phoneNumberIds: ["num_1"] }],
      callerNumbers: [{ id: "num_1", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent" }]
    }),
    events: EngineEvents.layer({ capacity: 16 })
  })
