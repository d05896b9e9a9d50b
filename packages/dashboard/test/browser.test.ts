/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against a host app on PGlite with the dashboard under a
 * non-root path: the journey of a person running a campaign, an axe-core
 * scan of every page, and screenshots of each page at laptop and phone
 * width in `packages/dashboard/test-output/` (not committed).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { agentId, type Host, start } from "./host.ts"

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const outputDir = fileURLToPath(new URL("../test-output/", import.meta.url))
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

/** A contact file with broken rows: a short number, text, an empty phone, and a duplicate. */
const brokenCsv = [
  "phone,name,plan",
  "+14155550101,Ada Lovelace,pro",
  "+14155550102,Alan Turing,basic",
  "12345,Grace Hopper,pro",
  "+14155550103,Edsger Dijkstra,pro",
  "call me maybe,Barbara Liskov,basic",
  "+14155550104,Donald Knuth,pro",
  "+14155550101,Ada again,pro",
  "+14155550105,Margaret Hamilton,basic"
].join("\n")

/** A window open now in UTC whatever the hour: from an hour ago to two hours ahead (past midnight when it must). */
const windowAroundNow = () => {
  const hour = new Date().getUTCHours()
  const hh = (h: number) => `${String((h + 24) % 24).padStart(2, "0")}:00`
  return { start: hh(hour - 1), end: hh(hour + 2) }
}

let host: Host
let browser: Browser

beforeAll(async () => {
  mkdirSync(outputDir, { recursive: true })
  ;[host, browser] = await Promise.all([
    start(),
    chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-dev-shm-usage"] })
  ])
  // PGlite's first boot (initdb in WebAssembly, then the migrations) is most of this on a loaded machine.
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await host?.close()
})

/** Serious and critical axe-core violations on the page as it now is. */
const axeViolations = async (page: Page) => {
  // Evaluated through the protocol: the page's CSP rightly refuses inline scripts.
  await page.evaluate(`${axeSource};0`)
  const results: any = await page.evaluate(`axe.run(document, { resultTypes: ["violations"] })`)
  return (results.violations as Array<{ id: string; impact: string; nodes: Array<{ target: unknown; failureSummary: string }> }>)
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => `${JSON.stringify(n.target)} ${n.failureSummary}`) }))
}

const shoot = (page: Page, name: string, fullPage = true) => page.screenshot({ path: `${outputDir}${name}.png`, fullPage })

const createScheduled = async (name: string) => {
  const start = new Date(Date.now() + 6 * 3_600_000).toISOString()
  const response = await fetch(`${host.api}/batches`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, agentId, scheduledStartTime: start, contacts: [{ phone: "+14155550190", name: "Later" }, { phone: "+14155550191" }] })
  })
  expect(response.status).toBe(201)
  return (await response.json() as { batchJobId: string }).batchJobId
}

