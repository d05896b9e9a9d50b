/**
 * Contact files into contacts: one streaming pipeline for CSV, XLSX, legacy
 * XLS and JSON rows. Headers are matched loosely (`phone`, `phone_number`,
 * `phoneNumber`, …), every other column becomes a custom field, each number
 * is validated and normalized, and a report says which rows were accepted,
 * which were rejected and why (grouped by reason), and which numbers repeat.
 *
 * The file is never held whole (legacy XLS excepted, whose format needs it):
 * rows flow in chunks, accepted contacts can go to a sink chunk by chunk, so
 * a million-row file validates in bounded memory.
 *
 * Longer than ~400 lines because the row validator keeps the whole report
 * (counts, groups, duplicates, limits) in one class every format feeds.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { InvalidInput, type RowError, type RowErrorCode, type RowErrorGroup } from "./OutdialError.ts"
import type { NewContact } from "./BatchStore.ts"
import type { CustomFieldValue, CustomFields } from "./Contact.ts"
import * as InputGuard from "./InputGuard.ts"
import * as PhoneNumber from "./PhoneNumber.ts"
import * as FileRows from "./internal/fileRows.ts"
import * as NumberIndex from "./internal/numberIndex.ts"

/**
 * A contact file as it arrives: whole, or as a stream of chunks (a Node
 * `Readable` is an `AsyncIterable`).
 *
 * @since 0.1.0
 * @category models
 */
export interface FileSource {
  readonly content: Uint8Array | AsyncIterable<Uint8Array>
  readonly filename?: string | undefined
  readonly contentType?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly defaultCountry?: string | null | undefined
  readonly destinationPolicy?: PhoneNumber.DestinationPolicy | undefined
  /** Accept only the first row of each number; later ones are reported as duplicates. */
  readonly dropDuplicates?: boolean | undefined
  /** Accepted contacts allowed; `too_many_contacts` past it. Defaults to 10,000. */
  readonly maxContacts?: number | undefined
  /** Bytes allowed; `file_too_large` past it. Defaults to 50 MB. */
  readonly maxFileBytes?: number | undefined
  /** Rejected rows listed one by one in the report (all are counted and grouped). Defaults to 1,000. */
  readonly maxListedErrors?: number | undefined
  /** Which column holds what, for headers in another language or naming; the rest as detected. */
  readonly columnMapping?: ColumnMapping | undefined
  /**
   * JSON rows that `InputGuard.check` has passed already, in the body that
   * carried them (a create's `contacts`): not walked a second time.
   */
  readonly rowsChecked?: boolean | undefined
}

/**
 * A report's rejected rows as an error may carry them: without the rows'
 * data, which would otherwise echo the whole file.
 *
 * @since 0.1.0
 * @category reporting
 */
export const rejectedForError = (report: Report): ReadonlyArray<RowError> =>
  report.rejected.map(({ contact: _, ...error }) => error)

/**
 * The header of the column holding each field, matched without regard to
 * case or surrounding spaces.
 *
 * @since 0.1.0
 * @category models
 */
export interface ColumnMapping {
  readonly phone?: string | undefined
  readonly name?: string | undefined
  readonly externalId?: string | undefined
  readonly ignoreE164Validation?: string | undefined
}

const mappedRoles: ReadonlyArray<readonly [keyof ColumnMapping, Role]> = [
  ["phone", "phone"],
  ["name", "name"],
  ["externalId", "externalId"],
  ["ignoreE164Validation", "ignore"]
]

// Words a phone column's header tends to hold, in the languages contact lists arrive in.
const phoneHints = /phone|fone|fono|tel|mobil|m[oó]vil|cell|celular|handy|number|n[uú]mero|nummer|msisdn|whatsapp|contact|cont[aá]cto|call|sms/i

