/**
 * Time to first render of the dashboard's batch page for a batch of
 * 1,000,000 contacts (statuses spread as a half-done batch would have them)
 * on the machine's PostgreSQL (a fresh database, dropped afterwards), in
 * headless Chromium (`/usr/bin/chromium` unless CHROMIUM_PATH is set):
 * from navigation to the progress summary and the first page of contacts
 * rendered, as the page marks it (User Timing `outdial:batch-page-rendered`,
 * navigation start = 0), the median and the worst of 7 loads after one
 * warm-up. The client is compiled before the first load.
 *
 * Beside it, from the page's resource timings: how long the batch read took
 * (`GET /batches/:id` with the first page of contacts) and when the script
 * had arrived.
 *
 * Last line JSON: {"contacts","firstRenderMedianMs","firstRenderMaxMs","batchReadMedianMs","scriptLoadedMedianMs","runsMs"}.
 */
import { Dashboard } from "@outdial/dashboard"
import { Router } from "@outdial/http-express"
import * as ManagedRuntime from "effect/ManagedRuntime"
import express from "express"
import type { AddressInfo } from "node:net"
import { chromium } from "playwright-core"
import { benchDatabase, largeBatch, percentile, round, servedEngine } from "./largeBatch.ts"

const organizationId = "org_bench"
const contacts = Number(process.env.BENCH_CONTACTS ?? 1_000_000)
const runs = 7

const main = async () => {
  const database = await benchDatabase("outdial_bench_dashboard")
  try {
    const runtime = ManagedRuntime.make(servedEngine(database.url, organizationId))
    const app = express()
    app.use("/api/v1", Router.makeRouter(runtime, { resolveOrganization: () => organizationId }))
    app.use("/outdial", Dashboard.makeRouter({ apiBase: "/api/v1" }))
    const server = app.listen(0, "127.0.0.1")
    await new Promise<void>((resolve) => server.once("listening", () => resolve()))
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

    const { batchId } = await runtime.runPromise(largeBatch(organizationId, contacts))
    console.log(`seeded a batch of ${contacts.toLocaleString()} contacts`)
    await Dashboard.assets()
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"]
    })
    const times: Array<number> = []
    const reads: Array<number> = []
    const scripts: Array<number> = []
    for (let i = 0; i <= runs; i++) {
      // The page's CSP refuses eval, which waitForFunction uses; the measure does not depend on it.
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
      await page.goto(`${origin}/outdial#/batches/${batchId}`, { waitUntil: "commit" })
      // The page marks its first render of the batch (progress and first contacts page) itself.
      const shown = await page.waitForFunction(
        `performance.getEntriesByName("outdial:batch-page-rendered")[0]?.startTime ?? false`,
        undefined,
        { timeout: 60_000 }
      )
      const rendered = await shown.jsonValue() as number
      // Where the time went: the batch read (batch, progress, first contacts page) and the page's own script.
      const [read, script] = await page.evaluate(`[
        performance.getEntriesByType("resource").find((e) => e.name.includes("/batches/${batchId}?"))?.duration ?? -1,
        performance.getEntriesByType("resource").find((e) => e.name.endsWith("/assets/app.js"))?.responseEnd ?? -1
      ]`) as [number, number]
      if (i > 0) {
        times.push(rendered)
        reads.push(read)
        scripts.push(script)
      }
      await page.close()
    }
    await browser.close()
    server.closeAllConnections()
    server.close()
    await runtime.dispose()
    const sorted = [...times].sort((a, b) => a - b)
    const firstRenderMedianMs = round(percentile(sorted, 0.5), 0)
    const firstRenderMaxMs = round(sorted[sorted.length - 1]!, 0)
    console.log(`batch page first render at ${contacts.toLocaleString()} contacts: median ${firstRenderMedianMs} ms, worst ${firstRenderMaxMs} ms`)
    const median = (values: Array<number>) => round(percentile([...values].sort((a, b) => a - b), 0.5), 0)
    const batchReadMedianMs = median(reads)
    const scriptLoadedMedianMs = median(scripts)
    console.log(`  of which: the batch read ${batchReadMedianMs} ms; the script loaded at ${scriptLoadedMedianMs} ms (medians)`)
    console.log(JSON.stringify({ contacts, firstRenderMedianMs, firstRenderMaxMs, batchReadMedianMs, scriptLoadedMedianMs, runsMs: times.map((t) => round(t, 0)) }))
  } finally {
    await database.drop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
