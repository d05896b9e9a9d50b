/**
 * Reads during a burst of large creates, over loopback on the machine's
 * PostgreSQL (a fresh database, dropped afterwards). A host app (Express and
 * the router, an engine on a pool of 10 connections) answers
 * `GET /batches/:id` for a 1,000-contact draft, read by 4 clients in a loop:
 *
 * (a) idle: 400 reads per client;
 * (b) while 20 `POST /batches` of 5,000-row CSVs (multipart) run at once,
 *     with ingests unbounded (`maxConcurrentIngests` = the pool size: every
 *     create may hold a connection for its whole ingest), the behaviour
 *     before the bound;
 * (c) the same burst with the default bound (an eighth of the pool: 1);
 * (d) for the record, not the target: the same burst sent to a second host
 *     process on the same database, while the reads go to this one. What the
 *     reads lose then is the database's share; what (c) loses beyond it is
 *     the host's own CPU, parsing 20 files on the event loop that answers
 *     the reads.
 *
 * Reads during a burst are every read that started before its last create
 * answered. p50 / p95 in ms. Bounded: each phase ends when its burst (or its
 * reads) are done; no retries. Last line JSON:
 * {"idleP50Ms","idleP95Ms","burstUnboundedP95Ms","burstP50Ms","burstP95Ms"}; target burst p95 <= 50 ms.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { Directory, Engine, EngineEvents, SimulatedTelephony } from "@outdial/core"
import { Router } from "@outdial/http-express"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import express from "express"
import { spawn } from "node:child_process"
import { Agent, request } from "node:http"
import type { AddressInfo } from "node:net"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { benchDatabase, percentile, round } from "./largeBatch.ts"

const organizationId = "org_bench"
const poolSize = 10
const readers = 4
const idleReads = 400
const creates = 20
const rowsPerCreate = 5_000

const directory = Directory.layerStatic({
  agents: [{ id: "agent", organizationId, ready: true, phoneNumberIds: ["num_1"] }],
  callerNumbers: [{ id: "num_1", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent" }]
})

const csv = (offset: number, rows: number) =>
  `phone,name,plan\n${
    Array.from({ length: rows }, (_, i) => `+49151${40_000_000 + offset + i},Contact ${offset + i},pro`).join("\n")
  }\n`

interface Host {
  readonly api: string
  readonly close: () => Promise<void>
}

/** The host app on `url`, its ingests bounded by `maxConcurrentIngests` (the store's default when undefined). */
const startHost = async (url: string, maxConcurrentIngests: number | undefined): Promise<Host> => {
  const engine = Engine.layerWith({
    store: PgStorage.layer({ url: Redacted.make(url), maxConnections: poolSize }, { maxConcurrentIngests }),
    telephony: SimulatedTelephony.layer({ record: false }),
    directory,
    events: EngineEvents.layer({ capacity: 16 })
  })
  const runtime = ManagedRuntime.make(engine)
  const app = express()
  app.use("/api/v1", Router.makeRouter(runtime, { resolveOrganization: (req) => req.get("x-organization-id") }))
  const server = app.listen(0, "127.0.0.1")
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  return {
    api: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await runtime.dispose()
    }
  }
}

const post = async (api: string, name: string, file: string) => {
  const form = new FormData()
  form.append("name", name)
  form.append("agentId", "agent")
  form.append("draft", "true")
  form.append("file", new Blob([file], { type: "text/csv" }), "contacts.csv")
  const response = await fetch(`${api}/batches`, {
    method: "POST",
    body: form,
    headers: { "x-organization-id": organizationId }
  })
  const body = await response.json() as { batchJobId?: string }
  if (response.status !== 201 || body.batchJobId === undefined) throw new Error(`POST answered ${response.status}`)
  return body.batchJobId
}

/** Keep-alive readers, one socket each, as clients in front of the API would have them. */
const makeReader = () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const get = (url: string) =>
    new Promise<void>((resolve, reject) => {
      request(url, { agent, headers: { "x-organization-id": organizationId } }, (response) => {
        response.resume()
        response.on("end", () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`GET answered ${response.statusCode}`)))
      }).on("error", reject).end()
    })
  return { get, close: () => agent.destroy() }
}

const stats = (times: Array<number>) => {
  const sorted = [...times].sort((a, b) => a - b)
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 0.5)),
    p95: round(percentile(sorted, 0.95)),
    max: round(sorted[sorted.length - 1]!)
  }
}

/**
 * Reads the batch with `readers` warmed-up clients while `load()` runs (or,
 * without it, `idleReads` each): the latencies of reads started before it
 * settled, and the event loop's delay meanwhile (what the host's own work,
 * parsing files, costs the reads).
 */
const readLoad = async (api: string, batchId: string, load?: () => Promise<number>) => {
  const clients = Array.from({ length: readers }, makeReader)
  try {
    for (const reader of clients) for (let i = 0; i < 20; i++) await reader.get(`${api}/batches/${batchId}`)
    const loop = monitorEventLoopDelay({ resolution: 5 })
    loop.enable()
    let done = false
    const running = load?.().finally(() => (done = true))
    const times: Array<number> = []
    await Promise.all(clients.map(async (reader) => {
      for (let i = 0; load === undefined ? i < idleReads : !done; i++) {
        const started = performance.now()
        await reader.get(`${api}/batches/${batchId}`)
        times.push(performance.now() - started)
      }
    }))
    const burstMs = running === undefined ? 0 : round(await running, 0)
    loop.disable()
    return { ...stats(times), burstMs, loopP95Ms: round(loop.percentile(95) / 1e6), loopMaxMs: round(loop.max / 1e6) }
  } finally {
    for (const reader of clients) reader.close()
  }
}

