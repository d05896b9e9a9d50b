/**
 * Migrations are forward-only, so partial indexes are written out in their
 * migrations; these hold them to the statuses the machines name: the active
 * batches the dispatcher watches (the index `activeBatches` relies on) and
 * the waiting contacts it dials.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { Batch, Contact } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as SqlClient from "effect/sql/SqlClient"
import { expect, it } from "vitest"

/** The statuses each of `indexnames` is written with, sorted, on a freshly migrated database. */
const statusesNamedBy = (indexnames: ReadonlyArray<string>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ indexname: string; indexdef: string }>`
        SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN ${sql.in(indexnames)}`
      return new Map(rows.map((row) => [row.indexname, [...row.indexdef.matchAll(/'(\w+)'/g)].map((match) => match[1]).sort()]))
    }).pipe(Effect.provide(PgStorage.layerEmbedded()), Effect.scoped)
  )

it("indexes active batches by exactly the statuses the dispatcher watches", async () => {
  const named = await statusesNamedBy(["outdial_batches_active"])
  expect(named.get("outdial_batches_active")).toEqual([...Batch.dispatchable].sort())
}, 60_000)

// The dispatcher's reads and a waiting status's pages name the waiting statuses as the
// indexes of waiting contacts do (migration 9); a status added to the machine must reach both.
it("indexes waiting contacts by exactly the statuses that are neither dialing nor final", async () => {
  const indexes = ["outdial_contacts_by_status", "outdial_contacts_due", "outdial_contacts_ready"]
  const named = await statusesNamedBy(indexes)
  const waiting = Contact.statuses.filter((status) => status !== "dialing" && !Contact.isFinal(status)).sort()
  expect([...named.keys()].sort()).toEqual(indexes)
  for (const statuses of named.values()) expect(statuses).toEqual(waiting)
}, 60_000)