/** Headers most likely to be the phone column, best first: for an error that says what to map. */
const likelyPhoneColumns = (headers: ReadonlyArray<string>): Array<string> =>
  headers.filter((header) => phoneHints.test(header)).slice(0, 3).map(echo)

/**
 * @since 0.1.0
 * @category configuration
 */
export const defaults = {
  maxContacts: 10_000,
  maxFileBytes: 50 * 1024 * 1024,
  maxListedErrors: 1_000
} as const

/**
 * @since 0.1.0
 * @category models
 */
export interface Duplicate {
  readonly phone: string
  /** Every row holding the number, the first one included. */
  readonly rows: ReadonlyArray<number>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Report {
  /** Data rows read, blank rows left out. */
  readonly totalRows: number
  readonly acceptedCount: number
  readonly rejectedCount: number
  /** Duplicate rows left out by `dropDuplicates`. */
  readonly droppedDuplicates: number
  readonly rejected: ReadonlyArray<RowError>
  readonly errorGroups: ReadonlyArray<RowErrorGroup>
  readonly duplicates: ReadonlyArray<Duplicate>
  /** Headers as found in the file. */
  readonly headers: ReadonlyArray<string>
  readonly customFieldNames: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ValidatedReport extends Report {
  readonly accepted: ReadonlyArray<NewContact>
}

type Role = "phone" | "name" | "ignore" | "externalId" | "custom"

const roles: Record<string, Role> = {
  phone: "phone",
  phonenumber: "phone",
  name: "name",
  ignoree164validation: "ignore",
  externalid: "externalId"
}

const roleOf = (header: string): Role => roles[header.toLowerCase().replace(/[\s_-]/g, "")] ?? "custom"

const truthy = (value: string): boolean => /^(?:true|1|yes|y)$/i.test(value.trim())

const groupMessages: Record<RowErrorCode, string> = {
  missing_phone: "No phone number",
  invalid_phone_format: "Not a phone number",
  invalid_number: "Not a valid number for its country",
  unsupported_country: "Country not allowed",
  blocked_prefix: "Prefix not allowed",
  blocked_number_type: "Number type not allowed",
  invalid_field: "Invalid field"
}

const chunkSize = 500
const listedRowsPerGroup = 1_000

/**
 * What one contact row may hold: columns (the phone, name and flags
 * included, the rest custom fields) and characters in one cell.
 *
 * @since 0.1.0
 * @category configuration
 */
export const limits = {
  maxColumns: 200,
  maxCellLength: 8_192
} as const

// An error repeats at most this much of what the client sent: a file's
// header or a rejected cell may be megabytes long.
const echoedHeaders = 20
const echoedLength = 100

const echo = (text: string): string => text.length <= echoedLength ? text : `${text.slice(0, echoedLength)}…`

/** Why a JSON value cannot be a custom field. */
class Unfit {
  constructor(readonly problem: string) {}
}

/**
 * A JSON contact's custom field as sent: text, a finite number, a boolean or
 * null. An object or array is refused: an agent's dynamic variable is one
 * flat value, and keeping it as JSON text would change its type unseen.
 */
const typedValue = (value: unknown, text: string): CustomFieldValue | Unfit => {
  if (value === undefined || typeof value === "string") return text
  if (value === null || typeof value === "boolean") return value
  if (typeof value === "number") {
    // Past 2^53 an integer was already rounded when the JSON was read: refused rather than kept changed.
    return Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))
      ? value
      : new Unfit("is a number too large to keep exactly; send it as text")
  }
  return new Unfit("holds an object or a list; a custom field holds text, a number, true/false or null")
}

/**
 * Validates rows as they come and keeps the report. Rows are arrays of cell
 * texts under `header`; the first data row is `firstRow`.
 */
