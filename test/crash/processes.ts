/**
 * Processes of the multi-process tests: each a Node child run with tsx, its
 * output kept, and a poll that waits for a condition.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url))

export interface Worker {
  readonly ownerId: string
  readonly process: ChildProcess
  readonly output: Array<string>
  alive: boolean
}

/** Runs `script` with `args` in a new Node process, named `ownerId`. */
export const startWorker = (script: string, ownerId: string, args: ReadonlyArray<string>): Worker => {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", script, ...args], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  const worker: Worker = { ownerId, process: child, output: [], alive: true }
  child.stdout!.on("data", (chunk: Buffer) => worker.output.push(chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => worker.output.push(chunk.toString()))
  child.on("exit", () => void (worker.alive = false))
  return worker
}

/** An engine process (`worker.ts`) on the database, calling the fake provider. */
export const startEngine = (databaseUrl: string, providerUrl: string, ownerId: string, flags: ReadonlyArray<string>): Worker =>
  startWorker(workerPath, ownerId, [databaseUrl, providerUrl, ownerId, ...flags])

/** Polls `check` every 50 ms until it answers a value; throws after `timeoutMs`. */
export const waitFor = async <A>(what: string, check: () => Promise<A | undefined> | A | undefined, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The last of each worker's output, for a failure's report. */
export const dumpOf = (workers: ReadonlyArray<Worker>) =>
  workers.map((w) => `--- ${w.ownerId}\n${w.output.join("").slice(-4000)}`).join("\n")
