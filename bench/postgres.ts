/**
 * The PostgreSQL store on the machine's PostgreSQL (a fresh database, dropped
 * afterwards):
 *
 * (a) ingest: one 1,000,000-contact batch created in one transaction, rows/s
 *     (on a quiet server: after a CHECKPOINT and any vacuum still running, so
 *     earlier sections' writes are not flushed or vacuumed inside it), and the
 *     WAL the server wrote meanwhile (`ingestWalMB`): the work the disk must
 *     take, which bounds the create where it is slow;
 * (b) batch read at 1,000,000 contacts (statuses spread as a batch half done):
 *     the batch, its progress counters and a status-filtered page of 50,
 *     p50 / p95 over 400 reads (pages drawn from the first 200 of the status);
 * (c) dispatch: engines dialing a 10,000-contact batch with instant calls,
 *     limit 100, dials per second; and pg-boss on the same database doing the
 *     same claim-and-complete work (10,000 jobs; workers each claiming one
 *     job and completing it; the best of 10, 20, 50 and 100 workers), jobs
 *     per second; and the ratio. Beside it the raw SQL floor: plain SQL on
 *     the same database claiming a job (`FOR UPDATE SKIP LOCKED`) and
 *     completing it, two transactions a job, the same 10,000 jobs and worker
 *     counts (the best of them), jobs per second (`rawPerSec`), and
 *     `rawRatio` = dispatch/s ÷ raw. Dispatch runs first, on a fresh database.
 * (d) deep pages of the 1,000,000-contact batch: the page 18,000 deep
 *     (contacts 899,951–900,000, 50 a page) read by page number and by
 *     cursor (`after` the previous page's last contact), p50 / p95 over 400
 *     reads each; `deepPageP95Ms` is the slower path's p95; beside them the
 *     OFFSET read used before (100 reads), the baseline. And, for the
 *     record, the deepest page of one status (pending, ~9,000 pages of 50)
 *     both ways: a page number there is found by counting (see listContacts).
 *
 * `BENCH_ONLY=ingest` runs (a) alone (last line {"ingestRowsPerSec","ingestWalMB"}).
 *
 * Last line JSON: {"ingestRowsPerSec","ingestWalMB","readP50Ms","readP95Ms","deepPage…","dispatchPerSec","pgBossPerSec","ratio","rawPerSec","rawRatio"}.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { BatchStore, Credits, Directory, Dispatcher, Engine, EngineConfig, EngineEvents, Telephony } from "@outdial/core"
import { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import PgBoss from "pg-boss"
import { benchDatabase, contactStatuses, largeBatch, latencies, round } from "./largeBatch.ts"

const ingestContacts = Number(process.env.BENCH_CONTACTS ?? 1_000_000)
const dispatchContacts = 10_000
const limit = 100
const organizationId = "org_bench"

/**
 * The server quiet before a timed write: the writes before it (dispatch, pg-boss, raw SQL, or
 * another run) flushed, and no vacuum of theirs or other statement still running (at most 60 s).
 * A checkpoint or a vacuum of theirs landing inside the timed create cost it a fifth to a third.
 * The checkpoint needs a superuser; skipped otherwise.
 */