class RowValidator {
  readonly options: Options
  readonly maxContacts: number
  readonly maxListedErrors: number
  columns: Array<{ readonly role: Role; readonly name: string }> = []
  /** The names of the custom columns, in column order. */
  customNames: Array<string> = []
  headers: ReadonlyArray<string> = []
  phoneColumn = -1
  totalRows = 0
  acceptedCount = 0
  rejectedCount = 0
  droppedDuplicates = 0
  readonly rejected: Array<RowError> = []
  readonly groups = new Map<RowErrorCode, { count: number; rows: Array<number> }>()
  readonly seen = NumberIndex.make()
  readonly duplicates = new Map<string, Array<number>>()
  // Accepted contacts wait for the sink as columns, made into objects only
  // when handed over: a chunk of contact objects buffered over 500 rows
  // outlives young collections, and V8 then pretenures their allocation
  // site, sending every later contact (and the strings it holds) straight
  // to the old generation. Custom fields too (their per-row object was
  // found pretenured, 97 % of them born old): each accepted row's values, one
  // per custom column (`undefined` for a blank cell), in `acceptedCustom`.
  acceptedRows: Array<number> = []
  acceptedPhones: Array<string> = []
  acceptedValidated: Array<boolean> = []
  acceptedNames: Array<string | null> = []
  acceptedExternalIds: Array<string | null> = []
  acceptedCustom: Array<CustomFieldValue | undefined> = []

  /** How numbers are checked: made once, not per row. */
  readonly phoneOptions: { readonly checking: PhoneNumber.Options; readonly ignoring: PhoneNumber.Options }

  constructor(options: Options) {
    this.options = options
    const phoneOptions = { defaultCountry: options.defaultCountry, policy: options.destinationPolicy }
    this.phoneOptions = {
      checking: { ...phoneOptions, ignoreE164Validation: false },
      ignoring: { ...phoneOptions, ignoreE164Validation: true }
    }
    this.maxContacts = options.maxContacts ?? defaults.maxContacts
    this.maxListedErrors = options.maxListedErrors ?? defaults.maxListedErrors
  }

  setHeader(cells: ReadonlyArray<string>): InvalidInput | undefined {
    if (cells.length > limits.maxColumns) {
      return FileRows.invalidCsv(`The header has ${cells.length} columns; at most ${limits.maxColumns} are allowed`, 1)
    }
    const unreadable = cells.findIndex((cell) => cell.length > limits.maxCellLength || InputGuard.hasNul(cell))
    if (unreadable !== -1) {
      return FileRows.invalidCsv(
        `Header column ${unreadable + 1} is longer than ${limits.maxCellLength} characters or holds a NUL character`,
        1
      )
    }
    this.headers = cells.map((cell) => cell.trim())
    this.columns = this.headers.map((header, i) => {
      const name = header === "" ? `column_${i + 1}` : header
      return { role: roleOf(name), name }
    })
    const mapping = this.options.columnMapping
    if (mapping !== undefined) {
      for (const [key, role] of mappedRoles) {
        const wanted = mapping[key]?.trim().toLowerCase()
        if (wanted === undefined) continue
        const index = this.columns.findIndex((column) => column.name.toLowerCase() === wanted)
        if (index === -1) {
          return new InvalidInput({
            code: "validation_error",
            field: `columnMapping.${key}`,
            message: `columnMapping.${key}: the file has no column "${echo(mapping[key]!)}"`,
            details: { headers: this.headers.slice(0, echoedHeaders).map(echo), headerCount: this.headers.length }
          })
        }
        // The mapped column takes the role; one detected for it by name becomes a custom field.
        this.columns = this.columns.map((column, i) =>
          i === index ? { role, name: column.name } : column.role === role ? { role: "custom", name: column.name } : column
        )
      }
    }
    this.phoneColumn = this.columns.findIndex((column) => column.role === "phone")
    this.customNames = this.columns.filter((column) => column.role === "custom").map((column) => column.name)
    if (this.phoneColumn === -1) {
      const suggestions = likelyPhoneColumns(this.headers)
      return new InvalidInput({
        code: "missing_phone_column",
        field: "phone",
        message: `No phone column: add a column named phone, phone_number or phoneNumber (found ${
          this.headers.length === 0
            ? "no headers"
            : this.headers.slice(0, echoedHeaders).map((h) => `"${echo(h)}"`).join(", ") +
              (this.headers.length > echoedHeaders ? ` and ${this.headers.length - echoedHeaders} more` : "")
        })${
          suggestions.length === 0
            ? ""
            : `; or map one with columnMapping.phone (likeliest: ${suggestions.map((h) => `"${h}"`).join(", ")})`
        }`,
        details: { headers: this.headers.slice(0, echoedHeaders).map(echo), headerCount: this.headers.length, suggestions }
      })
    }
    return undefined
  }