/**
 * The clients of the burst, in a process of their own as they would be: 20
 * creates at once, each a distinct 5,000-row file made before the clock
 * starts. Prints the wall time of the burst.
 */
const burstClients = `
const [api, label, organizationId, creates, rows] = process.argv.slice(1)
const csv = (offset) => "phone,name,plan\\n" +
  Array.from({ length: Number(rows) }, (_, i) => "+49151" + (40000000 + offset + i) + ",Contact " + (offset + i) + ",pro").join("\\n") + "\\n"
const files = Array.from({ length: Number(creates) }, (_, i) => csv(i * Number(rows)))
process.stdout.write("ready\\n")
process.stdin.once("data", async () => {
  const started = performance.now()
  await Promise.all(files.map(async (file, i) => {
    const form = new FormData()
    form.append("name", label + " " + i)
    form.append("agentId", "agent")
    form.append("draft", "true")
    form.append("file", new Blob([file], { type: "text/csv" }), "contacts.csv")
    const response = await fetch(api + "/batches", { method: "POST", body: form, headers: { "x-organization-id": organizationId } })
    await response.text()
    if (response.status !== 201) throw new Error("POST answered " + response.status)
  }))
  process.stdout.write(JSON.stringify({ burstMs: performance.now() - started }) + "\\n")
  process.exit(0)
})
`

/** A host on `url` in a process of its own, with the default bound; its API's URL. */
const hostProcess = async (url: string) => {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", fileURLToPath(import.meta.url), "--host", url], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const line = await lines.next()
  if (line.done === true) throw new Error("the second host exited early")
  return { api: line.value, close: () => child.stdin.end() }
}

/** Starts the burst's client process; `run()` fires the burst and resolves with its wall time. */
const burst = async (api: string, label: string) => {
  const child = spawn(process.execPath, ["--input-type=module", "-e", burstClients, api, label, organizationId, String(creates), String(rowsPerCreate)], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async () => {
    const line = await lines.next()
    if (line.done === true) throw new Error("the burst's clients exited early")
    return line.value
  }
  if ((await next()) !== "ready") throw new Error("the burst's clients did not start")
  return {
    run: async () => {
      child.stdin.write("go\n")
      const { burstMs } = JSON.parse(await next()) as { burstMs: number }
      return burstMs
    },
    kill: () => void child.kill()
  }
}

const phase = async (url: string, label: string, maxConcurrentIngests: number | undefined, withBurst: boolean) => {
  const host = await startHost(url, maxConcurrentIngests)
  try {
    const batchId = await post(host.api, `${label} target`, csv(9_000_000, 1_000))
    if (!withBurst) return await readLoad(host.api, batchId)
    const clients = await burst(host.api, label)
    try {
      return await readLoad(host.api, batchId, clients.run)
    } finally {
      clients.kill()
    }
  } finally {
    await host.close()
  }
}

/** Phase (d): the burst goes to a host in another process; the reads come here. */
const otherHostPhase = async (url: string) => {
  const host = await startHost(url, undefined)
  const other = await hostProcess(url)
  try {
    const batchId = await post(host.api, "split target", csv(9_000_000, 1_000))
    const clients = await burst(other.api, "split")
    try {
      return await readLoad(host.api, batchId, clients.run)
    } finally {
      clients.kill()
    }
  } finally {
    other.close()
    await host.close()
  }
}

const main = async () => {
  if (process.argv[2] === "--host") {
    // The second host of phase (d): serves until its parent closes stdin.
    const host = await startHost(process.argv[3]!, undefined)
    process.stdout.write(`${host.api}\n`)
    process.stdin.resume()
    await new Promise<void>((resolve) => process.stdin.once("end", () => resolve()))
    await host.close()
    return
  }
  const database = await benchDatabase("outdial_bench_ingest")
  try {
    const idle = await phase(database.url, "idle", undefined, false)
    const unbounded = await phase(database.url, "unbounded", poolSize, true)
    const bounded = await phase(database.url, "bounded", undefined, true)
    const split = await otherHostPhase(database.url)
    const row = (name: string, s: typeof idle) =>
      `${name.padEnd(38)} ${
        [s.n, s.p50, s.p95, s.max, s.burstMs, s.loopP95Ms, s.loopMaxMs].map((v) => String(v).padStart(9)).join("")
      }`
    console.log(`GET /batches/:id, ${readers} keep-alive readers; burst = ${creates} creates of ${rowsPerCreate.toLocaleString()}-row CSVs at once, pool of ${poolSize}`)
    console.log(`${"phase".padEnd(38)} ${
      ["reads", "p50 ms", "p95 ms", "max ms", "burst ms", "loop p95", "loop max"].map((h) => h.padStart(9)).join("")
    }`)
    console.log(row("(a) idle", idle))
    console.log(row(`(b) burst, ingests unbounded (${poolSize})`, unbounded))
    console.log(row(`(c) burst, default bound (${Math.max(1, Math.floor(poolSize / 8))})`, bounded))
    console.log(row("(d) as (c), burst parsed by another host", split))
    console.log(JSON.stringify({
      idleP50Ms: idle.p50,
      idleP95Ms: idle.p95,
      burstUnboundedP95Ms: unbounded.p95,
      burstP50Ms: bounded.p50,
      burstP95Ms: bounded.p95
    }))
  } finally {
    await database.drop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
