/**
 * Reading batches back: one batch with progress and a page of its contacts,
 * and a page of the organization's batches. The query parameters are
 * Schemas, bounds and defaults included: a transport decodes its query
 * string with them at the edge, and the engine checks a host's typed query
 * with their type side, so both refuse the same values with the same codes.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { Base64Url } from "effect/encoding"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as Batch from "./Batch.ts"
import type { BatchStore } from "./BatchStore.ts"
import * as BatchView from "./BatchView.ts"
import * as Contact from "./Contact.ts"
import * as ContactSearch from "./ContactSearch.ts"
import * as InputGuard from "./InputGuard.ts"
import { findBatch, invalid, maxIdLength } from "./internal/engineContext.ts"
import * as NextEligible from "./internal/nextEligible.ts"
import type { BatchNotFound, InvalidInput, StoreError } from "./OutdialError.ts"

/**
 * An integer as a query string or a form field writes it, decoded to an
 * integer that passes `bounds`.
 *
 * @since 0.1.0
 * @category schemas
 */
// Past these a page or offset only reaches past the end, and would overflow a database's integers.
const maxOffset = 1_000_000_000
const maxPage = maxOffset / 500

export const IntFromString = (bounds: SchemaAST.Check<number>) =>
  Schema.String.check(Schema.isPattern(/^\s*-?\d{1,15}\s*$/)).pipe(
    Schema.decodeTo(
      Schema.Int.check(bounds),
      SchemaTransformation.transform({ decode: (s: string) => Number(s.trim()), encode: String })
    )
  )

/**
 * The query of a batch read as a URL carries it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactsQuery = Schema.Struct({
  contactStatus: Schema.optionalKey(Contact.ContactStatus),
  contactsPage: Schema.optionalKey(IntFromString(Schema.isBetween({ minimum: 1, maximum: maxPage })).annotate({ default: 1 })),
  contactsPageSize: Schema.optionalKey(IntFromString(Schema.isBetween({ minimum: 1, maximum: 500 })).annotate({ default: 50 })),
  contactsCursor: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(200), Schema.isPattern(/^[A-Za-z0-9_-]+$/)).annotate({
      description: "A previous page's `contactsNextCursor`: the page after it, however deep (`contactsPage` is then ignored)."
    })
  ),
  contactsSearch: Schema.optionalKey(ContactSearch.SearchText)
})
export type ContactsQuery = typeof ContactsQuery.Type

/**
 * The query of a batch list as a URL carries it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ListQuery = Schema.Struct({
  agentId: Schema.optionalKey(Schema.String.check(
    Schema.isMaxLength(maxIdLength),
    Schema.makeFilter((id: string) => !InputGuard.hasNul(id) || "agentId must not contain a NUL character")
  )),
  status: Schema.optionalKey(Batch.BatchStatus),
  limit: Schema.optionalKey(IntFromString(Schema.isBetween({ minimum: 1, maximum: 100 })).annotate({ default: 50 })),
  offset: Schema.optionalKey(IntFromString(Schema.isBetween({ minimum: 0, maximum: maxOffset })).annotate({ default: 0 }))
})
export type ListQuery = typeof ListQuery.Type

const cursorRefusal =
  "contactsCursor must be a contactsNextCursor this batch answered with, under the same contactStatus and contactsSearch"

/*
 * A contacts cursor: the id of the page's last contact and a checksum binding
 * it to the batch and the status filter, base64url-encoded. The checksum
 * (FNV-1a, not a secret MAC) turns a cursor of another batch or filter, or a
 * mangled one, into a 400 rather than a silently wrong page; a forged one can
 * only name a position of the same batch, which the caller may read anyway.
 */
const fnv1a = (text: string) => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return (hash >>> 0).toString(36)
}
/** What a page of contacts is read under: its cursor is bound to all of it. */
interface Filter {
  readonly batchId: string
  readonly status: string | undefined
  readonly search: string | undefined
}

const cursorSum = ({ batchId, search, status }: Filter, contactId: string) =>
  fnv1a(`${batchId}\u0000${status ?? ""}\u0000${contactId}${search === undefined ? "" : `\u0000${search}`}`)

const encodeCursor = (filter: Filter, contactId: string) =>
  Base64Url.encode(`1.${contactId}.${cursorSum(filter, contactId)}`)

/** The contact id a cursor names, or `undefined` when it is not one of this batch and filter. */
const decodeCursor = (filter: Filter, cursor: string): string | undefined => {
  const text = Base64Url.decodeString(cursor)
  if (Result.isFailure(text)) return undefined
  const parts = text.success.split(".")
  if (parts.length !== 3 || parts[0] !== "1" || parts[1]!.length === 0) return undefined
  return parts[2] === cursorSum(filter, parts[1]!) ? parts[1] : undefined
}

const searchRefusal = `search must be 1 to ${ContactSearch.maxLength} characters, not blank, without NUL`

