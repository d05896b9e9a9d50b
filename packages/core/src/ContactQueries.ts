/**
 * Reading a batch's contacts: a page of them (by status, by a search of
 * names and numbers, by page or cursor), one contact with its history, and
 * all of them as CSV. Each is scoped to the organization: another tenant's
 * batch, or a contact of another batch, does not exist.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { Batch } from "./Batch.ts"
import * as BatchQueries from "./BatchQueries.ts"
import type { BatchStore, ContactHistory as StoredHistory } from "./BatchStore.ts"
import * as BatchView from "./BatchView.ts"
import * as Contact from "./Contact.ts"
import * as ContactExport from "./ContactExport.ts"
import * as ContactHistory from "./ContactHistory.ts"
import * as ContactSearch from "./ContactSearch.ts"
import type { Directory } from "./Directory.ts"
import { checkId, findBatch } from "./internal/engineContext.ts"
import * as NextEligible from "./internal/nextEligible.ts"
import { type BatchNotFound, ContactNotFound, type InvalidInput, type StoreError } from "./OutdialError.ts"

const maxPage = 2_000_000

/**
 * The query of a contacts page as a URL carries it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactsPageQuery = Schema.Struct({
  status: Schema.optionalKey(Contact.ContactStatus),
  search: Schema.optionalKey(ContactSearch.SearchText),
  page: Schema.optionalKey(BatchQueries.IntFromString(Schema.isBetween({ minimum: 1, maximum: maxPage })).annotate({ default: 1 })),
  pageSize: Schema.optionalKey(BatchQueries.IntFromString(Schema.isBetween({ minimum: 1, maximum: 500 })).annotate({ default: 50 })),
  cursor: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(200), Schema.isPattern(/^[A-Za-z0-9_-]+$/)).annotate({
      description: "A previous page's `nextCursor`: the page after it, however deep (`page` is then ignored)."
    })
  )
})
export type ContactsPageQuery = typeof ContactsPageQuery.Type

/**
 * The query of an export as a URL carries it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ExportQuery = Schema.Struct({
  status: Schema.optionalKey(Contact.ContactStatus),
  search: Schema.optionalKey(ContactSearch.SearchText),
  importable: Schema.optionalKey(Schema.Literals(["true", "false"]).annotate({
    description: "`true`: only the columns of a contact file (external id, name, phone, custom fields), to edit and import again"
  }))
})
export type ExportQuery = typeof ExportQuery.Type

/**
 * A page of a batch's contacts.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactPage = Schema.Struct({
  contacts: Schema.Array(BatchView.ContactView),
  page: Schema.Int.annotate({ description: "The page read; 0 when it was read by `cursor`." }),
  pageSize: Schema.Int,
  total: Schema.Int.annotate({ description: "Contacts matching the status and search" }),
  hasMore: Schema.Boolean,
  nextCursor: Schema.NullOr(Schema.String).annotate({
    description: "Pass as `cursor` (with the same `status` and `search`) for the next page; null on the last one."
  })
})
export type ContactPage = typeof ContactPage.Type

const ownRefusals = {
  status: ["invalid_contact_status", `status must be one of ${Contact.statuses.join(", ")}`],
  search: ["validation_error", `search must be 1 to ${ContactSearch.maxLength} characters, not blank, without NUL`],
  page: ["invalid_page", `page must be an integer from 1 to ${maxPage}`],
  pageSize: ["invalid_page_size", "pageSize must be an integer from 1 to 500"],
  cursor: ["invalid_cursor", "cursor must be a nextCursor this batch answered with, under the same status and search"],
  importable: ["validation_error", "importable must be true or false"]
} as const

/**
 * Decodes a contacts page's query string.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeContactsPageQuery = BatchQueries.decoder(ContactsPageQuery, ownRefusals)

/**
 * Decodes an export's query string.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeExportQuery = BatchQueries.decoder(ExportQuery, ownRefusals)

const checkPageQuery = BatchQueries.decoder(Schema.toType(ContactsPageQuery), ownRefusals)
const checkExportQuery = BatchQueries.decoder(Schema.toType(ExportQuery), ownRefusals)

/**
 * @since 0.1.0
 * @category models
 */
