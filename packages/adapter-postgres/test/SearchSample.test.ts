import { assert, layer } from "@effect/vitest"
import { PgStorage } from "@outdial/adapter-postgres"
import { BatchStore } from "@outdial/core/BatchStore"
import { makeBatch, newContacts } from "@outdial/testing/StoreFixtures"
import * as Effect from "effect/Effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as Search from "../src/internal/search.ts"

/** A new batch of `count` contacts, and its sample read twice by one search. */
const sampledTwice = (count: number) =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const sql = yield* SqlClient.SqlClient
    const batch = makeBatch()
    yield* store.createBatch(batch, newContacts(count))
    const search = Search.make(sql, sql.literal("c.position"))
    return [yield* search.sampleOf(batch.id), yield* search.sampleOf(batch.id)] as const
  })

// The sample that tells a search's rare stretches from its common ones is kept per batch:
// a batch of at least the sample's size must give a whole sample, or every search reads it again.
layer(PgStorage.layerEmbedded(), { timeout: "60 seconds" })("search sample", (it) => {
  it.effect("a batch of 1,000 contacts gives a sample of 200, kept for the next search", () =>
    Effect.gen(function*() {
      const [first, second] = yield* sampledTwice(1_000)
      assert.strictEqual(first.length, 200)
      assert.strictEqual(second, first)
    }))

  it.effect("a batch smaller than the sample is read again: it may be filling", () =>
    Effect.gen(function*() {
      const [first, second] = yield* sampledTwice(50)
      assert.strictEqual(first.length, 50)
      assert.notStrictEqual(second, first)
    }))
})
