/**
 * Contact files as rows of cell texts, in batches, whatever their format:
 * CSV (papaparse, streamed; UTF-8 with or without BOM, UTF-16 with BOM;
 * comma, semicolon or tab), XLSX (exceljs' streaming reader), legacy XLS
 * (`@e965/xlsx`, read whole since the format needs it) and JSON arrays. The
 * first row is the header. The type comes from the file's first bytes, not
 * its name. The spreadsheet libraries load on first use.
 */
import { Readable } from "node:stream"
import * as Stream from "effect/Stream"
import Papa from "papaparse"
import { restoreCell } from "../ContactExport.ts"
import * as InputGuard from "../InputGuard.ts"
import { InvalidInput } from "../OutdialError.ts"
import { cellText } from "./cellText.ts"

export interface Batch {
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
  /** The file row of `rows[0]`; the header is row 1. */
  readonly firstRow: number
  /** File row of each row, when rows are not consecutive. */
  readonly rowNumbers?: ReadonlyArray<number> | undefined
  /** JSON contacts: each cell's value as sent (`rows` holds its text); none for a row of text only. */
  readonly values?: ReadonlyArray<ReadonlyArray<unknown> | undefined> | undefined
}

const rowsPerBatch = 500

// CSV rows are handed on in small batches, the parser pausing after each: a
// row then lives only while the rows around it are validated. Rows parsed
// ahead by the thousand outlive young-generation collections, V8 then
// pretenures papaparse's row arrays, and every later row (with its cells,
// and through sliced cells the chunk text) lands in the old generation,
// which grew by ~80 MB between full collections on a million-row file.
const csvRowsPerBatch = 50

type Kind = "csv" | "xlsx" | "xls" | "json"

const fileTooLarge = (limit: number) =>
  new InvalidInput({
    code: "file_too_large",
    field: "file",
    message: `The file is larger than ${formatBytes(limit)}`,
    details: { limitBytes: limit }
  })

