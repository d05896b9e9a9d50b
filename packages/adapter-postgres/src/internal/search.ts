/**
 * A search of a batch's contacts (`ContactSearch`) in SQL. The rule itself
 * is a filter no index serves: the lower-cased name contains the search
 * (`strpos`), the number contains its digits or, for a prefix, starts with
 * them (`starts_with`), so every character is literal and nothing needs
 * escaping there.
 *
 * What finds the candidates is one trigram index on the name and number
 * together (`Migrations.searchText`, migration 8), asked only for the
 * search's rare stretches. A trigram GIN index reads the posting list of
 * every trigram it is given, and a trigram most of the batch shares ("con"
 * of "Contact …", "491" of every +49 number) costs a read of the whole
 * batch's list, however few rows match: "Contact 123456" took 270 ms at a
 * million contacts. So the batch is sampled first (a few hundred rows spread
 * over it, one round trip), and the index is given the stretches of the
 * search whose every three characters are rare in the sample, as
 * `LIKE '%…%'` conditions it rechecks before the filter. A search with no
 * rare stretch (its text is in most rows, or shorter than three characters)
 * gets no index condition: its matches are everywhere, and the planner reads
 * the primary key in row order and stops at the page's end.
 */
import type { Page } from "@outdial/core/BatchStore"
import type * as Contact from "@outdial/core/Contact"
import * as ContactSearch from "@outdial/core/ContactSearch"
import type { StoreError } from "@outdial/core/OutdialError"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { Fragment } from "effect/sql/Statement"
import { searchText } from "../Migrations.ts"
import { type ContactRow, positionOf, storeError, toContact } from "./rows.ts"

/** Rows of the batch sampled to tell a search's rare stretches from its common ones. */
const sampleSize = 200
/** A stretch of three characters found in more of the sample than this is common. */
const commonShare = 0.02

/**
 * The longest stretches of `needle` (three characters or more) whose every
 * three consecutive characters are in at most `commonShare` of `sample`.
 * Their padded trigrams (a word's edges, " 20" of " 2012") are looked up
 * too: a stretch's single rare word, looked up alone, may be as common as
 * the sample can tell from none (1 in 200), and every candidate is a row to
 * read; its neighbours narrow the candidates in the index.
 */
export const rareStretches = (needle: string, sample: ReadonlyArray<string>): Array<string> => {
  const allowed = Math.max(1, Math.floor(sample.length * commonShare))
  const stretches: Array<string> = []
  let start = -1
  for (let i = 0; i + 3 <= needle.length; i++) {
    const gram = needle.slice(i, i + 3)
    let hits = 0
    for (const text of sample) if (text.includes(gram) && ++hits > allowed) break
    if (hits <= allowed) {
      if (start < 0) start = i
    } else if (start >= 0) {
      stretches.push(needle.slice(start, i + 2))
      start = -1
    }
  }
  if (start >= 0) stretches.push(needle.slice(start))
  return stretches
}

/** Batches whose sample is kept, and searches a sample serves before it is taken again (the batch may have grown). */
const samplesKept = 64
const samplesReused = 100

/** The search of a store: `searchContacts`, keeping each batch's sample for its next searches. */
export const make = (sql: SqlClient.SqlClient, contactColumns: Fragment) => {
  const text = sql.literal(searchText)
  const samples = new Map<string, { readonly texts: ReadonlyArray<string>; uses: number }>()
  const sampleOf = (batchId: string) =>
    Effect.suspend(() => {
      const kept = samples.get(batchId)
      if (kept !== undefined && kept.uses++ < samplesReused) return Effect.succeed(kept.texts)
      samples.delete(batchId)
      return sql<{ text: string }>`
        SELECT ${text} AS text FROM outdial_contacts c
        WHERE c.batch_id = ${batchId} AND c.position IN (
          -- Positions count from 1: a batch of at least \`sampleSize\` contacts gives that many rows.
          SELECT (1 + g::int8 * b.next_position / ${sampleSize})::int4
          FROM outdial_batches b, generate_series(0, ${sampleSize - 1}) g WHERE b.id = ${batchId})`.pipe(
        Effect.map((rows) => {
          const texts = rows.map((row) => row.text)
          // A batch smaller than the sample is read again next time: it may be filling.
          if (texts.length === sampleSize) {
            if (samples.size >= samplesKept) samples.delete(samples.keys().next().value!)
            samples.set(batchId, { texts, uses: 0 })
          }
          return texts
        })
      )
    })
  return {
    sampleOf,
    search: (batchId: string, options: SearchOptions) => searchContacts(sql, contactColumns, text, sampleOf, batchId, options)
  }
}

