/**
 * The stores the router tests run on: the in-memory store, then
 * PostgreSQL (a fresh database on the machine's server, or embedded PGlite
 * when none is reachable).
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { type BatchStore, MemoryBatchStore } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { freshDatabase, isReachable } from "../../adapter-postgres/test/database.ts"

/** Declares `suite` once per store, named `${subject} on …`. */
export const eachStore = async (
  subject: string,
  databasePrefix: string,
  suite: (name: string, store: () => Layer.Layer<BatchStore.BatchStore, unknown>) => void
): Promise<void> => {
  suite(`${subject} on the in-memory store`, () => MemoryBatchStore.layer)
  const reachable = await isReachable()
  suite(
    reachable ? `${subject} on PostgreSQL` : `${subject} on PostgreSQL (embedded PGlite: no server reachable)`,
    () =>
      reachable
        ? Layer.unwrap(Effect.map(freshDatabase(databasePrefix), ({ url }) => PgStorage.layer({ url: Redacted.make(url) })))
        : PgStorage.layerEmbedded()
  )
}