export interface ContactQueries {
  readonly listContacts: (
    organizationId: string,
    batchId: string,
    query?: ContactsPageQuery | undefined
  ) => Effect.Effect<ContactPage, InvalidInput | BatchNotFound | StoreError>
  /** The contact with every attempt and decision. */
  readonly getContact: (
    organizationId: string,
    batchId: string,
    contactId: string
  ) => Effect.Effect<ContactHistory.ContactDetails, InvalidInput | BatchNotFound | ContactNotFound | StoreError>
  /**
   * The batch's contacts as CSV chunks; the batch and query are checked
   * before the stream is answered, so a refusal comes before any byte.
   */
  readonly exportContacts: (
    organizationId: string,
    batchId: string,
    query?: ExportQuery | undefined
  ) => Effect.Effect<Stream.Stream<string, StoreError>, InvalidInput | BatchNotFound | StoreError>
}

/**
 * The contact's history from the store, or, where the store keeps none,
 * its last decision and open attempts (`complete: false`).
 *
 * @since 0.1.0
 * @category reading
 */
export const historyOf = (
  store: BatchStore["Service"],
  contact: Contact.Contact
): Effect.Effect<StoredHistory & { readonly complete: boolean }, StoreError> =>
  store.contactHistory !== undefined
    ? Effect.map(store.contactHistory(contact.batchId, contact.id), (history) => ({ ...history, complete: true }))
    : Effect.map(store.openAttempts(contact.batchId), (open) => ({
      attempts: open.filter((attempt) => attempt.contactId === contact.id),
      decisions: contact.lastDecision === null ? [] : [contact.lastDecision],
      complete: false
    }))

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (context: {
  readonly store: BatchStore["Service"]
  readonly directory: Directory["Service"]
  readonly config?: { readonly organizationBlackoutDates: (organizationId: string) => ReadonlyArray<string> } | undefined
}): ContactQueries => {
  const { directory, store } = context
  const dueOf = (batch: Batch) =>
    NextEligible.make(store, batch, context.config?.organizationBlackoutDates(batch.organizationId) ?? [])
  return {
    listContacts: (organizationId, batchId, raw) =>
      Effect.gen(function*() {
        const query = yield* checkPageQuery(raw)
        const batch = yield* findBatch({ store }, organizationId, batchId)
        const pageSize = query.pageSize ?? 50
        const page = yield* BatchQueries.readContacts(store, batchId, {
          status: query.status,
          search: query.search,
          page: query.page ?? 1,
          pageSize,
          cursor: query.cursor
        }, "cursor", ownRefusals.cursor[1])
        const due = yield* dueOf(batch)
        return {
          contacts: page.items.map((contact) => BatchView.contactView(contact, due(contact))),
          page: page.page,
          pageSize,
          total: page.total,
          hasMore: page.hasMore,
          nextCursor: page.nextCursor
        }
      }),
    getContact: (organizationId, batchId, contactId) =>
      Effect.gen(function*() {
        const batch = yield* findBatch({ store }, organizationId, batchId)
        yield* checkId("contactId", contactId)
        const contact = yield* store.getContact(batchId, contactId)
        if (contact === undefined) return yield* new ContactNotFound({ batchId, contactId })
        const history = yield* historyOf(store, contact)
        // Each number the contact was called from, looked up once.
        const ids = [...new Set(history.attempts.map((attempt) => attempt.callerNumberId))]
        const numbers = yield* Effect.forEach(ids, (id) =>
          Effect.map(directory.callerNumber(organizationId, id), (number) => [id, number?.number] as const))
        const callerNumbers = new Map(numbers.filter((entry): entry is readonly [string, string] => entry[1] !== undefined))
        const due = yield* dueOf(batch)
        return ContactHistory.detailsOf(contact, history, callerNumbers, due(contact))
      }),
    exportContacts: (organizationId, batchId, raw) =>
      Effect.gen(function*() {
        const query = yield* checkExportQuery(raw)
        yield* findBatch({ store }, organizationId, batchId)
        return ContactExport.contactsCsv(store, batchId, {
          status: query.status,
          search: query.search === undefined ? undefined : ContactSearch.make(query.search),
          importable: query.importable === "true"
        })
      })
  }
}
