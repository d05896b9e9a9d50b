/**
 * The search index (Migrations, migration 8) takes new rows in a pending list, merged into the index
 * by whoever finds it over `gin_pending_list_limit` (4 MB unless set): the inserting transaction itself,
 * in small runs, the merge as much of an ingest's cost as the rows. So an ingest leaves the merging to a
 * second connection, woken after every `mergeEvery` contacts stored, running beside it on another of
 * the server's CPUs (the inserts skip a merge already running), and merging what is left once the
 * ingest ends (committed or not: index entries of rolled-back rows are vacuum's) without the ingest
 * waiting for it. A search reads the pending list too, so none misses a row meanwhile. Where the
 * merge is refused (the index belongs to another role) the ingest merges its own list past 64 MB.
 * Not in a database of one connection (PGlite), where the second would only wait for the first.
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Semaphore from "effect/Semaphore"
import type * as SqlClient from "effect/sql/SqlClient"

/**
 * Contacts stored between two merges. A merge's cost is mostly per index key it touches, each taking the
 * entries of every row merged at once: merging 20,000 contacts at a time (about 10 MB of list) took a
 * third less of the server's CPU than 5,000 (one chunk), and leaves the list far under the 64 MB at which
 * the ingest would merge it itself.
 */
const mergeEvery = 20_000

export const make = (sql: SqlClient.SqlClient, options: { readonly chunkSize: number; readonly processLocal: boolean }) => {
  const { chunkSize } = options
  const mergePending = sql<{ readonly pages: string }>`
    SELECT gin_clean_pending_list(i) AS pages FROM to_regclass('outdial_contacts_search') i WHERE i IS NOT NULL`
  // One merge at a time in this store, none waiting for another's lock with a connection held.
  const merging = Semaphore.makeUnsafe(1)
  const mergingBeside = <A, E, R>(
    contacts: number,
    run: (noteStored: (count: number) => Effect.Effect<void>) => Effect.Effect<A, E, R>
  ) =>
    // An ingest of one chunk leaves the index a few MB to merge, as any write does.
    options.processLocal || contacts <= chunkSize ? run(() => Effect.void) : Effect.gen(function*() {
      // Only the latest wake counts: one merge takes whatever pending entries it finds.
      const wakes = yield* Queue.sliding<boolean>(1)
      const merger = Effect.gen(function*() {
        for (let more = true; more;) {
          more = yield* Queue.take(wakes)
          yield* merging.withPermitsIfAvailable(1)(mergePending)
        }
      })
      // Forked outside the ingest's transaction, so that it runs on a connection of its own.
      yield* Effect.forkDetach(
        Effect.ignore(merger, { log: "Warn", message: "Merging the contact search index's pending entries failed" })
      )
      let unmerged = 0
      const noteStored = (count: number) =>
        Effect.suspend(() => {
          unmerged += count
          if (unmerged < mergeEvery) return Effect.void
          unmerged = 0
          return Effect.asVoid(Queue.offer(wakes, true))
        })
      return yield* run(noteStored).pipe(Effect.ensuring(Queue.offer(wakes, false)))
    })
  return { mergingBeside }
}
