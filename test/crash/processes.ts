/**
 * Engine processes for the multi-process tests: each a `worker.ts` child
 * with its output kept, and a poll that waits for a condition.
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

export const startWorker = (databaseUrl: string, providerUrl: string, ownerId: string, flags: ReadonlyArray<string>): Worker => {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", workerPath, databaseUrl, providerUrl, ownerId, ...flags],
    { stdio: ["ignore", "pipe", "pipe"] }
  )
  const worker: Worker = { ownerId, process: child, output: [], alive: true }
  child.stdout!.on("data", (chunk: Buffer) => worker.output.push(chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => worker.output.push(chunk.toString()))
  child.on("exit", () => void (worker.alive = false))
  return worker
}

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