interface SearchOptions {
  readonly after?: string | undefined
  readonly page: number
  readonly pageSize: number
  readonly search: ContactSearch.Search
  readonly status?: Contact.ContactStatus | undefined
}

/** The filter of a search of `batchId`, its index conditions chosen by the batch's `sample`. */
const filterOf = (
  sql: SqlClient.SqlClient,
  text: Fragment,
  sample: ReadonlyArray<string>,
  batchId: string,
  search: ContactSearch.Search,
  status: Contact.ContactStatus | undefined
): Fragment => {
  const digits = search.digits
  const byName = sql`strpos(lower(c.name), ${search.lowered}) > 0`
  const matches = digits === null
    ? byName
    : search.prefix
    ? sql`(${byName} OR starts_with(c.phone, ${`+${digits}`}) OR starts_with(c.phone, ${digits}))`
    : sql`(${byName} OR strpos(c.phone, ${digits}) > 0)`
  // Every rare stretch of a needle is in the search text of each contact it matches.
  const lookup = (stretches: ReadonlyArray<string>) =>
    sql.and(stretches.map((stretch) => sql`${text} LIKE ${`%${ContactSearch.escapeLike(stretch)}%`} ESCAPE '\\'`))
  const byNameStretches = rareStretches(search.lowered, sample)
  const byDigitsStretches = digits === null ? [] : rareStretches(digits, sample)
  // The index can serve the search only when it serves each way of matching.
  const indexed = byNameStretches.length > 0 && (digits === null || byDigitsStretches.length > 0)
  const candidates = !indexed
    ? sql.literal("")
    : digits === null
    ? sql`AND ${lookup(byNameStretches)}`
    : sql`AND (${lookup(byNameStretches)} OR ${lookup(byDigitsStretches)})`
  return sql`c.batch_id = ${batchId} ${status === undefined ? sql.literal("") : sql`AND c.status = ${status}`}
             ${candidates} AND ${matches}`
}

const searchContacts = (
  sql: SqlClient.SqlClient,
  contactColumns: Fragment,
  text: Fragment,
  sampleOf: (batchId: string) => Effect.Effect<ReadonlyArray<string>, SqlError>,
  batchId: string,
  options: SearchOptions
): Effect.Effect<Page<Contact.Contact>, StoreError> => {
  const { after, page, pageSize, search, status } = options
  let range: Fragment = sql.literal("")
  let skip = (page - 1) * pageSize
  if (after !== undefined) {
    const position = positionOf(after)
    // An id the store never gave names no place: nothing follows it.
    range = position === undefined ? sql.literal("AND false") : sql`AND c.position > ${position}`
    skip = 0
  }
  return Effect.gen(function*() {
    const filter = filterOf(sql, text, yield* sampleOf(batchId), batchId, search, status)
    const [rows, totals] = yield* Effect.all([
      sql<ContactRow>`SELECT ${contactColumns} FROM outdial_contacts c WHERE ${filter} ${range}
                      ORDER BY c.position LIMIT ${pageSize} OFFSET ${skip}`,
      sql<{ total: number }>`SELECT count(*)::int4 AS total FROM outdial_contacts c WHERE ${filter}`
    ], { concurrency: 2 })
    return { items: rows.map(toContact), total: totals[0]?.total ?? 0 }
  }).pipe(Effect.mapError(storeError("listContacts")))
}

/**
 * The plan (`EXPLAIN ANALYZE`) of the first page of a search as the store
 * runs it, for benches to show which index serves it.
 */
export const explain = (sql: SqlClient.SqlClient, batchId: string, search: ContactSearch.Search) =>
  Effect.gen(function*() {
    const text = sql.literal(searchText)
    const sample = yield* make(sql, sql.literal("c.position")).sampleOf(batchId)
    const rows = yield* sql<{ "QUERY PLAN": string }>`EXPLAIN ANALYZE SELECT c.position FROM outdial_contacts c
      WHERE ${filterOf(sql, text, sample, batchId, search, undefined)} ORDER BY c.position LIMIT 50`
    return rows.map((row) => row["QUERY PLAN"])
  })
