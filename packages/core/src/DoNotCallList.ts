/**
 * The do-not-call list as the API manages it: add numbers (one or many),
 * remove, check, page through in number order with a cursor, and import a
 * file (CSV or XLSX, through the contact importer, streamed: each chunk of
 * accepted rows is written as it is read). Numbers are checked and written
 * in E.164; a malformed one refuses the request (`validation_error`, 400)
 * with nothing stored. Also the warning a create or validation gives for
 * listed numbers, with their rows.
 *
 * @since 0.1.0
 */
import { Base64Url } from "effect/encoding"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as BatchView from "./BatchView.ts"
import type { NewContact } from "./BatchStore.ts"
import * as ContactImport from "./ContactImport.ts"
import { type DoNotCall, type Entry, Source } from "./DoNotCall.ts"
import { decodeInput } from "./internal/decodeInput.ts"
import { InvalidInput, RowError, RowErrorGroup, type StoreError } from "./OutdialError.ts"
import * as PhoneNumber from "./PhoneNumber.ts"

const Instant = Schema.String.annotate({ description: "ISO 8601, UTC" })
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const NumberText = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(40))
const Expiry = Schema.NullOr(Schema.String.check(Schema.isMaxLength(40)))

/**
 * @since 0.1.0
 * @category schemas
 */
export const EntryView = Schema.Struct({
  number: Schema.String,
  source: Schema.String,
  expiresAt: Schema.NullOr(Instant),
  createdAt: Instant
})
export type EntryView = typeof EntryView.Type

/**
 * One number to add; `source` defaults to `manual`, `expiresAt` (ISO 8601) to never.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NewEntry = Schema.Struct({
  number: NumberText,
  source: Schema.optionalKey(Source),
  expiresAt: Schema.optionalKey(Expiry)
})

/**
 * A body adding one number, or many (`numbers`, up to 10,000).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AddInput = Schema.Union([
  NewEntry,
  Schema.Struct({ numbers: Schema.Array(Schema.Union([NumberText, NewEntry])).check(Schema.isMinLength(1), Schema.isMaxLength(10_000)) })
])

/**
 * @since 0.1.0
 * @category schemas
 */
export const AddResponse = Schema.Struct({ added: Count, entries: Schema.Array(EntryView) })

/**
 * @since 0.1.0
 * @category schemas
 */
export const CheckResponse = Schema.Struct({ number: Schema.String, listed: Schema.Boolean, entry: Schema.NullOr(EntryView) })

/**
 * @since 0.1.0
 * @category schemas
 */
export const RemoveResponse = Schema.Struct({ number: Schema.String, removed: Schema.Boolean })

/**
 * A page in number order; `nextCursor` fetches the next, `null` at the end.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ListResponse = Schema.Struct({ items: Schema.Array(EntryView), nextCursor: Schema.NullOr(Schema.String) })

/**
 * What an imported file gave: the rows read, the numbers listed, and the rows refused with why.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ImportResponse = Schema.Struct({
  rowsReceived: Count,
  added: Count,
  rejectedRows: Count,
  rejected: Schema.Array(RowError),
  errorGroups: Schema.Array(RowErrorGroup)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ListQuery {
  readonly cursor?: string | undefined
  readonly limit?: number | string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ImportOptions {
  readonly source?: unknown
  readonly expiresAt?: unknown
}

/**
 * @since 0.1.0
 * @category services
 */
export interface DoNotCallList {
  readonly add: (organizationId: string, input: unknown) => Effect.Effect<typeof AddResponse.Type, InvalidInput | StoreError>
  readonly remove: (organizationId: string, number: string) => Effect.Effect<typeof RemoveResponse.Type, InvalidInput | StoreError>
  readonly check: (organizationId: string, number: string) => Effect.Effect<typeof CheckResponse.Type, InvalidInput | StoreError>
  readonly list: (organizationId: string, query: ListQuery) => Effect.Effect<typeof ListResponse.Type, InvalidInput | StoreError>
  readonly importFile: (
    organizationId: string,
    file: ContactImport.FileSource,
    options?: ImportOptions
  ) => Effect.Effect<typeof ImportResponse.Type, InvalidInput | StoreError>
}

/**
 * @since 0.1.0
 * @category mappers
 */
export const entryView = (entry: Entry): EntryView => ({
  number: entry.number,
  source: entry.source,
  expiresAt: entry.expiresAt === null ? null : DateTime.formatIso(entry.expiresAt),
  createdAt: DateTime.formatIso(entry.createdAt)
})

const invalid = (field: string, message: string) => new InvalidInput({ code: "validation_error", field, message })

/** A number as E.164, or the typed refusal naming `field`. */
const e164Of = (field: string, raw: string): Effect.Effect<string, InvalidInput> => {
  const checked = PhoneNumber.validate(raw)
  return checked.ok ? Effect.succeed(checked.e164) : Effect.fail(invalid(field, `${field}: ${checked.message}`))
}

const expiryOf = (field: string, raw: string | null | undefined, now: number): Effect.Effect<DateTime.Utc | null, InvalidInput> => {
  if (raw === undefined || raw === null) return Effect.succeed(null)
  const millis = Date.parse(raw)
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(millis)) {
    return Effect.fail(invalid(field, `${field}: "${raw.slice(0, 40)}" is not an ISO 8601 date-time`))
  }
  if (millis <= now) return Effect.fail(invalid(field, `${field}: the expiry is in the past`))
  return Effect.succeed(DateTime.makeUnsafe(millis))
}

const cursorOf = (number: string) => Base64Url.encode(number)

