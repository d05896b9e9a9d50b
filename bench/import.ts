/**
 * How fast ContactImport validates a large contact file, against the floor
 * of what any importer must do: parse the CSV with papaparse and ask
 * libphonenumber-js whether each number is valid.
 *
 * Generates a 1,000,000-row CSV in the temp directory (not committed), then
 * times (a) the floor and (b) the full pipeline producing its report, on the
 * same file, best of a few runs each, every run in its own process
 * (bench/importChild.mjs, plain node on the built package: see there why);
 * peak RSS is the pipeline process's maximum resident set.
 *
 * The last line is JSON: {"floorRowsPerSec","pipelineRowsPerSec","ratio","peakRssMb"}.
 */
import { execFileSync, spawn } from "node:child_process"
import { createWriteStream, existsSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { createRequire } from "node:module"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const rows = Number(process.env.ROWS ?? 1_000_000)
const runs = Number(process.env.RUNS ?? 3)
const file = join(tmpdir(), `outdial-bench-${rows}.csv`)

// A deterministic mix: valid numbers of a few countries, some national, ~3 % broken.
const phoneOf = (i: number): string => {
  const n = (i * 7_919 + 13) % 10_000_000
  switch (i % 33) {
    case 0:
      return "12345"
    case 1:
      return `call-${i}`
    case 2:
    case 3:
    case 4:
      return `(212) 55${n % 10}-${String(n % 10_000).padStart(4, "0")}`
    case 5:
    case 6:
    case 7:
    case 8:
      return `+44 7911 ${String(100_000 + (n % 900_000))}`
    default:
      return i % 2 === 0 ? `+1 415 ${String(2_000_000 + (n % 7_000_000)).slice(0, 3)} ${String(n % 10_000).padStart(4, "0")}` : `+49151${String(10_000_000 + n)}`
  }
}

const generate = async () => {
  if (existsSync(file) && statSync(file).size > 0) return
  const out = createWriteStream(file)
  const write = (text: string) => (out.write(text) ? Promise.resolve() : new Promise<void>((resolve) => out.once("drain", resolve)))
  await write("phone_number,name,plan,city\n")
  let buffer = ""
  for (let i = 0; i < rows; i++) {
    buffer += `${phoneOf(i)},Contact ${i},${["starter", "pro", "enterprise"][i % 3]},"City ${i % 97}"\n`
    if (buffer.length > 1 << 16) {
      await write(buffer)
      buffer = ""
    }
  }
  await write(buffer)
  await new Promise<void>((resolve) => out.end(resolve))
}

/** @outdial/core built to `dist`, which the runs import (see bench/importChild.mjs). */
const buildCore = () => {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  execFileSync(process.execPath, [tsc, "-p", fileURLToPath(new URL("../packages/core/tsconfig.build.json", import.meta.url))], {
    stdio: "inherit"
  })
}

const childPath = fileURLToPath(new URL("./importChild.mjs", import.meta.url))

/** Each run in a fresh process, so one run's heap never counts against another's RSS. */
const child = (which: "floor" | "pipeline") =>
  new Promise<{ rowsPerSec: number; seconds: number; peakRssMb: number; report?: string }>((resolve, reject) => {
    const proc = spawn(process.execPath, [childPath, which, file, String(rows)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    proc.stdout.on("data", (data: Buffer) => (out += data.toString()))
    proc.on("error", reject)
    proc.on("exit", (code) => {
      const last = out.trim().split("\n").pop() ?? ""
      if (code !== 0) return reject(new Error(`${which} run failed (${code}): ${out}`))
      resolve(JSON.parse(last))
    })
  })

const best = async (which: "floor" | "pipeline", label: string) => {
  let fastest = { rowsPerSec: 0, seconds: 0, peakRssMb: 0 }
  let peakRssMb = 0
  for (let run = 0; run < runs; run++) {
    const result = await child(which)
    if (run === 0 && result.report !== undefined) console.log(`  report: ${result.report}`)
    peakRssMb = Math.max(peakRssMb, result.peakRssMb)
    if (result.rowsPerSec > fastest.rowsPerSec) fastest = result
    console.log(
      `  ${label} run ${run + 1}: ${result.seconds.toFixed(2)} s (${Math.round(result.rowsPerSec).toLocaleString("en-US")} rows/s, peak RSS ${result.peakRssMb.toFixed(0)} MB)`
    )
  }
  return { rowsPerSec: fastest.rowsPerSec, peakRssMb }
}

const main = async () => {
  await generate()
  buildCore()
  console.log(`${rows.toLocaleString("en-US")} rows, ${(statSync(file).size / 1024 / 1024).toFixed(1)} MB at ${file}`)
  const floorResult = await best("floor", "floor (papaparse + libphonenumber-js)")
  const pipelineResult = await best("pipeline", "pipeline (ContactImport, full report)")
  const ratio = pipelineResult.rowsPerSec / floorResult.rowsPerSec
  console.log(
    `floor ${Math.round(floorResult.rowsPerSec).toLocaleString("en-US")} rows/s, pipeline ${
      Math.round(pipelineResult.rowsPerSec).toLocaleString("en-US")
    } rows/s, ratio ${ratio.toFixed(2)}, pipeline peak RSS ${pipelineResult.peakRssMb.toFixed(0)} MB ` +
      `(floor ${floorResult.peakRssMb.toFixed(0)} MB)`
  )
  console.log(JSON.stringify({
    floorRowsPerSec: Math.round(floorResult.rowsPerSec),
    pipelineRowsPerSec: Math.round(pipelineResult.rowsPerSec),
    ratio: Number(ratio.toFixed(3)),
    peakRssMb: Number(pipelineResult.peakRssMb.toFixed(1))
  }))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