describe("dashboard in Chromium", () => {
  it("uploads, fixes a row, creates with a window, follows it live, pauses and resumes another, with no serious a11y violation", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const failedRequests: Array<string> = []
    page.on("response", (response) => {
      if (response.status() >= 500) failedRequests.push(`${response.status()} ${response.url()}`)
    })
    page.on("pageerror", (error) => failedRequests.push(`page error: ${error.message}`))

    // The mount path without its slash serves the page, whose assets load from under the mount.
    await page.goto(host.dashboard)
    await page.getByRole("heading", { level: 1, name: "Batches" }).waitFor()
    expect(await page.title()).toBe("Support calls")

    // A file whose phone column is not recognised asks for the column.
    await page.getByRole("link", { name: "New batch" }).first().click()
    await page.getByRole("heading", { level: 1, name: "New batch" }).waitFor()
    await page.setInputFiles("#contacts-file", { name: "mobiles.csv", mimeType: "text/csv", buffer: Buffer.from("mobile,name\n+14155550150,Ada\n") })
    await page.getByRole("group", { name: "Column mapping" }).waitFor()
    await page.locator("#map-phone").selectOption("mobile")
    await page.getByRole("tab", { name: "Accepted (1)" }).waitFor()

    // The broken file: both tabs, with row numbers and reasons.
    await page.setInputFiles("#contacts-file", { name: "contacts.csv", mimeType: "text/csv", buffer: Buffer.from(brokenCsv) })
    const rejectedTab = page.getByRole("tab", { name: "Rejected (2)" })
    await rejectedTab.waitFor()
    const rejectedPanel = page.getByRole("tabpanel")
    await expect.poll(() => rejectedPanel.innerText()).toContain("call me maybe")
    expect(await rejectedPanel.getByRole("row").filter({ hasText: "12345" }).locator("td").first().innerText()).toBe("4")
    await page.getByRole("tab", { name: "Accepted (6)" }).click()
    await expect.poll(() => page.getByRole("tabpanel").innerText()).toContain("duplicate of row 2")
    await rejectedTab.click()
    // The rejected rows download as the API writes them, to correct in a spreadsheet.
    const [rejectedDownload] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export rejected rows (CSV)" }).click()
    ])
    expect(rejectedDownload.suggestedFilename()).toBe("rejected-rows.csv")
    const rejectedLines = readFileSync(await rejectedDownload.path(), "utf8").trim().split(/\r?\n/)
    expect(rejectedLines[0]).toBe("row,error_code,error_field,error_message,phone,name,external_id,ignore_e164_validation,plan")
    expect(rejectedLines.slice(1).map((line) => line.split(",")[0])).toEqual(["4", "6"])
    expect(rejectedLines[2]).toContain("call me maybe,Barbara Liskov")
    await shoot(page, "new-batch-report")
    expect(await axeViolations(page)).toEqual([])

    // The tabs answer the arrow keys.
    await rejectedTab.focus()
    await page.keyboard.press("ArrowLeft")
    expect(await page.getByRole("tab", { name: "Accepted (6)" }).getAttribute("aria-selected")).toBe("true")
    await page.keyboard.press("ArrowRight")
    expect(await rejectedTab.getAttribute("aria-selected")).toBe("true")

    // Fix row 4 in place: it is re-validated as it is typed.
    await page.getByRole("button", { name: "Edit row 4" }).click()
    const phone = page.locator("#fix-4-phone")
    await phone.fill("+1415555")
    await page.locator("#fix-4-verdict").filter({ hasText: "✗" }).waitFor()
    await phone.fill("+14155550106")
    await page.locator("#fix-4-verdict").filter({ hasText: "Accepted as +14155550106" }).waitFor()
    await shoot(page, "new-batch-fix-row")

    // Settings, with a zone the server refuses: its error shows next to the field.
    await page.locator("#s-name").fill("Renewals — browser test")
    await page.locator("#s-agentId").fill(agentId)
    await page.locator("#s-maxAttempts").fill("1")
    await page.locator("#s-concurrentCallLimit").fill("4")
    for (let day = 1; day <= 7; day++) await page.locator(`#day-${day}`).check()
    const openNow = windowAroundNow()
    await page.locator("#w-0-start").fill(openNow.start)
    await page.locator("#w-0-end").fill(openNow.end)
    await page.locator("#s-timezone").fill("Mars/Olympus_Mons")
    // The estimate counts the fixed row.
    await expect.poll(() => page.locator(".estimate dd").first().innerText()).toBe("7")
    await page.getByRole("button", { name: "Create and start" }).click()
    await page.locator("#s-timezone-error").waitFor()
    expect(await page.locator("#s-timezone-error").innerText()).toMatch(/time ?zone/i)
    await shoot(page, "new-batch-settings-error")
    await page.locator("#s-timezone").fill("UTC")
    await page.getByRole("button", { name: "Create and start" }).click()

    // The batch's page follows the batch over Server-Sent Events until it completes.
    const heading = page.getByRole("heading", { level: 1, name: "Renewals — browser test" })
    await heading.waitFor()
    const badge = page.locator(".page-head .badge")
    await page.locator(".live-live, .live-ended").first().waitFor()
    await page.locator(".page-head .badge-completed").waitFor({ timeout: 30_000 })
    // The stream's `end` follows the final progress (a `batch` event may show the status first): then the page stops listening.
    await page.locator(".live-ended").waitFor()
    await expect.poll(() => page.locator("#progress-summary").innerText()).toMatch(/^7 of 7 done/)
    expect(await page.locator(".live").innerText()).toBe("Final")
    expect(await badge.innerText()).toBe("completed")
    await shoot(page, "batch-detail")
    expect(await axeViolations(page)).toEqual([])

    // Contacts filtered by status; a contact's history in its drawer.
    const batchId = decodeURIComponent(new URL(page.url()).hash.replace("#/batches/", ""))
    const { progress } = await (await fetch(`${host.api}/batches/${batchId}?contactsPageSize=1`)).json() as {
      progress: { statusBreakdown: Record<string, number> }
    }
    // The commonest outcome (the simulated calls draw them at random).
    const [outcome, count] = Object.entries(progress.statusBreakdown).sort((a, b) => b[1] - a[1])[0]!
    expect(await page.locator(".legend").innerText()).toContain(`${outcome.replace(/_/g, " ")} ${count}`)
    await page.locator("#contact-status").selectOption(outcome)
    await expect.poll(() => page.locator(".contacts-table tbody tr").count()).toBe(count)
    expect(new Set(await page.locator(".contacts-table tbody .badge").allInnerTexts())).toEqual(new Set([outcome.replace(/_/g, " ")]))
    await page.locator(".contacts-table tbody tr").first().getByRole("button", { name: /^History of/ }).click()
    const drawer = page.getByRole("dialog")
    await drawer.waitFor()
    await expect.poll(() => drawer.innerText()).toContain("Decisions")
    expect(await drawer.innerText()).toMatch(/Attempts\s*1 of 1/)
    await page.keyboard.press("Escape")
    await drawer.waitFor({ state: "hidden" })

    // Search: a name by a piece of it, then a number by its digits, with the status filter off.
    await page.locator("#contact-status").selectOption("")
    await page.locator("#contact-search").fill("turing")
    await expect.poll(() => page.locator(".contacts-table tbody tr").allInnerTexts()).toEqual([expect.stringContaining("Alan Turing")])
    await page.locator("#contact-search").fill("555-0103")
    await expect.poll(() => page.locator(".contacts-table tbody tr").allInnerTexts()).toEqual([expect.stringContaining("Edsger Dijkstra")])
    await page.locator("#contact-search").fill("turing")
    await expect.poll(() => page.locator(".contacts-table tbody tr").allInnerTexts()).toEqual([expect.stringContaining("Alan Turing")])

    // The contact's history: its attempt (caller number, times, outcome, SIP code, talk time) and the decision that dialed it.
    await page.getByRole("button", { name: "History of +14155550102" }).click()
    await drawer.waitFor()
    const attemptRows = drawer.locator(".attempts-table tbody tr")
    await expect.poll(() => attemptRows.count()).toBe(1)
    const attempt = await attemptRows.first().innerText()
    expect(attempt).toMatch(/^1\s/)
    expect(await attemptRows.first().locator('td[data-label="Caller"]').innerText()).not.toBe("")
    expect(await attemptRows.first().locator('td[data-label="Outcome"] .badge').count()).toBe(1)
    const decisionRows = drawer.locator(".decisions li")
    expect(await decisionRows.count()).toBeGreaterThanOrEqual(1)
    expect(await decisionRows.first().innerText()).toMatch(/^dial by eligibility: \S/)
    await shoot(page, "contact-drawer", false)
    expect(await axeViolations(page)).toEqual([])
    await page.keyboard.press("Escape")
    await drawer.waitFor({ state: "hidden" })

    // Export: the link carries the search; the CSV it serves holds the matching contact with its results.
    const exportLink = page.locator("#contacts-export")
    await expect.poll(() => exportLink.innerText()).toBe("Export these contacts (CSV)")
    const exported = await page.evaluate(async (href) => {
      const response = await fetch(href!)
      return { status: response.status, type: response.headers.get("content-type"), text: await response.text() }
    }, await exportLink.getAttribute("href"))
    expect(exported.status).toBe(200)
    expect(exported.type).toMatch(/^text\/csv/)
    const exportedLines = exported.text.trim().split(/\r?\n/)
    expect(exportedLines[0]).toBe(
      "contact_id,status,attempts,max_attempts,last_outcome,sip_code,duration_seconds,failure_reason," +
        "last_attempt_at,next_retry_at,completed_at,external_id,name,phone,plan"
    )
    expect(exportedLines).toHaveLength(2)
    expect(exportedLines[1]).toMatch(/,1,1,/)
    // The number's leading `+` is neutralised like any formula cell (OWASP CSV injection); the importer reads it back.
    expect(exportedLines[1]).toContain(",Alan Turing,'+14155550102,basic")

    // Pause and resume another batch, each behind a confirmation.
    const laterId = await createScheduled("Follow-ups next shift")
    await page.goto(`${host.dashboard}#/batches/${laterId}`)
    await page.getByRole("heading", { level: 1, name: "Follow-ups next shift" }).waitFor()
    await page.locator(".page-head .badge-scheduled").waitFor()
    expect(await page.locator(".waiting").innerText()).toMatch(/^Scheduled to start/)
    await page.getByRole("button", { name: "Pause", exact: true }).click()
    await page.getByRole("dialog").getByRole("button", { name: "Pause" }).click()
    await page.locator(".page-head .badge-paused").waitFor()
    expect(await page.locator(".waiting").innerText()).toMatch(/^Paused/)
    await page.getByRole("button", { name: "Resume", exact: true }).click()
    await page.getByRole("dialog").getByRole("button", { name: "Resume" }).click()
    await page.locator(".page-head .badge-scheduled").waitFor()

    // A draft: add recipients from pasted rows, remove one not dialed, then start it.
    const draft = await fetch(`${host.api}/batches`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Draft list", agentId, draft: true, contacts: [{ phone: "+14155550170", name: "First" }, { phone: "+14155550171", name: "Second" }] })
    })
    expect(draft.status).toBe(201)
    await page.goto(`${host.dashboard}#/batches/${(await draft.json() as { batchJobId: string }).batchJobId}`)
    await page.getByRole("heading", { level: 1, name: "Draft list" }).waitFor()
    await page.getByText("Or paste rows").click()
    await page.locator("#add-paste").fill("phone,name\n+14155550172,Third\n")
    await page.getByRole("button", { name: "Use these rows" }).click()
    await page.getByRole("status").filter({ hasText: "Added 1" }).waitFor()
    await expect.poll(() => page.locator(".contacts-table tbody tr").count()).toBe(3)
    await page.locator(".contacts-table tbody tr").filter({ hasText: "+14155550170" }).getByRole("button", { name: "Remove" }).click()
    await page.getByRole("dialog").getByRole("button", { name: "Remove +14155550170" }).click()
    await expect.poll(() => page.locator(".contacts-table tbody").innerText()).not.toContain("+14155550170")
    expect(await page.locator(".contacts-table tbody tr").count()).toBe(2)
    await page.getByRole("button", { name: "Start", exact: true }).click()
    await page.getByRole("dialog").getByRole("button", { name: "Start" }).click()
    await page.locator(".page-head .badge:not(.badge-draft)").waitFor()

    // The list: both batches with their progress, filtered by status and searched by name.
    await page.goto(`${host.dashboard}#/`)
    await page.getByRole("link", { name: "Renewals — browser test" }).waitFor()
    await page.getByRole("link", { name: "Follow-ups next shift" }).waitFor()
    await expect.poll(() => page.getByRole("progressbar", { name: /Renewals.*7 of 7/ }).count()).toBe(1)
    await shoot(page, "batches-list")
    expect(await axeViolations(page)).toEqual([])
    await page.locator("#batch-status").selectOption("scheduled")
    await expect.poll(() => page.locator("table.batches tbody tr").allInnerTexts()).toEqual([expect.stringContaining("Follow-ups next shift")])
    await page.locator("#batch-status").selectOption("")
    await page.locator("#batch-search").fill("renewals")
    await expect.poll(() => page.locator("table.batches tbody tr").allInnerTexts()).toEqual([expect.stringContaining("Renewals")])

    // Phone width: the same pages, tables laid out as cards.
    const phonePage = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
    await phonePage.goto(`${host.dashboard}#/`)
    await phonePage.getByRole("link", { name: "Renewals — browser test" }).waitFor()
    await shoot(phonePage, "phone-batches-list")
    await phonePage.getByRole("link", { name: "Renewals — browser test" }).click()
    await phonePage.locator(".page-head .badge-completed").waitFor()
    await phonePage.locator(".contacts-table tbody tr").first().waitFor()
    await shoot(phonePage, "phone-batch-detail")
    await phonePage.goto(`${host.dashboard}#/new`)
    await phonePage.getByRole("heading", { level: 1, name: "New batch" }).waitFor()
    await shoot(phonePage, "phone-new-batch")
    expect(await axeViolations(phonePage)).toEqual([])
    // Nothing overflows sideways at phone width.
    expect(await phonePage.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")).toBe(true)

    expect(failedRequests).toEqual([])
    for (const name of ["batches-list", "new-batch-report", "batch-detail", "contact-drawer", "phone-batch-detail"]) {
      expect(existsSync(`${outputDir}${name}.png`)).toBe(true)
    }
  // 43–72 s measured on 2 cores at load average 14–18; the bound leaves room for a CI box shared with other jobs.
  }, 180_000)

  it("lists, adds and removes a do-not-call number, and creates a webhook endpoint showing its secret once", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })

    await page.goto(`${host.dashboard}#/do-not-call`)
    await page.getByRole("heading", { level: 1, name: "Do not call" }).waitFor()
    // A number the API refuses: its message goes beside the field.
    await page.locator("#dnc-number").fill("12")
    await page.getByRole("button", { name: "Add", exact: true }).click()
    await page.locator("#dnc-number-error").waitFor()
    await page.locator("#dnc-number").fill("+1 415 555 0199")
    await page.getByRole("button", { name: "Add", exact: true }).click()
    await page.getByRole("status").filter({ hasText: "+14155550199 added" }).waitFor()
    expect(await page.locator("#dnc-number-error").count()).toBe(0)
    await page.locator(".dnc-table tbody tr").filter({ hasText: "+14155550199" }).waitFor()
    await page.locator("#dnc-check").fill("+14155550199")
    await page.getByRole("button", { name: "Check", exact: true }).click()
    await page.getByRole("status").filter({ hasText: "+14155550199 is on the list" }).waitFor()
    await shoot(page, "do-not-call")
    expect(await axeViolations(page)).toEqual([])
    await page.locator(".dnc-table tbody tr").filter({ hasText: "+14155550199" }).getByRole("button", { name: "Remove" }).click()
    await page.getByRole("dialog").getByRole("button", { name: "Remove +14155550199" }).click()
    await expect.poll(() => page.locator(".dnc-table tbody").innerText()).not.toContain("+14155550199")
    // A file with one good row and one refused: the count, and the refused row with its reason.
    await page.locator("#dnc-file").setInputFiles({ name: "opt-outs.csv", mimeType: "text/csv", buffer: Buffer.from("phone\n+14155550198\nnot a number\n") })
    await page.getByRole("status").filter({ hasText: "opt-outs.csv: 1 of 2 rows added, 1 refused" }).waitFor()
    await page.locator(".problems li").filter({ hasText: "Row" }).waitFor()
    await page.locator(".dnc-table tbody tr").filter({ hasText: "+14155550198" }).waitFor()

    await page.goto(`${host.dashboard}#/webhooks`)
    await page.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor()
    const receiver = `${new URL(host.api).origin}/hooks/receiver`
    await page.locator("#hook-url").fill(receiver)
    await page.locator("#hook-description").fill("CRM sync")
    await page.getByText("Events to send: all").click()
    await page.getByRole("group", { name: "Batch events" }).getByLabel("created").check()
    await page.getByRole("button", { name: "Add endpoint" }).click()
    const secret = await page.locator(".secret-value").innerText()
    expect(secret).toMatch(/^whsec_/)
    const row = page.locator(".hooks-table tbody tr").filter({ hasText: receiver })
    await row.waitFor()
    expect(await row.innerText()).toContain("batch.created")
    // A new batch makes a delivery; the host has no receiver there, so it answers 404 and the log says so.
    const draft = await fetch(`${host.api}/batches`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Webhook trigger", agentId, draft: true, contacts: [{ phone: "+14155550180" }] })
    })
    expect(draft.status).toBe(201)
    await row.getByRole("button", { name: "Deliveries" }).click()
    await page.getByRole("heading", { level: 2, name: `Deliveries to ${receiver}` }).waitFor()
    const delivery = page.locator(".deliveries tbody tr").filter({ hasText: "batch.created" })
    await expect.poll(async () => {
      await page.getByRole("button", { name: "Refresh" }).click()
      return (await delivery.innerText().catch(() => "")).includes("404")
    }, { timeout: 90_000 }).toBe(true)
    await shoot(page, "webhooks")
    expect(await axeViolations(page)).toEqual([])
    // Sent again with its tries counted afresh: the sender may already have
    // tried it (and met the 404 again) by the time the list reloads, so the
    // answer to the request is what says it was queued.
    const redelivered = page.waitForResponse((response) => response.url().endsWith("/redeliver"))
    await delivery.getByRole("button", { name: "Redeliver" }).click()
    expect((await redelivered).ok()).toBe(true)
    // Shown once: the list never carries it again.
    await page.reload()
    await row.waitFor()
    expect(await page.locator(".secret-value").count()).toBe(0)
    expect(await page.content()).not.toContain(secret)
    await row.getByRole("button", { name: "Disable" }).click()
    await row.locator(".badge-disabled").waitFor()
    for (const name of ["do-not-call", "webhooks"]) expect(existsSync(`${outputDir}${name}.png`)).toBe(true)
  }, 180_000)
})
