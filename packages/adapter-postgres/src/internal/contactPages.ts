/**
 * A page of a batch's contacts without a search, of every status or one, by
 * page number or after a contact (`listContacts`).
 *
 * Every read is a range of an index from a starting position: the primary
 * key `(batch_id, position)` for all contacts, the status index `(batch_id,
 * status, position)` for one status, merged with the ready index for a
 * waiting one (`contactsOf`). With `after` the range starts past that
 * contact's position. A page number is turned into a start too: without a
 * status filter, in a batch whose positions have no gaps (nothing removed or
 * skipped: `total_contacts = next_position`; positions count from 1), page N
 * starts at position (N-1)·size + 1. Otherwise the start is the
 * ((N-1)·size + 1)-th match, which only counting finds (a B-tree keeps no
 * ranks): it is counted over index-only scans of positions, never by reading
 * the rows before it.
 */
import type { Page } from "@outdial/core/BatchStore"
import * as Contact from "@outdial/core/Contact"
import type { StoreError } from "@outdial/core/OutdialError"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { Fragment } from "effect/sql/Statement"
import { counterColumn } from "../Migrations.ts"
import { type ContactRow, positionOf, storeError, toContact } from "./rows.ts"

/**
 * The first `limit` contacts of the batch, or of one status, in `range`, as
 * the relation `c` in row order. A status is written out, not bound, so that
 * the planner can prove which partial index holds it (Migrations, migration
 * 9). A waiting status is read from two indexes in row order and merged: its
 * contacts with a due time are in the status index, those without one (every
 * contact stored and never tried) only in the ready index. Each half carries
 * its own order and limit, or the planner reads and sorts both whole.
 */
const contactsOf = (
  sql: SqlClient.SqlClient,
  batchId: string,
  status: Contact.ContactStatus | undefined,
  range: Fragment,
  limit: number
): Fragment => {
  const ordered = (where: Fragment) =>
    sql`SELECT * FROM outdial_contacts c WHERE c.batch_id = ${batchId} ${where} ${range}
        ORDER BY c.position LIMIT ${limit}`
  if (status === undefined) return sql`(${ordered(sql.literal(""))}) c`
  // A status the machine does not know names no contact; it is bound, never written out.
  if (!Contact.statuses.includes(status)) return sql`(${ordered(sql`AND c.status = ${status}`)}) c`
  const ofStatus = sql.literal(`AND c.status = '${status}'`)
  return Contact.isWaiting(status)
    ? sql`((${ordered(sql`${ofStatus} AND c.next_retry_at IS NULL`)})
           UNION ALL (${ordered(sql`${ofStatus} AND c.next_retry_at IS NOT NULL`)})) c`
    : sql`(${ordered(ofStatus)}) c`
}

interface PageOptions {
  readonly after?: string | undefined
  readonly page: number
  readonly pageSize: number
  readonly status?: Contact.ContactStatus | undefined
}

/** The pages of a store: `listPage(batchId, options)`. */
export const make = (sql: SqlClient.SqlClient, contactColumns: Fragment) => {
  const listPage = (batchId: string, options: PageOptions): Effect.Effect<Page<Contact.Contact>, StoreError> =>
    readPage(sql, contactColumns, batchId, options).pipe(Effect.mapError(storeError("listContacts")))
  return listPage
}

const readPage = (
  sql: SqlClient.SqlClient,
  contactColumns: Fragment,
  batchId: string,
  { after, page, pageSize, status }: PageOptions
) =>
  Effect.gen(function*() {
    const total = status === undefined
      ? sql<{ total: number }>`SELECT total_contacts AS total FROM outdial_batches WHERE id = ${batchId}`
      : sql<{ total: number }>`SELECT coalesce(sum(${sql(counterColumn(status))}), 0)::int4 AS total
                               FROM outdial_counters WHERE batch_id = ${batchId}`
    const skip = (page - 1) * pageSize
    const none = sql.literal("")
    let start: Fragment = none
    let from: Fragment = none
    if (after !== undefined) {
      const position = positionOf(after)
      if (position === undefined) return { items: [], total: (yield* total)[0]?.total ?? 0 }
      from = sql`AND c.position > ${position}`
    } else if (skip > 0) {
      // coalesce evaluates the count only when the computed start does not apply.
      const computed = status === undefined
        ? sql`(SELECT CASE WHEN b.total_contacts = b.next_position THEN ${skip + 1}::int4 END
               FROM outdial_batches b WHERE b.id = ${batchId})`
        : sql`NULL::int4`
      // Found once, though a waiting status reads its page from two indexes.
      start = sql`WITH start AS MATERIALIZED (SELECT coalesce(${computed},
        (SELECT c.position FROM ${contactsOf(sql, batchId, status, none, skip + 1)}
         ORDER BY c.position OFFSET ${skip} LIMIT 1)) AS position)`
      from = sql`AND c.position >= (SELECT position FROM start)`
    }
    const items = sql<ContactRow>`${start}
      SELECT ${contactColumns} FROM ${contactsOf(sql, batchId, status, from, pageSize)}
      ORDER BY c.position LIMIT ${pageSize}`
    const [rows, totals] = yield* Effect.all([items, total], { concurrency: 2 })
    return { items: rows.map(toContact), total: totals[0]?.total ?? 0 }
  })
