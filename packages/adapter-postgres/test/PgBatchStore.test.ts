import { PgStorage } from "@outdial/adapter-postgres"
import { BatchStoreSuite } from "@outdial/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { describe, it } from "vitest"
import { freshDatabase, isReachable, serverUrl } from "./database.ts"

BatchStoreSuite.run("PgBatchStore on embedded PGlite", PgStorage.layerEmbedded(), { timeout: "60 seconds" })

const reachable = await isReachable()
if (reachable) {
  BatchStoreSuite.run(
    "PgBatchStore on PostgreSQL",
    Layer.unwrap(Effect.map(freshDatabase(), ({ url }) => PgStorage.layer({ url: Redacted.make(url) }))),
    { timeout: "60 seconds", scaleContacts: 100_000 }
  )
} else {
  describe("PgBatchStore on PostgreSQL", () => {
    it.skip(`skipped: no PostgreSQL reachable at ${serverUrl}`, () => {})
  })
  console.log(`PgBatchStore on PostgreSQL skipped: no PostgreSQL reachable at ${serverUrl}`)
}
