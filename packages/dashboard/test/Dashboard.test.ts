/**
 * The router without a browser: the page under any mount path, its assets
 * with validators, paths it does not know left to the host, and the built
 * bundle's size against its budget.
 */
import express from "express"
import type { AddressInfo } from "node:net"
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Dashboard } from "../src/index.ts"

/**
 * Gzipped bytes the page may load (script and stylesheet). Preact is ~4.5 KB
 * of it; 40 KB arrives in about 0.2 s on a 1.6 Mbit/s mobile link, and
 * leaves room for the pages still to come without a framework change.
 */
const budgetBytes = 40 * 1024

let origin: string
let close: () => Promise<void>

beforeAll(async () => {
  const app = express()
  app.use("/admin/tools/outdial", Dashboard.makeRouter({ apiBase: "/api/v1", title: `Calls <"ops">` }))
  app.use("/relative", Dashboard.makeRouter({ apiBase: "../api/v2/" }))
  app.use((_request, response) => void response.status(404).send("host 404"))
  const server = app.listen(0, "127.0.0.1")
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  close = () => new Promise<void>((resolve) => server.close(() => resolve()))
}, 60_000)

afterAll(() => close())

describe("Dashboard.makeRouter", () => {
  it("serves the page under its mount path, with or without the trailing slash", async () => {
    for (const path of ["/admin/tools/outdial", "/admin/tools/outdial/"]) {
      const response = await fetch(`${origin}${path}`)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toMatch(/^text\/html/)
      expect(response.headers.get("content-security-policy")).toContain("default-src 'self'")
      const html = await response.text()
      expect(html).toContain(`src="/admin/tools/outdial/assets/app.js"`)
      expect(html).toContain(`href="/admin/tools/outdial/assets/app.css"`)
      expect(html).toContain(`<meta name="outdial-api-base" content="/api/v1">`)
      // The host's title is text, never markup.
      expect(html).toContain("<title>Calls &#60;&#34;ops&#34;&#62;</title>")
    }
  })

  it("resolves an API base relative to the mount", async () => {
    const html = await (await fetch(`${origin}/relative/`)).text()
    expect(html).toContain(`<meta name="outdial-api-base" content="/api/v2">`)
  })

  it("serves the assets with a content hash validator and answers 304 to it", async () => {
    const response = await fetch(`${origin}/admin/tools/outdial/assets/app.js`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toMatch(/^text\/javascript/)
    const etag = response.headers.get("etag")!
    expect(etag).toMatch(/^"[\w-]+"$/)
    expect((await response.text()).length).toBeGreaterThan(1000)
    const again = await fetch(`${origin}/admin/tools/outdial/assets/app.js`, { headers: { "if-none-match": etag } })
    expect(again.status).toBe(304)
    const css = await fetch(`${origin}/admin/tools/outdial/assets/app.css`)
    expect(css.headers.get("content-type")).toMatch(/^text\/css/)
  })

  it("leaves paths it does not serve to the host", async () => {
    for (const path of ["/admin/tools/outdial/batches", "/admin/tools/outdial/assets/other.js", "/admin/tools/outdial/assets/app.js/"]) {
      const response = await fetch(`${origin}${path}`)
      expect(response.status).toBe(404)
      expect(await response.text()).toBe("host 404")
    }
  })

  it("keeps the gzipped bundle within its budget", async () => {
    const assets = await Dashboard.assets()
    const gzipped = gzipSync(assets["app.js"].body).length + gzipSync(assets["app.css"].body).length
    expect(gzipped).toBeLessThan(budgetBytes)
  })
})
