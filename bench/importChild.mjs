/**
 * One timed run of bench:import (bench/import.ts), in its own process:
 * `node bench/importChild.mjs floor|pipeline FILE ROWS`. Prints one JSON
 * line: {"rowsPerSec","seconds","peakRssMb"} and, for the pipeline, a
 * summary of its report.
 *
 * Plain JavaScript on purpose, run by plain `node` on @outdial/core's built
 * `dist` (bench/import.ts builds it first): the same pipeline a host runs
 * from the published package, while under tsx the process also carried tsx's
 * loader thread and the transformed sources of every module, about 70 MB of
 * the peak RSS that had nothing to do with the import. Both sides, the floor
 * and the pipeline, run this way, so their ratio stays like for like.
 */
import { createReadStream } from "node:fs"
import { ContactImport } from "@outdial/core"
import * as Effect from "effect/Effect"
import { parsePhoneNumberWithError } from "libphonenumber-js"
import Papa from "papaparse"

const [which, file, rowsArg] = process.argv.slice(2)
const rows = Number(rowsArg)

/** The floor: papaparse streaming the file, libphonenumber-js validating each number. */
const floor = () =>
  new Promise((resolve, reject) => {
    let valid = 0
    Papa.parse(createReadStream(file, { encoding: "utf8" }), {
      step: (result) => {
        try {
          if (parsePhoneNumberWithError(result.data[0] ?? "", "US").isValid()) valid++
        } catch {
          // Not a number at all.
        }
      },
      complete: () => resolve(valid),
      error: reject
    })
  })

/** The pipeline: ContactImport with its full report, accepted contacts let go chunk by chunk. */
const pipeline = () =>
  Effect.runPromise(
    ContactImport.run(
      { content: createReadStream(file), filename: "contacts.csv", contentType: "text/csv" },
      { defaultCountry: "US", maxContacts: Number.POSITIVE_INFINITY, maxFileBytes: Number.POSITIVE_INFINITY },
      () => Effect.void
    )
  )

const task = which === "floor" ? floor : which === "pipeline" ? pipeline : undefined
if (task === undefined || file === undefined || !(rows > 0)) {
  console.error("usage: node bench/importChild.mjs floor|pipeline FILE ROWS")
  process.exit(2)
}
const start = performance.now()
const report = await task()
const seconds = (performance.now() - start) / 1000
console.log(JSON.stringify({
  rowsPerSec: rows / seconds,
  seconds,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  ...(which === "pipeline" && {
    report: `${report.acceptedCount} accepted, ${report.rejectedCount} rejected ` +
      `(${report.errorGroups.map((g) => `${g.code} ${g.count}`).join(", ")}), ${report.duplicates.length} duplicated numbers`
  })
}))