  private reject(
    row: number,
    field: string,
    code: RowErrorCode,
    message: string,
    value: string | undefined,
    contact?: RowError["contact"]
  ) {
    this.rejectedCount++
    if (this.rejected.length < this.maxListedErrors) {
      this.rejected.push({
        row,
        field,
        code,
        message,
        ...(value === undefined ? {} : { value: echo(value) }),
        ...(contact === undefined ? {} : { contact })
      })
    }
    let group = this.groups.get(code)
    if (group === undefined) {
      group = { count: 0, rows: [] }
      this.groups.set(code, group)
    }
    group.count++
    if (group.rows.length < listedRowsPerGroup) group.rows.push(row)
  }

  /**
   * Validates one row; fails only when the contact limit is passed. `values`
   * are the JSON values of JSON contacts (`cells` their text), which custom
   * fields keep.
   */
  add(row: number, cells: ReadonlyArray<string>, values?: ReadonlyArray<unknown>): InvalidInput | undefined {
    let blank = true
    for (let i = 0; i < cells.length; i++) {
      if (cells[i] !== "") {
        blank = false
        break
      }
    }
    if (blank) return undefined
    this.totalRows++
    let phone = ""
    let name: string | null = null
    let externalId: string | null = null
    let ignore = false
    // The row's custom values go straight into the accepted columns, taken back if the row is not accepted.
    const custom = this.acceptedCustom
    const customStart = custom.length
    const columns = this.columns
    for (let i = 0; i < columns.length; i++) {
      const value = cells[i] ?? ""
      const column = columns[i]!
      if (value.length > limits.maxCellLength) {
        custom.length = customStart
        this.reject(row, column.name, "invalid_field", `${echo(column.name)} is longer than ${limits.maxCellLength} characters`, value)
        return undefined
      }
      if (InputGuard.hasNul(value)) {
        custom.length = customStart
        this.reject(row, column.name, "invalid_field", `${echo(column.name)} holds a NUL character`, value.replaceAll("\u0000", ""))
        return undefined
      }
      switch (column.role) {
        case "phone":
          // JSON rows may each spell the phone key differently: the first one given counts.
          if (phone === "") phone = value
          break
        case "name": {
          const trimmed = value.trim()
          if (trimmed !== "") name = trimmed
          break
        }
        case "externalId": {
          const trimmed = value.trim()
          if (trimmed !== "") externalId = trimmed
          break
        }
        case "ignore":
          // As for the phone, rows may spell the key differently: a blank column says nothing.
          if (value.trim() !== "") ignore = truthy(value)
          break
        default: {
          const typed = values === undefined ? value : typedValue(values[i], value)
          if (typed instanceof Unfit) {
            custom.length = customStart
            this.reject(row, column.name, "invalid_field", `${echo(column.name)} ${typed.problem}`, value)
            return undefined
          }
          custom.push(typed === "" ? undefined : typed)
        }
      }
    }
    const validation = PhoneNumber.validate(phone, ignore ? this.phoneOptions.ignoring : this.phoneOptions.checking)
    if (!validation.ok) {
      // Only a listed rejection keeps the row's data.
      const contact = this.rejected.length < this.maxListedErrors
        ? { phone, name, externalId, ignoreE164Validation: ignore, customFields: this.customFieldsAt(customStart) }
        : undefined
      custom.length = customStart
      this.reject(row, this.columns[this.phoneColumn]!.name, validation.code, validation.message, phone === "" ? undefined : phone, contact)
      return undefined
    }
    const e164 = validation.e164
    const first = this.seen.firstRow(e164, row)
    if (first !== undefined) {
      const rows = this.duplicates.get(e164)
      if (rows === undefined) this.duplicates.set(e164, [first, row])
      else if (rows.length < listedRowsPerGroup) rows.push(row)
      if (this.options.dropDuplicates) {
        custom.length = customStart
        this.droppedDuplicates++
        return undefined
      }
    }
    this.acceptedCount++
    if (this.acceptedCount > this.maxContacts) {
      custom.length = customStart
      return new InvalidInput({
        code: "too_many_contacts",
        field: "contacts",
        message: `More than ${this.maxContacts.toLocaleString("en-US")} contacts: split the list into several batches`,
        details: { limit: this.maxContacts, row }
      })
    }
    this.acceptedRows.push(row)
    this.acceptedPhones.push(e164)
    this.acceptedValidated.push(validation.validated)
    this.acceptedNames.push(name)
    this.acceptedExternalIds.push(externalId)
    return undefined
  }