const formatBytes = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB` : `${Math.round(bytes / 1024)} KB`

const unsupported = (what: string) =>
  new InvalidInput({
    code: "unsupported_file_type",
    field: "file",
    message: `${what}: upload a CSV, XLSX or XLS file`
  })

export const invalidCsv = (message: string, line?: number) =>
  new InvalidInput({
    code: "invalid_csv",
    field: "file",
    message,
    ...(line === undefined ? {} : { details: { line } })
  })

/** The content as chunks, counting bytes and stopping at once past `limit`. */
async function* limited(content: Uint8Array | AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  if (content instanceof Uint8Array) {
    if (content.byteLength > limit) throw fileTooLarge(limit)
    // Slices keep papaparse and exceljs streaming even for a file given whole.
    for (let offset = 0; offset < content.byteLength; offset += 1 << 20) yield content.subarray(offset, offset + (1 << 20))
    return
  }
  let total = 0
  for await (const chunk of content) {
    total += chunk.byteLength
    if (total > limit) throw fileTooLarge(limit)
    yield chunk
  }
}

/** Reads until at least `bytes` are seen, and gives them back with the rest still to come. */
const peek = async (chunks: AsyncGenerator<Uint8Array>, bytes: number) => {
  const head: Array<Uint8Array> = []
  let seen = 0
  while (seen < bytes) {
    const next = await chunks.next()
    if (next.done) break
    head.push(next.value)
    seen += next.value.byteLength
  }
  const prefix = concat(head)
  async function* all(): AsyncGenerator<Uint8Array> {
    if (prefix.byteLength > 0) yield prefix
    yield* chunks
  }
  return { prefix, all: all() }
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

const startsWith = (bytes: Uint8Array, magic: ReadonlyArray<number>) => magic.every((byte, i) => bytes[i] === byte)

type Encoding = "utf-8" | "utf-16le" | "utf-16be"

const detect = (prefix: Uint8Array, name: string, contentType: string): { kind: Kind; encoding: Encoding } | InvalidInput => {
  if (startsWith(prefix, [0x50, 0x4b, 0x03, 0x04])) return { kind: "xlsx", encoding: "utf-8" }
  if (startsWith(prefix, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return { kind: "xls", encoding: "utf-8" }
  if (startsWith(prefix, [0xff, 0xfe])) return { kind: "csv", encoding: "utf-16le" }
  if (startsWith(prefix, [0xfe, 0xff])) return { kind: "csv", encoding: "utf-16be" }
  // Text has no NUL bytes and few control characters.
  let control = 0
  for (let i = 0; i < prefix.byteLength; i++) {
    const byte = prefix[i]!
    if (byte === 0) return unsupported(`${name || "The file"} is not a text or spreadsheet file`)
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20) || byte === 0x7f) control++
  }
  if (control > prefix.byteLength / 20) return unsupported(`${name || "The file"} is not a text or spreadsheet file`)
  const text = new TextDecoder().decode(prefix.subarray(0, 64)).trimStart().replace(/^\uFEFF/, "")
  if (text.startsWith("[") && (name.endsWith(".json") || contentType.includes("json"))) {
    return { kind: "json", encoding: "utf-8" }
  }
  return { kind: "csv", encoding: "utf-8" }
}

async function* decode(chunks: AsyncIterable<Uint8Array>, encoding: Encoding): AsyncGenerator<string> {
  // The decoder drops a byte-order mark.
  const decoder = new TextDecoder(encoding)
  for await (const chunk of chunks) {
    const text = decoder.decode(chunk, { stream: true })
    if (text !== "") yield text
  }
  const tail = decoder.decode()
  if (tail !== "") yield tail
}

// Papaparse's types know browser files, not Node streams, which it reads all the same.
const parseStream = Papa.parse as unknown as (input: Readable, config: Record<string, unknown>) => void

/** Papaparse's streaming parser as batches of rows, pausing it while batches wait. */
async function* csvBatches(text: AsyncIterable<string>): AsyncGenerator<Batch> {
  const ready: Array<Batch> = []
  let finished = false
  let failure: unknown
  let wake: (() => void) | undefined
  let parser: Papa.Parser | undefined
  let paused = false
  let current: Array<Array<string>> = []
  let firstRow = 1
  let record = 0
  let line = 1
  const notify = () => {
    const resolve = wake
    wake = undefined
    resolve?.()
  }
  // No decoded chunk read ahead (Readable.from buffers sixteen by default):
  // a chunk held that long is promoted, and so is every cell sliced from it.
  const input = Readable.from(text, { highWaterMark: 0 })
  input.on("error", (error) => {
    failure ??= error
    finished = true
    notify()
  })
  parseStream(input, {
    delimitersToGuess: [",", ";", "\t"],
    step: (results: Papa.ParseStepResult<Array<string>>, handle: Papa.Parser) => {
      parser = handle
      if (failure !== undefined) return
      record++
      const quotes = results.errors.find((error) => error.type === "Quotes")
      if (quotes !== undefined) {
        failure = invalidCsv(`Unreadable CSV: ${quotes.message.toLowerCase()} at line ${line} (row ${record})`, line)
        handle.abort()
        notify()
        return
      }
      const cells = results.data
      for (let c = 0; c < cells.length; c++) {
        const cell = cells[c]!
        for (let i = cell.indexOf("\n"); i !== -1; i = cell.indexOf("\n", i + 1)) line++
        // A cell an export neutralised against formulas reads back as it was.
        if (cell.charCodeAt(0) === 39) cells[c] = restoreCell(cell)
      }
      line++
      current.push(cells)
      if (current.length >= csvRowsPerBatch) {
        ready.push({ rows: current, firstRow })
        firstRow = record + 1
        current = []
        if (!paused) {
          paused = true
          handle.pause()
          // Papaparse's own pause leaves the stream flowing into its queue.
          input.pause()
        }
        notify()
      }
    },
    complete: () => {
      if (current.length > 0 && failure === undefined) ready.push({ rows: current, firstRow })
      current = []
      finished = true
      notify()
    },
    error: (error: unknown) => {
      failure ??= error
      finished = true
      notify()
    }
  })
  try {
    while (true) {
      const batch = ready.shift()
      if (batch !== undefined) {
        yield batch
        if (paused && ready.length === 0) {
          paused = false
          input.resume()
          parser?.resume()
        }
        continue
      }
      if (failure !== undefined) throw failure
      if (finished) return
      await new Promise<void>((resolve) => (wake = resolve))
    }
  } finally {
    if (!finished) parser?.abort()
    input.destroy()
  }
}

async function* xlsxBatches(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Batch> {
  // Spreadsheet libraries are large; only files that need them load them.
  const { default: ExcelJS } = await import("exceljs")
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(Readable.from(chunks), {
    sharedStrings: "cache",
    hyperlinks: "ignore",
    styles: "cache",
    worksheets: "emit",
    entries: "emit"
  })
  let rows: Array<Array<string>> = []
  let numbers: Array<number> = []
  try {
    for await (const worksheet of reader) {
      for await (const row of worksheet as AsyncIterable<import("exceljs").Row>) {
        const values = row.values as Array<unknown>
        const cells: Array<string> = []
        for (let i = 1; i < values.length; i++) cells.push(cellText(values[i]).trim())
        rows.push(cells)
        numbers.push(row.number)
        if (rows.length >= rowsPerBatch) {
          yield { rows, firstRow: numbers[0]!, rowNumbers: numbers }
          rows = []
          numbers = []
        }
      }
      // Only the first sheet holds contacts.
      break
    }
  } catch (error) {
    if (error instanceof InvalidInput) throw error
    throw invalidCsv(`Unreadable XLSX file: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (rows.length > 0) yield { rows, firstRow: numbers[0]!, rowNumbers: numbers }
}

