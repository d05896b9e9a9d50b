/**
 * Time to first render of the dashboard's batch page for a batch of
 * 1,000,000 contacts (statuses spread as a half-done batch would have them)
 * on the machine's PostgreSQL (a fresh database, dropped afterwards), in
 * headless Chromium (`/usr/bin/chromium` unless CHROMIUM_PATH is set):
 * from navigation to the progress summary and the first page of contacts
 * on screen, as the page's own clock measures it (`performance.now()`,
 * navigation start = 0), the median and the worst of 7 loads after one
 * warm-up. The client is compiled before the first load.
 *
 * Last line JSON: {"contacts","firstRenderMedianMs","firstRenderMaxMs","runsMs"}.
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
    for (let i = 0; i <= runs; i++) {
      // The page's CSP refuses eval, which waitForFunction uses; the measure does not depend on it.
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
      await page.goto(`${origin}/outdial#/batches/${batchId}`, { waitUntil: "commit" })
      await page.waitForFunction(
        `document.querySelector("#progress-summary") !== null && document.querySelector(".contacts-table tbody tr") !== null`,
        undefined,
        { polling: "raf", timeout: 60_000 }
      )
      const rendered = await page.evaluate("performance.now()") as number
      if (i > 0) times.push(rendered)
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
    console.log(JSON.stringify({ contacts, firstRenderMedianMs, firstRenderMaxMs, runsMs: times.map((t) => round(t, 0)) }))
  } finally {
    await database.drop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
