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
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import PgBoss from "pg-boss"
import { benchDatabase, contactStatuses, largeBatch, latencies, round } from "./largeBatch.ts"

const ingestContacts = Number(process.env.BENCH_CONTACTS ?? 1_000_000)
const dispatchContacts = 10_000
const limit = 100
const organizationId = "org_bench"

const ingestAndRead = Effect.gen(function*() {
  const store = yield* BatchStore.BatchStore
  const { batchId, ingestSeconds } = yield* largeBatch(organizationId, ingestContacts)
  const ingestRowsPerSec = Math.round(ingestContacts / ingestSeconds)
  console.log(`(a) ingest: ${ingestContacts.toLocaleString()} contacts in ${ingestSeconds.toFixed(2)} s = ${ingestRowsPerSec.toLocaleString()} rows/s`)

  const read = (i: number) =>
    Effect.runPromise(Effect.all([
      store.getBatch(organizationId, batchId),
      store.statusBreakdown(batchId),
      store.listContacts(batchId, { status: contactStatuses[i % contactStatuses.length], page: 1 + ((i * 7919) % 200), pageSize: 50 })
    ], { concurrency: "unbounded" }))
  const { p50: readP50Ms, p95: readP95Ms } = yield* Effect.promise(() => latencies(read))
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
  const database = await benchDatabase("outdial_bench")
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
