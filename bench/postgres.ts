/**
 * The PostgreSQL store on the machine's PostgreSQL (a fresh database, dropped
 * afterwards):
 *
 * (a) ingest: one 1,000,000-contact batch created in one transaction, rows/s;
 * (b) batch read at 1,000,000 contacts (statuses spread as a batch half done):
 *     the batch, its progress counters and a status-filtered page of 50,
 *     p50 / p95 over 400 reads (pages drawn from the first 200 of the status);
 * (c) dispatch: engines dialing a 10,000-contact batch with instant calls,
 *     limit 100, dials per second; and pg-boss on the same database doing the
 *     same claim-and-complete work (10,000 jobs; workers each claiming one
 *     job and completing it; the best of 10, 20, 50 and 100 workers), jobs
 *     per second; and the ratio. Dispatch runs first, on a fresh database.
 *
 * Last line JSON: {"ingestRowsPerSec","readP50Ms","readP95Ms","dispatchPerSec","pgBossPerSec","ratio"}.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { BatchStore, Credits, Directory, Dispatcher, Engine, EngineConfig, EngineEvents, Telephony } from "@outdial/core"
import * as BatchStoreSuite from "@outdial/core/BatchStoreSuite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as SqlClient from "effect/sql/SqlClient"
import PgBoss from "pg-boss"
import { createDatabase, isReachable, serverUrl } from "../packages/adapter-postgres/test/database.ts"

const ingestContacts = Number(process.env.BENCH_CONTACTS ?? 1_000_000)
const dispatchContacts = 10_000
const limit = 100
const organizationId = "org_bench"

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

const ingestAndRead = Effect.gen(function*() {
    const store = yield* BatchStore.BatchStore
    const sql = yield* SqlClient.SqlClient
    const batch = BatchStoreSuite.makeBatch({ status: "running", organizationId })
    const contacts = BatchStoreSuite.newContacts(ingestContacts)
    const started = performance.now()
    yield* store.createBatch(batch, contacts)
    const ingestSeconds = (performance.now() - started) / 1000
    const ingestRowsPerSec = Math.round(ingestContacts / ingestSeconds)
    console.log(`(a) ingest: ${ingestContacts.toLocaleString()} contacts in ${ingestSeconds.toFixed(2)} s = ${ingestRowsPerSec.toLocaleString()} rows/s`)

    // Spread statuses as a half-done batch would have them, and keep the counters true.
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

    const statuses = ["completed", "no_answer", "busy", "pending", "queued"] as const
    const read = (i: number) =>
      Effect.all([
        store.getBatch(organizationId, batch.id),
        store.statusBreakdown(batch.id),
        store.listContacts(batch.id, { status: statuses[i % statuses.length], page: 1 + ((i * 7919) % 200), pageSize: 50 })
      ], { concurrency: "unbounded" })
    for (let i = 0; i < 50; i++) yield* read(i) // warm up
    const times: Array<number> = []
    for (let i = 0; i < 400; i++) {
      const t = performance.now()
      yield* read(i)
      times.push(performance.now() - t)
    }
    times.sort((a, b) => a - b)
    const readP50Ms = round(percentile(times, 0.5))
    const readP95Ms = round(percentile(times, 0.95))
    console.log(`(b) batch read at ${ingestContacts.toLocaleString()} contacts: p50 ${readP50Ms} ms, p95 ${readP95Ms} ms`)
    return { ingestRowsPerSec, readP50Ms, readP95Ms }
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

const main = async () => {
  if (!(await isReachable())) {
    console.log(`bench:postgres needs a PostgreSQL server; none reachable at ${serverUrl}`)
    process.exit(1)
  }
  const database = await createDatabase("outdial_bench")
  try {
    const storage = PgStorage.layer({ url: Redacted.make(database.url), maxConnections: 10 })
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

    const reads = await Effect.runPromise(Effect.scoped(Effect.provide(ingestAndRead, storage)))
    console.log(JSON.stringify({ ...reads, dispatchPerSec, pgBossPerSec, ratio }))
  } finally {
    await database.drop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