  /** The custom fields of the row whose values start at `offset` in `acceptedCustom`. */
  private customFieldsAt(offset: number): CustomFields {
    const fields: Record<string, CustomFieldValue> = {}
    const names = this.customNames
    for (let k = 0; k < names.length; k++) {
      const value = this.acceptedCustom[offset + k]
      if (value !== undefined) fields[names[k]!] = value
    }
    return fields
  }

  get pending(): number {
    return this.acceptedRows.length
  }

  takeAccepted(): Array<NewContact> {
    const chunk: Array<NewContact> = new Array(this.acceptedRows.length)
    for (let i = 0; i < chunk.length; i++) {
      chunk[i] = {
        row: this.acceptedRows[i]!,
        phone: this.acceptedPhones[i]!,
        numberValidated: this.acceptedValidated[i]!,
        name: this.acceptedNames[i]!,
        externalId: this.acceptedExternalIds[i]!,
        customFields: this.customFieldsAt(i * this.customNames.length)
      }
    }
    this.acceptedRows = []
    this.acceptedPhones = []
    this.acceptedValidated = []
    this.acceptedNames = []
    this.acceptedExternalIds = []
    this.acceptedCustom = []
    return chunk
  }

  report(): Report {
    return {
      totalRows: this.totalRows,
      acceptedCount: this.acceptedCount,
      rejectedCount: this.rejectedCount,
      droppedDuplicates: this.droppedDuplicates,
      rejected: this.rejected,
      errorGroups: [...this.groups].map(([code, group]) => ({
        code,
        message: groupMessages[code],
        count: group.count,
        rows: group.rows
      })),
      duplicates: [...this.duplicates].map(([phone, rows]) => ({ phone, rows })),
      headers: this.headers,
      customFieldNames: this.columns.filter((c) => c.role === "custom").map((c) => c.name)
    }
  }

  /** A file with rows but no contact to call is refused as a whole, with the reasons. */
  finish(): Effect.Effect<Report, InvalidInput> {
    const report = this.report()
    if (report.totalRows === 0) {
      return Effect.fail(
        new InvalidInput({
          code: "invalid_csv",
          field: "file",
          message: this.headers.length === 0 ? "The file is empty" : "The file has a header row but no contacts"
        })
      )
    }
    if (report.acceptedCount === 0) {
      return Effect.fail(
        new InvalidInput({
          code: "no_valid_contacts",
          field: "contacts",
          message: `None of the ${report.totalRows} rows holds a valid phone number`,
          details: { errorGroups: report.errorGroups, rejected: rejectedForError(report) }
        })
      )
    }
    return Effect.succeed(report)
  }
}