const decodeCursor = (cursor: string): Effect.Effect<string, InvalidInput> => {
  const decoded = cursor.length <= 64 ? Base64Url.decodeString(cursor) : undefined
  const number = decoded !== undefined && decoded._tag === "Success" ? decoded.success : ""
  return /^\+\d{1,20}$/.test(number)
    ? Effect.succeed(number)
    : Effect.fail(new InvalidInput({ code: "invalid_cursor", field: "cursor", message: "cursor is not one this API gave" }))
}

const maxPage = 1_000
/** Numbers an imported file may hold: lists of millions come in several files. */
const maxImportRows = 1_000_000

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (list: DoNotCall["Service"], options: { readonly maxFileBytes: number }): DoNotCallList => {
  const decodeAdd = decodeInput(AddInput)
  const decodeEntryOptions = decodeInput(Schema.Struct({ source: Schema.optionalKey(Source), expiresAt: Schema.optionalKey(Expiry) }))
  return {
    add: (organizationId, raw) =>
      Effect.gen(function*() {
        const input = yield* decodeAdd(raw)
        const now = yield* Clock.currentTimeMillis
        const createdAt = DateTime.makeUnsafe(now)
        const given = "numbers" in input
          ? input.numbers.map((item, i) => [`numbers.${i}`, typeof item === "string" ? { number: item } : item] as const)
          : [["number", input] as const]
        const entries: Array<Entry> = []
        for (const [field, item] of given) {
          entries.push({
            number: yield* e164Of(field, item.number),
            source: item.source ?? "manual",
            expiresAt: yield* expiryOf(`${field}.expiresAt`, item.expiresAt, now),
            createdAt
          })
        }
        const added = yield* list.add(organizationId, entries)
        return { added, entries: entries.map(entryView) }
      }),
    remove: (organizationId, raw) =>
      Effect.gen(function*() {
        const number = yield* e164Of("number", raw)
        return { number, removed: yield* list.remove(organizationId, number) }
      }),
    check: (organizationId, raw) =>
      Effect.gen(function*() {
        const number = yield* e164Of("number", raw)
        const entry = yield* list.find(organizationId, number, DateTime.makeUnsafe(yield* Clock.currentTimeMillis))
        return { number, listed: entry !== undefined, entry: entry === undefined ? null : entryView(entry) }
      }),
    list: (organizationId, query) =>
      Effect.gen(function*() {
        const limit = query.limit === undefined ? 100 : Number(query.limit)
        if (!Number.isInteger(limit) || limit < 1 || limit > maxPage) {
          return yield* new InvalidInput({ code: "invalid_page_size", field: "limit", message: `limit must be an integer from 1 to ${maxPage}` })
        }
        const after = query.cursor === undefined || query.cursor === "" ? undefined : yield* decodeCursor(query.cursor)
        const page = yield* list.list(organizationId, { after, limit, now: DateTime.makeUnsafe(yield* Clock.currentTimeMillis) })
        return { items: page.items.map(entryView), nextCursor: page.next === null ? null : cursorOf(page.next) }
      }),
    importFile: (organizationId, file, importOptions) =>
      Effect.gen(function*() {
        const given = yield* decodeEntryOptions({
          ...(importOptions?.source === undefined ? {} : { source: importOptions.source }),
          ...(importOptions?.expiresAt === undefined ? {} : { expiresAt: importOptions.expiresAt })
        })
        const now = yield* Clock.currentTimeMillis
        const expiresAt = yield* expiryOf("expiresAt", given.expiresAt, now)
        const source = given.source ?? "import"
        const createdAt = DateTime.makeUnsafe(now)
        let added = 0
        const report = yield* ContactImport.run(file, {
          maxContacts: maxImportRows,
          maxFileBytes: options.maxFileBytes,
          dropDuplicates: true
        }, (chunk) =>
          Effect.map(
            list.add(organizationId, chunk.map((contact) => ({ number: contact.phone, source, expiresAt, createdAt }))),
            (n) => void (added += n)
          ))
        return {
          rowsReceived: report.totalRows,
          added,
          rejectedRows: report.rejectedCount,
          rejected: report.rejected,
          errorGroups: report.errorGroups
        }
      })
  }
}

/**
 * The contacts of a create or validation whose numbers are listed, each
 * number with its rows: the warning section `doNotCall` of the report. The
 * contacts are still stored; the dispatcher skips them. With the import's
 * `report` saying no number came twice, the numbers are not deduplicated
 * again.
 *
 * @since 0.1.0
 * @category warnings
 */
export const warningsFor = (
  list: DoNotCall["Service"],
  organizationId: string,
  contacts: ReadonlyArray<NewContact>,
  report?: { readonly duplicates: ReadonlyArray<unknown> }
): Effect.Effect<ReadonlyArray<typeof BatchView.Duplicate.Type>, StoreError> =>
  contacts.length === 0 ? Effect.succeed([]) : Effect.gen(function*() {
    const now = DateTime.makeUnsafe(yield* Clock.currentTimeMillis)
    const phones = contacts.map((contact) => contact.phone)
    const listed = yield* list.matching(organizationId, report?.duplicates.length === 0 ? phones : [...new Set(phones)], now)
    if (listed.size === 0) return []
    const rows = new Map<string, Array<number>>()
    for (const contact of contacts) {
      if (!listed.has(contact.phone)) continue
      const found = rows.get(contact.phone)
      if (found === undefined) rows.set(contact.phone, [contact.row])
      else found.push(contact.row)
    }
    return [...rows].map(([phone, numbers]) => ({ phone, rows: numbers }))
  })
