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

it("indexes active batches by exactly the statuses the dispatcher watches", async () => {
  const indexdef = await Effect.runPromise(
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ indexdef: string }>`
        SELECT indexdef FROM pg_indexes WHERE indexname = 'outdial_batches_active'`
      return rows[0]!.indexdef
    }).pipe(Effect.provide(PgStorage.layerEmbedded()), Effect.scoped)
  )
  const statuses = [...indexdef.matchAll(/'(\w+)'/g)].map((match) => match[1])
  expect(statuses.sort()).toEqual([...Batch.dispatchable].sort())
}, 60_000)

// The dispatcher's reads and a waiting status's pages name the waiting statuses as the
// indexes of waiting contacts do (migration 9); a status added to the machine must reach both.
it("indexes waiting contacts by exactly the statuses that are neither dialing nor final", async () => {
  const indexdefs = await Effect.runPromise(
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return yield* sql<{ indexname: string; indexdef: string }>`
        SELECT indexname, indexdef FROM pg_indexes
        WHERE indexname IN ('outdial_contacts_ready', 'outdial_contacts_due', 'outdial_contacts_by_status')
        ORDER BY indexname`
    }).pipe(Effect.provide(PgStorage.layerEmbedded()), Effect.scoped)
  )
  const waiting = Contact.statuses.filter((status) => status !== "dialing" && !Contact.isFinal(status)).sort()
  expect(indexdefs.map((row) => row.indexname)).toEqual([
    "outdial_contacts_by_status",
    "outdial_contacts_due",
    "outdial_contacts_ready"
  ])
  for (const { indexdef } of indexdefs) {
    expect([...indexdef.matchAll(/'(\w+)'/g)].map((match) => match[1]).sort()).toEqual(waiting)
  }
}, 60_000)
