/**
 * Contacts and rejected rows as CSV, safe to open in a spreadsheet.
 *
 * A batch's contacts are exported page by page (keyset pages of
 * `pageSize`), so an export of any size holds one page in memory: a first
 * pass over the pages collects the custom field names for the header, a
 * second writes the rows. Rejected rows of a validation or a create are
 * written from its report (the rows it lists, `ContactImport`'s
 * `maxListedErrors` at most).
 *
 * Spreadsheet formula injection (OWASP "CSV Injection"): a cell starting
 * with `=`, `+`, `-`, `@`, a tab or a carriage return would run as a
 * formula, so it is written with a leading `'`, which spreadsheets show as
 * text. Phone numbers in E.164 start with `+` and get the prefix too; the
 * importer takes a `'` before one of those characters off again
 * (`restoreCell`), so an exported file imports back to the same contacts.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import Papa from "papaparse"
import type { BatchStore } from "./BatchStore.ts"
import type * as Contact from "./Contact.ts"
import * as ContactSearch from "./ContactSearch.ts"
import type { RowError } from "./OutdialError.ts"
import type { StoreError } from "./OutdialError.ts"
import { CallOutcome } from "./CallOutcome.ts"

const formulaStart = /^[=+\-@\t\r]/

/**
 * A cell as written: with a leading `'` when a spreadsheet would take it
 * for a formula.
 *
 * @since 0.1.0
 * @category cells
 */
export const neutraliseCell = (cell: string): string => formulaStart.test(cell) ? `'${cell}` : cell

/**
 * A cell as read back: a `'` that neutralised a formula character is taken
 * off. (A cell that really starts with `'` and one of those characters loses
 * the `'`: the price of files that round-trip.)
 *
 * @since 0.1.0
 * @category cells
 */
export const restoreCell = (cell: string): string =>
  cell.length > 1 && cell.charCodeAt(0) === 39 && formulaStart.test(cell.slice(1)) ? cell.slice(1) : cell

/** Rows as CSV lines, each ending with CRLF (RFC 4180), every cell neutralised. */
const lines = (rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  rows.length === 0
    ? ""
    : Papa.unparse(rows.map((row) => row.map(neutraliseCell)), { newline: "\r\n", quotes: false }) + "\r\n"

/**
 * Contacts per page read while exporting.
 *
 * @since 0.1.0
 * @category models
 */
export const pageSize = 1_000

/**
 * Which contacts to export and how.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly status?: Contact.ContactStatus | undefined
  readonly search?: ContactSearch.Search | undefined
  /**
   * Only what a contact file holds (phone, name, external id, custom
   * fields), to edit and import again; otherwise the dialing results too.
   */
  readonly importable?: boolean | undefined
  /** Contacts read per page; `pageSize` unless set. */
  readonly pageSize?: number | undefined
}

const resultColumns = [
  "contact_id",
  "status",
  "attempts",
  "max_attempts",
  "last_outcome",
  "sip_code",
  "duration_seconds",
  "failure_reason",
  "last_attempt_at",
  "next_retry_at",
  "completed_at"
] as const

const outcomes: ReadonlySet<string> = new Set(CallOutcome.literals)
const iso = (time: DateTime.Utc | null) => time === null ? "" : DateTime.formatIso(time)
const text = (value: string | number | null) => value === null ? "" : String(value)

/** The batch's matching contacts page by page, by keyset: one page in memory at a time. */
const pages = (store: BatchStore["Service"], batchId: string, options: Options) => {
  const size = options.pageSize ?? pageSize
  return Stream.paginate(undefined as string | undefined, (after) =>
    Effect.map(
      store.listContacts(batchId, { status: options.status, search: options.search, page: 1, pageSize: size, after }),
      (page) => {
        const last = page.items[page.items.length - 1]
        return [[page.items], page.items.length < size || last === undefined ? Option.none() : Option.some(last.id)] as const
      }
    ))
}

/**
 * The batch's contacts as CSV text, in chunks (the header, then a page of
 * rows each). The last outcome is the contact's status once it is one; a
 * contact waiting for a retry shows its last call's SIP code and reason.
 * Custom fields follow the fixed columns in code-unit order of their names.
 *
 * @since 0.1.0
 * @category exporting
 */
export const contactsCsv = (
  store: BatchStore["Service"],
  batchId: string,
  options: Options = {}
): Stream.Stream<string, StoreError> =>
  Stream.unwrap(Effect.gen(function*() {
    const names = new Set<string>()
    yield* Stream.runForEach(pages(store, batchId, options), (items) =>
      Effect.sync(() => {
        for (const contact of items) for (const name in contact.customFields) names.add(name)
      }))
    // In code-unit order: stores keep a contact's fields in orders of their own (jsonb sorts its keys).
    const custom = [...names].sort()
    const header = [
      ...(options.importable === true ? [] : resultColumns),
      "external_id",
      "name",
      "phone",
      ...custom
    ]
    const rowOf = (contact: Contact.Contact): Array<string> => [
      ...(options.importable === true ? [] : [
        contact.id,
        contact.status,
        String(contact.attemptCount),
        String(contact.maxAttempts),
        outcomes.has(contact.status) ? contact.status : "",
        text(contact.errorCode),
        text(contact.callDuration),
        text(contact.failureReason),
        iso(contact.lastAttemptAt),
        iso(contact.nextRetryAt),
        iso(contact.completedAt)
      ]),
      text(contact.externalId),
      text(contact.name),
      contact.phone,
      ...custom.map((name) => fieldText(contact.customFields[name]))
    ]
    return Stream.concat(
      Stream.succeed(lines([header])),
      Stream.map(pages(store, batchId, options), (items) => lines(items.map(rowOf)))
    )
  }))

// A CSV cell is text: a JSON custom field is written as JSON writes it, a null left empty.
const fieldText = (value: Contact.CustomFieldValue | undefined): string =>
  value === null || value === undefined ? "" : String(value)

/**
 * The rejected rows of a validation or create as CSV: the row number, why
 * it was refused and the row as read, its custom fields as columns, to be
 * corrected and sent back.
 *
 * @since 0.1.0
 * @category exporting
 */
export const rejectedCsv = (rejected: ReadonlyArray<RowError>): string => {
  const custom = [...new Set(rejected.flatMap((error) => Object.keys(error.contact?.customFields ?? {})))]
  const header = ["row", "error_code", "error_field", "error_message", "phone", "name", "external_id", "ignore_e164_validation", ...custom]
  return lines([
    header,
    ...rejected.map((error) => [
      String(error.row),
      error.code,
      error.field,
      error.message,
      error.contact?.phone ?? error.value ?? "",
      error.contact?.name ?? "",
      error.contact?.externalId ?? "",
      error.contact === undefined ? "" : String(error.contact.ignoreE164Validation),
      ...custom.map((name) => fieldText(error.contact?.customFields[name]))
    ])
  ])
}
