/** Engine processes of the crash tests: spawned with tsx, their output kept, and a wait that polls. */
import { type ChildProcess, spawn } from "node:child_process"

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