/**
 * Runs rows through the validator, handing accepted contacts to `onAccepted`
 * a chunk at a time.
 */
const consume = <E, R>(
  rows: Stream.Stream<FileRows.Batch, InvalidInput>,
  options: Options,
  onAccepted: (chunk: ReadonlyArray<NewContact>) => Effect.Effect<void, E, R>
): Effect.Effect<Report, InvalidInput | E, R> =>
  Effect.suspend(() => {
    const validator = new RowValidator(options)
    let headerSeen = false
    const flush = (force: boolean): Effect.Effect<void, E, R> =>
      validator.pending >= chunkSize || (force && validator.pending > 0)
        ? onAccepted(validator.takeAccepted())
        : Effect.void
    return rows.pipe(
      Stream.runForEach((batch): Effect.Effect<void, InvalidInput | E, R> => {
        let index = 0
        if (!headerSeen && batch.rows.length > 0) {
          headerSeen = true
          const missing = validator.setHeader(batch.rows[0]!)
          if (missing !== undefined) return Effect.fail(missing)
          index = 1
        }
        for (; index < batch.rows.length; index++) {
          const failure = validator.add(batch.rowNumbers?.[index] ?? batch.firstRow + index, batch.rows[index]!, batch.values?.[index])
          if (failure !== undefined) return Effect.fail(failure)
        }
        return flush(false)
      }),
      Effect.andThen(Effect.suspend(() => flush(true))),
      Effect.andThen(Effect.suspend(() => validator.finish()))
    )
  })

/**
 * Validates a contact file and hands accepted contacts to `onAccepted` in
 * chunks, never keeping them: the form for very large files.
 *
 * @since 0.1.0
 * @category importing
 */
export const run = <E, R>(
  file: FileSource,
  options: Options,
  onAccepted: (chunk: ReadonlyArray<NewContact>) => Effect.Effect<void, E, R>
): Effect.Effect<Report, InvalidInput | E, R> =>
  consume(FileRows.fromFile(file, { maxFileBytes: options.maxFileBytes ?? defaults.maxFileBytes }), options, onAccepted)

/**
 * JSON contacts (objects keyed by column) through the same checks as a
 * file; rows count from 1.
 *
 * @since 0.1.0
 * @category importing
 */
export const runRows = <E, R>(
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
  options: Options,
  onAccepted: (chunk: ReadonlyArray<NewContact>) => Effect.Effect<void, E, R>
): Effect.Effect<Report, InvalidInput | E, R> =>
  Effect.suspend(() => {
    const hostile = options.rowsChecked === true ? undefined : InputGuard.check(rows, ["contacts"])
    return hostile === undefined ? consume(FileRows.fromObjects(rows), options, onAccepted) : Effect.fail(hostile)
  })

const collecting = <A>(
  start: (onAccepted: (chunk: ReadonlyArray<NewContact>) => Effect.Effect<void>) => Effect.Effect<A, InvalidInput>
): Effect.Effect<A & { readonly accepted: ReadonlyArray<NewContact> }, InvalidInput> =>
  Effect.suspend(() => {
    const accepted: Array<NewContact> = []
    return Effect.map(
      start((chunk) => Effect.sync(() => void accepted.push(...chunk))),
      (report) => ({ ...report, accepted })
    )
  })

/**
 * Validates a contact file and returns the accepted contacts with the report.
 *
 * @since 0.1.0
 * @category importing
 */
export const validate = (file: FileSource, options: Options): Effect.Effect<ValidatedReport, InvalidInput> =>
  collecting((onAccepted) => run(file, options, onAccepted))

/**
 * @since 0.1.0
 * @category importing
 */
export const validateRows = (
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
  options: Options
): Effect.Effect<ValidatedReport, InvalidInput> => collecting((onAccepted) => runRows(rows, options, onAccepted))
