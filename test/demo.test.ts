/**
 * The README's demo command, run as a user would (with `--once` so that it
 * exits): a real batch over HTTP on embedded PostgreSQL to completion.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

it("runs the quickstart batch to completion", async () => {
  const main = fileURLToPath(new URL("../examples/quickstart/main.ts", import.meta.url))
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", main, "--once"], {
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
  expect(code, output).toBe(0)
  expect(output).toContain("POST /batches → 201")
  expect(output).toMatch(/Dashboard on http:\/\/127\.0\.0\.1:\d+\/outdial\n/)
  expect(output).toMatch(/rejected: 3 × invalid_phone_format/)
  expect(output).toContain("Batch completed")
  expect(output).toMatch(/\[#{32}\] 195\/195/)
  expect(output).toMatch(/Webhooks received: \d+ \(\d+ signed\)/)
  expect(output).toContain("batch.completed 1")
}, 120_000)