const quiet = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* Effect.ignore(sql`CHECKPOINT`)
  for (let i = 0; i < 120; i++) {
    const [busy] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE pid <> pg_backend_pid() AND (backend_type = 'autovacuum worker' OR state = 'active')`
    if (busy === undefined || busy.n === 0) return
    yield* Effect.sleep(500)
  }
})

const ingest = Effect.gen(function*() {
  yield* quiet
  const { batchId, ingestSeconds, ingestWalBytes } = yield* largeBatch(organizationId, ingestContacts)
  const ingestRowsPerSec = Math.round(ingestContacts / ingestSeconds)
  const ingestWalMB = Math.round(ingestWalBytes / 1e6)
  console.log(`(a) ingest: ${ingestContacts.toLocaleString()} contacts in ${ingestSeconds.toFixed(2)} s = ${ingestRowsPerSec.toLocaleString()} rows/s; WAL ${ingestWalMB.toLocaleString()} MB (${Math.round(ingestWalMB / ingestSeconds)} MB/s)`)
  return { batchId, ingestRowsPerSec, ingestWalMB }
})

const ingestAndRead = Effect.gen(function*() {
  const store = yield* BatchStore.BatchStore
  const { batchId, ingestRowsPerSec, ingestWalMB } = yield* ingest

  const read = (i: number) =>
    Effect.runPromise(Effect.all([
      store.getBatch(organizationId, batchId),
      store.statusBreakdown(batchId),
      store.listContacts(batchId, { status: contactStatuses[i % contactStatuses.length], page: 1 + ((i * 7919) % 200), pageSize: 50 })
    ], { concurrency: "unbounded" }))
  const { p50: readP50Ms, p95: readP95Ms } = yield* Effect.promise(() => latencies(read))
  console.log(`(b) batch read at ${ingestContacts.toLocaleString()} contacts: p50 ${readP50Ms} ms, p95 ${readP95Ms} ms`)

  // (d) The page 18,000 deep (fewer in a smaller run), by page number and by cursor.
  const deepPage = Math.min(18_000, Math.floor(ingestContacts / 50))
  const previous = yield* store.listContacts(batchId, { page: deepPage - 1, pageSize: 50 })
  const deepAfter = previous.items.at(-1)!.id
  const byPage = yield* store.listContacts(batchId, { page: deepPage, pageSize: 50 })
  const byCursor = yield* store.listContacts(batchId, { page: 1, pageSize: 50, after: deepAfter })
  if (byPage.items.length !== 50 || byPage.items.map((c) => c.id).join() !== byCursor.items.map((c) => c.id).join()) {
    throw new Error("the deep page differs by page number and by cursor")
  }
  const timed = (options: Parameters<typeof store.listContacts>[1]) =>
    Effect.promise(() => latencies(() => Effect.runPromise(store.listContacts(batchId, options))))
  const pagePath = yield* timed({ page: deepPage, pageSize: 50 })
  const cursorPath = yield* timed({ page: 1, pageSize: 50, after: deepAfter })
  // The baseline: the OFFSET read listContacts made before, in the same run.
  const sql = yield* SqlClient.SqlClient
  const offsetPath = yield* Effect.promise(() =>
    latencies(() =>
      Effect.runPromise(sql`SELECT * FROM outdial_contacts c WHERE c.batch_id = ${batchId}
                            ORDER BY c.position LIMIT 50 OFFSET ${(deepPage - 1) * 50}`), 100)
  )
  console.log(`(d) page ${deepPage.toLocaleString()} of 50: by page number p50 ${pagePath.p50} ms, p95 ${pagePath.p95} ms; by cursor p50 ${cursorPath.p50} ms, p95 ${cursorPath.p95} ms; OFFSET (before) p50 ${offsetPath.p50} ms, p95 ${offsetPath.p95} ms`)
  const pending = (yield* store.statusBreakdown(batchId)).pending
  const statusPage = Math.floor(pending / 50)
  const statusPrevious = yield* store.listContacts(batchId, { status: "pending", page: statusPage - 1, pageSize: 50 })
  const statusAfter = statusPrevious.items.at(-1)!.id
  const statusPagePath = yield* timed({ status: "pending", page: statusPage, pageSize: 50 })
  const statusCursorPath = yield* timed({ status: "pending", page: 1, pageSize: 50, after: statusAfter })
  console.log(`    pending page ${statusPage.toLocaleString()} of 50: by page number (counted) p50 ${statusPagePath.p50} ms, p95 ${statusPagePath.p95} ms; by cursor p50 ${statusCursorPath.p50} ms, p95 ${statusCursorPath.p95} ms`)
  return {
    ingestRowsPerSec,
    ingestWalMB,
    readP50Ms,
    readP95Ms,
    deepPageP95Ms: Math.max(pagePath.p95, cursorPath.p95),
    deepPageByPageP95Ms: pagePath.p95,
    deepPageByCursorP95Ms: cursorPath.p95,
    deepPageOffsetBaselineP95Ms: offsetPath.p95,
    deepStatusPageByPageP95Ms: statusPagePath.p95,
    deepStatusPageByCursorP95Ms: statusCursorPath.p95
  }
})

const instant: Telephony.CallResult = { outcome: "completed", sipCode: null, duration: 1, roomName: null, failureReason: null }
const instantTelephony = Layer.succeed(Telephony.Telephony)({
  dial: () => Effect.succeed(instant),
  lookup: () => Effect.succeed({ _tag: "NotFound" } as const)
})
const directory = Directory.layerStatic({
  agents: [{ id: "agent", organizationId, ready: true, phoneNumberIds: ["num_1"] }],
  callerNumbers: [{ id: "num_1", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent" }]
})

const dispatch = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const store = yield* BatchStore.BatchStore
  const created = yield* engine.createBatch(organizationId, {
    name: "Dispatch bench",
    agentId: "agent",
    concurrentCallLimit: limit,
    maxAttempts: 1,
    timezone: "UTC",
    workingDays: [1, 2, 3, 4, 5, 6, 7],
    callingWindow: { start: "00:00", end: "24:00" },
    draft: true,
    contacts: Array.from({ length: dispatchContacts }, (_, i) => ({ phone: `+49151${20_000_000 + i}` }))
  })
  const started = performance.now()
  yield* engine.schedule(organizationId, created.batchJobId, {})
  for (;;) {
    const batch = yield* store.findBatch(created.batchJobId)
    if (batch?.status === "completed") break
    yield* Effect.sleep(20)
  }
  const seconds = (performance.now() - started) / 1000
  return Math.round(dispatchContacts / seconds)
})

/** pg-boss claiming and completing one job at a time with `workers` workers; jobs per second. */
const pgBoss = async (url: string, workers: number) => {
  const boss = new PgBoss({ connectionString: url, max: 20, supervise: false, schedule: false })
  boss.on("error", (error: unknown) => console.error(error))
  await boss.start()
  const queue = `dial_${workers}`
  await boss.createQueue(queue)
  for (let i = 0; i < dispatchContacts; i += 1_000) {
    await boss.insert(Array.from({ length: 1_000 }, (_, j) => ({ name: queue, data: { contact: i + j } })))
  }
  const started = performance.now()
  let done = 0
  await Promise.all(Array.from({ length: workers }, async () => {
    for (;;) {
      const jobs = await boss.fetch(queue, { batchSize: 1 })
      if (jobs.length === 0) return
      await boss.complete(queue, jobs[0]!.id)
      done++
    }
  }))
  const seconds = (performance.now() - started) / 1000
  await boss.stop({ graceful: false, wait: true })
  return Math.round(done / seconds)
}

/**
 * The raw SQL floor: `workers` workers each claiming one job (`FOR UPDATE SKIP
 * LOCKED`, its own transaction) and completing it (a second one); jobs per second.
 */
const rawSql = (url: string, workers: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const table = sql(`raw_jobs_${workers}`)
    yield* sql`CREATE TABLE ${table} (id bigserial PRIMARY KEY, state text NOT NULL DEFAULT 'created', data jsonb)`
    yield* sql`INSERT INTO ${table} (data) SELECT jsonb_build_object('contact', i) FROM generate_series(1, ${dispatchContacts}) i`
    yield* sql`VACUUM ANALYZE ${table}`
    const started = performance.now()
    let done = 0
    yield* Effect.forEach(Array.from({ length: workers }), () =>
      Effect.gen(function*() {
        for (;;) {
          const claimed = yield* sql<{ id: string }>`
            UPDATE ${table} SET state = 'active'
            WHERE id = (SELECT id FROM ${table} WHERE state = 'created' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id`
          if (claimed.length === 0) return
          yield* sql`UPDATE ${table} SET state = 'completed' WHERE id = ${claimed[0]!.id}`
          done++
        }
      }), { concurrency: "unbounded", discard: true })
    const seconds = (performance.now() - started) / 1000
    if (done !== dispatchContacts) throw new Error(`raw SQL completed ${done} jobs`)
    return Math.round(done / seconds)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 20 })))

const main = async () => {
  const database = await benchDatabase("outdial_bench")
  try {
    const storage = PgStorage.layer({ url: Redacted.make(database.url), maxConnections: 10 })
    if (process.env.BENCH_ONLY === "ingest") {
      // (a) alone, for working on ingest.
      const { ingestRowsPerSec, ingestWalMB } = await Effect.runPromise(Effect.scoped(Effect.provide(ingest, storage)))
      console.log(JSON.stringify({ ingestRowsPerSec, ingestWalMB }))
      return
    }
    // Dispatch first, so that neither side runs behind the vacuum of a million fresh rows.
    const engine = Engine.layer.pipe(
      Layer.provideMerge(Dispatcher.layer),
      Layer.provide(EngineConfig.layer({ maxContacts: dispatchContacts })),
      Layer.provideMerge(Layer.mergeAll(storage, instantTelephony, directory, Credits.layerUnlimited(), EngineEvents.layer({ capacity: 16 })))
    )
    const dispatchPerSec = await Effect.runPromise(Effect.scoped(Effect.provide(dispatch, engine)))
    console.log(`(c) dispatch, ${dispatchContacts.toLocaleString()} contacts, limit ${limit}, instant calls: ${dispatchPerSec.toLocaleString()} dials/s`)
    // pg-boss gets its best of several worker counts.
    const bossRuns: Array<[number, number]> = []
    for (const workers of [10, 20, 50, 100]) bossRuns.push([workers, await pgBoss(database.url, workers)])
    console.log(`    pg-boss 10 on the same database, claiming and completing one job at a time: ${
      bossRuns.map(([w, r]) => `${w} workers ${r.toLocaleString()} jobs/s`).join(", ")
    }`)
    const pgBossPerSec = Math.max(...bossRuns.map(([, r]) => r))
    const ratio = round(dispatchPerSec / pgBossPerSec)
    console.log(`    ratio to pg-boss's best: ${ratio}`)
    const rawRuns: Array<[number, number]> = []
    for (const workers of [10, 20, 50, 100]) rawRuns.push([workers, await Effect.runPromise(Effect.scoped(rawSql(database.url, workers)))])
    console.log(`    raw SQL on the same database, claim (SKIP LOCKED) + complete, two transactions a job: ${
      rawRuns.map(([w, r]) => `${w} workers ${r.toLocaleString()} jobs/s`).join(", ")
    }`)
    const rawPerSec = Math.max(...rawRuns.map(([, r]) => r))
    const rawRatio = round(dispatchPerSec / rawPerSec)
    console.log(`    ratio to raw SQL's best: ${rawRatio}`)

    const reads = await Effect.runPromise(Effect.scoped(Effect.provide(ingestAndRead, storage)))
    console.log(JSON.stringify({ ...reads, dispatchPerSec, pgBossPerSec, ratio, rawPerSec, rawRatio }))
  } finally {
    await database.drop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
