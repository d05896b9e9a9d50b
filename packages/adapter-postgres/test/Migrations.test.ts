/**
 * Migrations are forward-only, so the partial index of active batches is
 * written out in its migration; this holds it to the statuses the batch
 * machine says the dispatcher watches (the index `activeBatches` relies on).
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { Batch } from "@outdial/core"
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
