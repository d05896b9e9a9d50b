/**
 * Many batches: 1,000 running batches (50 contacts each, limit 10, so 10
 * calls in flight each), three engine processes on one PostgreSQL (a fresh
 * database, dropped afterwards), calls of 3–6 s in real time (ringing 1–2 s,
 * talk BENCH_TALK_SECONDS to twice that, default 2). The parent
 * creates the batches as drafts, then schedules them all at once (an API
 * process without a dispatcher: its NOTIFY reaches the three dialers
 * alike), lets them dial for BENCH_SECONDS (default 45) after the last is
 * scheduled, then stops the processes.
 *
 * Measured: per batch the time from its scheduling to its first dial (max and
 * p95 over batches), dials per second, the lease statements of all processes
 * per second (acquisition tries, renewal statements, releases; the leases
 * renewed apart), rescans per second and
 * how the leases spread over the processes at the end.
 *
 * Last line JSON: {"maxFirstDialSeconds","p95FirstDialSeconds","dialsPerSec","leaseWritesPerSec","rescansPerSec",...}.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { Credits, Dispatcher, Engine, EngineConfig, EngineEvents, Telephony } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { PgClient } from "@effect/sql-pg"
import { createDatabase } from "../packages/adapter-postgres/test/database.ts"
import { directory, organizationId } from "./batches/shared.ts"

const batches = Number(process.env.BENCH_BATCHES ?? 1_000)
const contactsPerBatch = Number(process.env.BENCH_BATCH_CONTACTS ?? 50)
const processes = 3
const seconds = Number(process.env.BENCH_SECONDS ?? 45)
const workerPath = fileURLToPath(new URL("./batches/worker.ts", import.meta.url))

interface Stats {
  acquireTries: number
  acquired: number
  renewals: number
  renewalWrites: number
  releases: number
  rescans: number
  rescannedBatches: number
  notifies: number
  dials: number
}

interface Worker {
  readonly ownerId: string
  readonly process: ChildProcess
  readonly output: Array<string>
  stats: Stats | undefined
  ready: boolean
  alive: boolean
}

const startWorker = (databaseUrl: string, ownerId: string): Worker => {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", workerPath, databaseUrl, ownerId], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  const worker: Worker = { ownerId, process: child, output: [], stats: undefined, ready: false, alive: true }
  let pending = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString()
    const lines = pending.split("\n")
    pending = lines.pop()!
    for (const line of lines) {
      if (line.startsWith("STATS ")) worker.stats = JSON.parse(line.slice(6)) as Stats
      else if (line === "READY") worker.ready = true
      else worker.output.push(line)
    }
  })
  child.stderr!.on("data", (chunk: Buffer) => worker.output.push(chunk.toString()))
  child.on("exit", () => void (worker.alive = false))
  return worker
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

// The parent only creates batches: a dispatcher that never dials.
const noDispatcher = Layer.succeed(Dispatcher.Dispatcher)({ wake: () => Effect.void, active: Effect.succeed([]), settled: Effect.void })
const noTelephony = Layer.succeed(Telephony.Telephony)({
  dial: () => Effect.die("the bench's parent never dials"),
  lookup: () => Effect.succeed({ _tag: "NotFound" } as const)
})

const database = await createDatabase("outdial_bench_batches")
const workers: Array<Worker> = []
let runtime: ManagedRuntime.ManagedRuntime<Engine.Engine | PgClient.PgClient, unknown> | undefined
try {
  runtime = ManagedRuntime.make(Engine.layer.pipe(
    Layer.provideMerge(noDispatcher),
    Layer.provide(EngineConfig.layer({ maxContacts: 1_000 })),
    Layer.provideMerge(Layer.mergeAll(
      PgStorage.layer({ url: Redacted.make(database.url), maxConnections: 8 }, { listen: false }),
      noTelephony,
      directory,
      Credits.layerUnlimited(),
      EngineEvents.layer()
    ))
  ))
  // Migrated before the engines start.
  const engine = await runtime.runPromise(Engine.Engine)
  for (let i = 0; i < processes; i++) workers.push(startWorker(database.url, `engine-${i}`))
  const deadline = Date.now() + 120_000
  while (!workers.every((w) => w.ready)) {
    if (workers.some((w) => !w.alive) || Date.now() > deadline) {
      throw new Error(`an engine process did not start:\n${workers.map((w) => w.output.join("\n")).join("\n")}`)
    }
    await sleep(50)
  }

  // Drafts first, then all scheduled at once: 1,000 batches start within seconds, and
  // creating them (slower than dialing them starts) does not spread the start out.
  const created = Date.now()
  const ids = await runtime.runPromise(Effect.forEach(Array.from({ length: batches }, (_, i) => i), (i) =>
    engine.createBatch(organizationId, {
      name: `Batch ${i}`,
      draft: true,
      agentId: "agent_batches",
      concurrentCallLimit: 10,
      maxAttempts: 1,
      timezone: "UTC",
      workingDays: [1, 2, 3, 4, 5, 6, 7],
      callingWindow: { start: "00:00", end: "24:00" },
      contacts: Array.from({ length: contactsPerBatch }, (_, j) => ({ phone: `+49151${String(10_000_000 + i * 1_000 + j)}` }))
    }).pipe(Effect.map((batch) => batch.batchJobId)), { concurrency: 4 }))
  console.log(`created ${batches} draft batches of ${contactsPerBatch} contacts in ${((Date.now() - created) / 1000).toFixed(1)} s`)

  const startedAt = Date.now()
  const scheduledAt = new Map<string, number>()
  await runtime.runPromise(Effect.forEach(ids, (id) =>
    engine.schedule(organizationId, id).pipe(Effect.tap(() => Effect.sync(() => void scheduledAt.set(id, Date.now())))), {
    concurrency: 8,
    discard: true
  }))
  const scheduleSeconds = (Date.now() - startedAt) / 1000
  console.log(`scheduled them in ${scheduleSeconds.toFixed(1)} s`)

  const before = workers.map((w) => ({ ...w.stats! }))
  const windowStart = Date.now()
  for (let s = 0; s < seconds; s += 5) {
    await sleep(5_000)
    if (workers.some((w) => !w.alive)) throw new Error(`an engine process died:\n${workers.map((w) => w.output.join("\n")).join("\n")}`)
  }
  await sleep(1_100) // one more STATS line from each process
  const windowSeconds = (Date.now() - windowStart) / 1000
  const elapsed = (Date.now() - startedAt) / 1000
  const sum = (key: keyof Stats, from?: Array<Stats>) =>
    workers.reduce((n, w, i) => n + w.stats![key] - (from?.[i]![key] ?? 0), 0)

  const query = <A extends object>(text: string) =>
    runtime!.runPromise(Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      return yield* sql.unsafe<A>(text)
    }))
  const firstDials = await query<{ id: string; first: Date | null }>(`
    SELECT b.id, min(a.started_at) AS first
    FROM outdial_batches b LEFT JOIN outdial_attempts a ON a.batch_id = b.id GROUP BY b.id`)
  // From the moment `schedule` returned (same machine clock as the database's).
  const waits = firstDials.map((r) => (r.first === null ? Date.now() : r.first.getTime()) - scheduledAt.get(r.id)!)
    .map((ms) => ms / 1000).sort((a, b) => a - b)
  const neverDialed = firstDials.filter((r) => r.first === null).length
  const [{ dials }] = await query<{ dials: number }>(`SELECT count(*)::int4 AS dials FROM outdial_attempts`) as [{ dials: number }]
  const [{ completed }] = await query<{ completed: number }>(
    `SELECT count(*)::int4 AS completed FROM outdial_batches WHERE status = 'completed'`
  ) as [{ completed: number }]
  const held = await query<{ owner_id: string; count: number }>(
    `SELECT owner_id, count(*)::int4 AS count FROM outdial_leases WHERE owner_id IS NOT NULL GROUP BY owner_id ORDER BY owner_id`
  )

  // Statements against outdial_leases (a batched renewal is one, however many leases it renews).
  const leaseWrites = sum("acquireTries") + sum("renewalWrites") + sum("releases")
  const steadyLeaseWrites = sum("acquireTries", before) + sum("renewalWrites", before) + sum("releases", before)
  for (const w of workers) {
    console.log(`${w.ownerId}: ${JSON.stringify(w.stats)}; ${w.output.length} log lines`)
    for (const line of w.output.slice(-3)) console.log(`  ${line.slice(0, 300)}`)
  }
  const result = {
    batches,
    processes,
    contactsPerBatch,
    talkSeconds: Number(process.env.BENCH_TALK_SECONDS ?? 2),
    scheduleSeconds: round(scheduleSeconds),
    elapsedSeconds: round(elapsed),
    maxFirstDialSeconds: round(waits.at(-1)!, 2),
    p95FirstDialSeconds: round(waits[Math.floor(waits.length * 0.95)]!, 2),
    neverDialed,
    dialsPerSec: round(dials / elapsed),
    completedBatches: completed,
    leaseWritesPerSec: round(leaseWrites / elapsed),
    steadyLeaseWritesPerSec: round(steadyLeaseWrites / windowSeconds),
    acquireTriesPerSec: round(sum("acquireTries") / elapsed),
    acquiredPerSec: round(sum("acquired") / elapsed),
    renewalsPerSec: round(sum("renewals") / elapsed),
    renewalWritesPerSec: round(sum("renewalWrites") / elapsed, 2),
    rescansPerSec: round(sum("rescans") / elapsed, 2),
    rescannedBatchesPerSec: round(sum("rescannedBatches") / elapsed),
    notifiesPerSec: round(sum("notifies") / elapsed),
    leasesHeldByProcess: Object.fromEntries(held.map((r) => [r.owner_id, r.count]))
  }
  console.log(JSON.stringify(result))
} finally {
  for (const w of workers) if (w.alive) w.process.kill("SIGKILL")
  await runtime?.dispose().catch(() => {})
  await database.drop().catch(() => {})
}