const collect = async (chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> => {
  const parts: Array<Uint8Array> = []
  for await (const chunk of chunks) parts.push(chunk)
  return concat(parts)
}

async function* xlsBatches(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Batch> {
  const bytes = await collect(chunks)
  const XLS = await import("@e965/xlsx")
  let table: Array<Array<unknown>>
  let offset = 0
  try {
    const workbook = XLS.read(bytes, { type: "array", cellDates: true, dense: true })
    const sheet = workbook.Sheets[workbook.SheetNames[0] ?? ""]
    if (sheet === undefined) return
    offset = sheet["!ref"] === undefined ? 0 : XLS.utils.decode_range(sheet["!ref"]).s.r
    table = XLS.utils.sheet_to_json<Array<unknown>>(sheet, { header: 1, raw: true, defval: "", blankrows: true })
  } catch (error) {
    throw invalidCsv(`Unreadable XLS file: ${error instanceof Error ? error.message : String(error)}`)
  }
  for (let start = 0; start < table.length; start += rowsPerBatch) {
    yield {
      rows: table.slice(start, start + rowsPerBatch).map((row) => row.map((cell) => cellText(cell).trim())),
      firstRow: offset + start + 1
    }
  }
}

/** Every key of the objects, in order of first appearance, with its column. */
const headerOf = (objects: ReadonlyArray<unknown>): Map<string, number> => {
  const columns = new Map<string, number>()
  for (let i = 0; i < objects.length; i++) {
    const object = objects[i]
    const keys = object !== null && typeof object === "object" && !Array.isArray(object) ? Object.keys(object) : []
    for (let k = 0; k < keys.length; k++) if (!columns.has(keys[k]!)) columns.set(keys[k]!, columns.size)
  }
  return columns
}

/** Objects `start` to `end` as rows under the header's columns. */
const objectRows = (objects: ReadonlyArray<unknown>, start: number, end: number, columns: Map<string, number>): Batch => {
  const rows: Array<Array<string>> = new Array(end - start)
  let values: Array<Array<unknown> | undefined> | undefined
  for (let i = start; i < end; i++) {
    const object = objects[i]
    const texts: Array<string> = new Array(columns.size).fill("")
    let typed: Array<unknown> | undefined // The values as sent, once one is not text (text reads as its text either way).
    const keys = object !== null && typeof object === "object" && !Array.isArray(object) ? Object.keys(object) : []
    for (let k = 0; k < keys.length; k++) {
      const column = columns.get(keys[k]!)!
      const value = (object as Readonly<Record<string, unknown>>)[keys[k]!]
      if (typeof value === "string") texts[column] = value
      else if (value !== undefined) {
        texts[column] = typeof value === "object" && value !== null ? JSON.stringify(value) : cellText(value)
        ;(typed ??= new Array(columns.size))[column] = value
      }
    }
    rows[i - start] = texts
    if (typed !== undefined) (values ??= new Array(end - start).fill(undefined))[i - start] = typed
  }
  return { rows, firstRow: start + 1, ...(values === undefined ? {} : { values }) }
}

/**
 * JSON contacts as batches of rows, made one batch at a time as the import
 * pulls them: made all at once, a large list's cells outlived young
 * collections and were copied into the old generation before any was read.
 */
const objectBatches = (objects: ReadonlyArray<unknown>): Iterable<Batch> => ({
  *[Symbol.iterator]() {
    const columns = headerOf(objects)
    yield { rows: [[...columns.keys()]], firstRow: 0 }
    for (let at = 0; at < objects.length; at += rowsPerBatch) yield objectRows(objects, at, Math.min(objects.length, at + rowsPerBatch), columns)
  }
})

async function* jsonBatches(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Batch> {
  const text = new TextDecoder().decode(await collect(chunks))
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw invalidCsv(`Unreadable JSON file: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (!Array.isArray(parsed)) throw invalidCsv("A JSON contact file holds an array of contacts")
  const hostile = InputGuard.check(parsed)
  if (hostile !== undefined) throw invalidCsv(`Unreadable JSON file: ${hostile.message}`)
  yield* objectBatches(parsed)
}

async function* fileBatches(
  file: { readonly content: Uint8Array | AsyncIterable<Uint8Array>; readonly filename?: string | undefined; readonly contentType?: string | undefined },
  maxFileBytes: number
): AsyncGenerator<Batch> {
  const { all, prefix } = await peek(limited(file.content, maxFileBytes), 4096)
  const detected = detect(prefix.subarray(0, 4096), (file.filename ?? "").toLowerCase(), (file.contentType ?? "").toLowerCase())
  if (detected instanceof InvalidInput) throw detected
  switch (detected.kind) {
    case "xlsx":
      return yield* xlsxBatches(all)
    case "xls":
      return yield* xlsBatches(all)
    case "json":
      return yield* jsonBatches(all)
    case "csv":
      return yield* csvBatches(decode(all, detected.encoding))
  }
}

const asInvalidInput = (error: unknown): InvalidInput =>
  error instanceof InvalidInput
    ? error
    : invalidCsv(`Unreadable file: ${error instanceof Error ? error.message : String(error)}`)

export const fromFile = (
  file: { readonly content: Uint8Array | AsyncIterable<Uint8Array>; readonly filename?: string | undefined; readonly contentType?: string | undefined },
  options: { readonly maxFileBytes: number }
): Stream.Stream<Batch, InvalidInput> =>
  Stream.fromAsyncIterable({ [Symbol.asyncIterator]: () => fileBatches(file, options.maxFileBytes) }, asInvalidInput)

/** JSON contacts: row numbers count from 1, the header being the keys (row 0). */
export const fromObjects = (objects: ReadonlyArray<unknown>): Stream.Stream<Batch, InvalidInput> =>
  Stream.fromIterable(objectBatches(objects), { chunkSize: 1 })
