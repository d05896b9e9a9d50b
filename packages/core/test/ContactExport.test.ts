import { describe, expect, it } from "@effect/vitest"
import type { BatchStore } from "@outdial/core/BatchStore"
import * as ContactExport from "@outdial/core/ContactExport"
import * as ContactSearch from "@outdial/core/ContactSearch"
import * as MemoryBatchStore from "@outdial/core/MemoryBatchStore"
import { makeBatch, newContacts } from "@outdial/testing/StoreFixtures"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import Papa from "papaparse"

const triggers = ["=", "+", "-", "@", "\t", "\r"]

describe("ContactExport cells", () => {
  it("prefixes every cell a spreadsheet would run as a formula, and nothing else", () => {
    for (const trigger of triggers) expect(ContactExport.neutraliseCell(`${trigger}1+2`)).toBe(`'${trigger}1+2`)
    expect(ContactExport.neutraliseCell("Ann")).toBe("Ann")
    expect(ContactExport.neutraliseCell("")).toBe("")
    expect(ContactExport.neutraliseCell(" =1")).toBe(" =1")
    fc.assert(fc.property(fc.string(), (cell) => {
      expect(triggers).not.toContain(ContactExport.neutraliseCell(cell).charAt(0))
    }))
  })

  it("reads a neutralised cell back as it was", () => {
    fc.assert(fc.property(fc.string(), (cell) => {
      fc.pre(!/^'[=+\-@\t\r]/.test(cell))
      expect(ContactExport.restoreCell(ContactExport.neutraliseCell(cell))).toBe(cell)
    }))
    expect(ContactExport.restoreCell("'")).toBe("'")
    expect(ContactExport.restoreCell("'Brien")).toBe("'Brien")
  })

  it("writes rejected rows with their reasons and fields, quoted where CSV needs it", () => {
    const csv = ContactExport.rejectedCsv([{
      row: 3,
      field: "phone",
      code: "invalid_phone_format",
      message: "Not a phone number",
      value: "=cmd",
      contact: { phone: "=cmd", name: "Lee, \"Ann\"", externalId: null, ignoreE164Validation: false, customFields: { plan: "-1" } }
    }])
    expect(Papa.parse(csv, { skipEmptyLines: true }).data).toEqual([
      ["row", "error_code", "error_field", "error_message", "phone", "name", "external_id", "ignore_e164_validation", "plan"],
      ["3", "invalid_phone_format", "phone", "Not a phone number", "'=cmd", "Lee, \"Ann\"", "", "false", "'-1"]
    ])
    expect(csv.endsWith("\r\n")).toBe(true)
  })
})

describe("ContactExport.contactsCsv", () => {
  const exported = (store: BatchStore["Service"], batchId: string, options: ContactExport.Options) =>
    Effect.map(Stream.runCollect(ContactExport.contactsCsv(store, batchId, options)), (chunks) => ({
      chunks: chunks.length,
      rows: Papa.parse<Array<string>>(chunks.join(""), { skipEmptyLines: true }).data
    }))

  it.effect("reads the batch page by page: a chunk per page after the header", () =>
    Effect.gen(function*() {
      const store = MemoryBatchStore.make()
      const batch = makeBatch()
      yield* store.createBatch(batch, newContacts(50))
      const { chunks, rows } = yield* exported(store, batch.id, { pageSize: 7, importable: true })
      // The header, 8 pages, and the empty read that ends a run of full pages is not written.
      expect(chunks).toBe(1 + 8)
      expect(rows[0]).toEqual(["external_id", "name", "phone", "index", "plan"])
      expect(rows.slice(1).map((row) => row[1])).toEqual(newContacts(50).map((c) => c.name))
      expect(rows[1]![2]).toBe(`'${newContacts(1)[0]!.phone}`)
      const searched = yield* exported(store, batch.id, { pageSize: 2, search: ContactSearch.make("contact 4") })
      expect(searched.rows.slice(1).map((row) => row[12])).toEqual(["Contact 4", ...Array.from({ length: 10 }, (_, i) => `Contact ${40 + i}`)])
    }))
})
