/**
 * A search of a batch's contacts (`ContactSearch`) in SQL. Names match by
 * `lower(name) LIKE '%…%'`, served by the trigram GIN index on `lower(name)`;
 * numbers by digits: a substring by `phone LIKE '%…%'`, served by the trigram
 * GIN index on `phone`, and a prefix (after an optional `+`) by a range of
 * the B-tree on `(batch_id, phone COLLATE "C")`, bounds computed here so a
 * generic plan of the prepared statement uses it too (Migrations, migration
 * 4). The planner BitmapORs the indexes that apply and ANDs the batch and
 * status in; with matches everywhere it reads the primary key in row order
 * instead and stops at the page's end. Name and substring searches shorter
 * than three characters hold no trigram and read the batch's rows.
 *
 * The search is bound as a parameter, its `%`, `_` and `\` escaped
 * (`ESCAPE '\'`): every character is literal, quotes included.
 */
import type { Page } from "@outdial/core/BatchStore"
import type * as Contact from "@outdial/core/Contact"
import * as ContactSearch from "@outdial/core/ContactSearch"
import type { StoreError } from "@outdial/core/OutdialError"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { Fragment } from "effect/sql/Statement"
import { type ContactRow, positionOf, storeError, toContact } from "./rows.ts"

export const searchContacts = (
  sql: SqlClient.SqlClient,
  contactColumns: Fragment,
  batchId: string,
  options: {
    readonly after?: string | undefined
    readonly page: number
    readonly pageSize: number
    readonly search: ContactSearch.Search
    readonly status?: Contact.ContactStatus | undefined
  }
): Effect.Effect<Page<Contact.Contact>, StoreError> => {
  const { after, page, pageSize, search, status } = options
  // Phones are ASCII (`+` and digits): the prefix's successor bounds the range in code-unit order.
  const startsWith = (prefix: string) => {
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
    return sql`(c.phone COLLATE "C" >= ${prefix} AND c.phone COLLATE "C" < ${end})`
  }
  const byName = sql`lower(c.name) LIKE ${`%${ContactSearch.escapeLike(search.lowered)}%`} ESCAPE '\\'`
  const digits = search.digits
  const matches = digits === null
    ? byName
    : search.prefix
    ? sql`(${byName} OR ${startsWith(`+${digits}`)} OR ${startsWith(digits)})`
    : sql`(${byName} OR c.phone LIKE ${`%${digits}%`})`
  const filter = sql`c.batch_id = ${batchId} ${status === undefined ? sql.literal("") : sql`AND c.status = ${status}`} AND ${matches}`
  let range: Fragment = sql.literal("")
  let skip = (page - 1) * pageSize
  if (after !== undefined) {
    const position = positionOf(after)
    // An id the store never gave names no place: nothing follows it.
    range = position === undefined ? sql.literal("AND false") : sql`AND c.position > ${position}`
    skip = 0
  }
  return Effect.all([
    sql<ContactRow>`SELECT ${contactColumns} FROM outdial_contacts c WHERE ${filter} ${range}
                    ORDER BY c.position LIMIT ${pageSize} OFFSET ${skip}`,
    sql<{ total: number }>`SELECT count(*)::int4 AS total FROM outdial_contacts c WHERE ${filter}`
  ], { concurrency: 2 }).pipe(
    Effect.map(([rows, totals]) => ({ items: rows.map(toContact), total: totals[0]?.total ?? 0 })),
    Effect.mapError(storeError("listContacts"))
  )
}