/** The code and message a refused parameter answers with. */
const refusals: Record<string, readonly [InvalidInput["code"], string]> = {
  contactStatus: ["invalid_contact_status", `contactStatus must be one of ${Contact.statuses.join(", ")}`],
  contactsPage: ["invalid_page", `contactsPage must be an integer from 1 to ${maxPage}`],
  contactsPageSize: ["invalid_page_size", "contactsPageSize must be an integer from 1 to 500"],
  contactsCursor: ["invalid_cursor", cursorRefusal],
  contactsSearch: ["validation_error", searchRefusal],
  status: ["validation_error", `status must be one of ${Batch.statuses.join(", ")}`],
  limit: ["validation_error", "limit must be an integer from 1 to 100"],
  offset: ["validation_error", `offset must be an integer from 0 to ${maxOffset}`],
  extraAttempts: ["validation_error", "extraAttempts must be an integer from 1 to 10"]
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * A decoder of parameters: an empty value counts as absent, and the first
 * parameter refused answers with its own code and message.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decoder = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  ownRefusals: Readonly<Record<string, readonly [InvalidInput["code"], string]>> = {}
) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return (input: Readonly<Record<string, unknown>> | undefined): Effect.Effect<S["Type"], InvalidInput> =>
    decode(
      Object.fromEntries(Object.entries(input ?? {}).filter(([, value]) => value !== undefined && value !== "")),
      { errors: "first" }
    ).pipe(
      Effect.mapError((error) => {
        const issue = formatter(error.issue).issues[0]
        const key = issue?.path?.[0]
        const field = key === undefined ? "" : String(typeof key === "object" ? key.key : key)
        const [code, message] = ownRefusals[field] ?? refusals[field] ?? ["validation_error", issue?.message ?? "invalid query"]
        return invalid(code, field, message)
      })
    )
}

/**
 * Decodes a batch read's query string.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeContactsQuery = decoder(ContactsQuery)

/**
 * Decodes a batch list's query string.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeListQuery = decoder(ListQuery)

const checkContactsQuery = decoder(Schema.toType(ContactsQuery))
const checkListQuery = decoder(Schema.toType(ListQuery))

/**
 * A page of a batch's contacts and where the next one starts.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContactPage {
  readonly items: ReadonlyArray<Contact.Contact>
  /** The page read; 0 when it was read by cursor. */
  readonly page: number
  readonly total: number
  readonly hasMore: boolean
  readonly nextCursor: string | null
}

/**
 * Reads a page of a batch's contacts by page number or by a cursor a
 * previous page answered with (bound to the batch, status and search: any
 * other is refused, naming `cursorField` and saying `cursorMessage`).
 *
 * @since 0.1.0
 * @category reading
 */
export const readContacts = (
  store: BatchStore["Service"],
  batchId: string,
  options: {
    readonly status?: Contact.ContactStatus | undefined
    readonly search?: string | undefined
    readonly page: number
    readonly pageSize: number
    readonly cursor?: string | undefined
  },
  cursorField: string,
  cursorMessage: string
): Effect.Effect<ContactPage, InvalidInput | StoreError> =>
  Effect.gen(function*() {
    const { cursor, page, pageSize, status } = options
    const search = options.search === undefined ? undefined : ContactSearch.make(options.search)
    const filter: Filter = { batchId, status, search: search?.text }
    const after = cursor === undefined ? undefined : decodeCursor(filter, cursor)
    if (cursor !== undefined && after === undefined) {
      return yield* invalid("invalid_cursor", cursorField, cursorMessage)
    }
    // By cursor, one row more than the page tells whether another follows.
    const contacts = after === undefined
      ? yield* store.listContacts(batchId, { status, search, page, pageSize })
      : yield* store.listContacts(batchId, { status, search, page: 1, pageSize: pageSize + 1, after })
    const items = contacts.items.slice(0, pageSize)
    const hasMore = after === undefined ? page * pageSize < contacts.total : contacts.items.length > pageSize
    const last = items[items.length - 1]
    return {
      items,
      page: after === undefined ? page : 0,
      total: contacts.total,
      hasMore,
      nextCursor: hasMore && last !== undefined ? encodeCursor(filter, last.id) : null
    }
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchQueries {
  readonly getBatch: (
    organizationId: string,
    batchId: string,
    query?: ContactsQuery | undefined
  ) => Effect.Effect<BatchView.BatchDetails, InvalidInput | BatchNotFound | StoreError>
  readonly listBatches: (
    organizationId: string,
    query?: ListQuery | undefined
  ) => Effect.Effect<BatchView.BatchList, InvalidInput | StoreError>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  store: BatchStore["Service"],
  /** The host's blackout dates of an organization, which move the times its contacts are next dialed. */
  organizationBlackoutDates: (organizationId: string) => ReadonlyArray<string> = () => []
): BatchQueries => ({
  getBatch: (organizationId, batchId, raw) =>
    Effect.gen(function*() {
      const query = yield* checkContactsQuery(raw)
      const page = query.contactsPage ?? 1
      const pageSize = query.contactsPageSize ?? 50
      const batch = yield* findBatch({ store }, organizationId, batchId)
      const contacts = yield* readContacts(store, batchId, {
        status: query.contactStatus,
        search: query.contactsSearch,
        page,
        pageSize,
        cursor: query.contactsCursor
      }, "contactsCursor", cursorRefusal)
      const breakdown = yield* store.statusBreakdown(batchId)
      const due = yield* NextEligible.make(store, batch, organizationBlackoutDates(batch.organizationId))
      return {
        ...BatchView.summaryOf(batch),
        progress: BatchView.progressOf(batch.totalContacts, breakdown),
        contacts: contacts.items.map((contact) => BatchView.contactView(contact, due(contact))),
        contactsPage: contacts.page,
        contactsPageSize: pageSize,
        contactsTotal: contacts.total,
        contactsHasMore: contacts.hasMore,
        contactsNextCursor: contacts.nextCursor
      }
    }),
  listBatches: (organizationId, raw) =>
    Effect.gen(function*() {
      const query = yield* checkListQuery(raw)
      const limit = query.limit ?? 50
      const offset = query.offset ?? 0
      const page = yield* store.listBatches(organizationId, { agentId: query.agentId, status: query.status, limit, offset })
      return {
        batches: page.items.map(BatchView.summaryOf),
        pagination: { total: page.total, limit, offset, hasMore: offset + page.items.length < page.total }
      }
    })
})
