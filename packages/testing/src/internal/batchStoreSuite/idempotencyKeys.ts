/** Idempotency keys: reserved once, replayed only for the same body. */
import { assert, describe } from "@effect/vitest"
import { BatchStore } from "@outdial/core/BatchStore"
import * as Effect from "effect/Effect"
import { failure, type Suite, uniqueId } from "./helpers.ts"

export const idempotencyKeys = (it: Suite): void => {
  describe("idempotency keys", () => {
    it.effect("a key is held by its first request; a repeat meanwhile is in progress", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const scope = uniqueId("scope")
        assert.isUndefined(yield* store.reserveIdempotencyKey(scope, "key", "body-a"))
        yield* failure(store.reserveIdempotencyKey(scope, "key", "body-a"), "IdempotencyRequestInProgress")
        const reused = yield* failure(store.reserveIdempotencyKey(scope, "key", "body-b"), "IdempotencyKeyReused")
        assert.strictEqual(reused.key, "key")
      }))

    it.effect("a completed key replays its response, and only for the same body", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const scope = uniqueId("scope")
        const response = { batchJobId: "batch_1", totalContacts: 3, rejected: [{ row: 2, code: "invalid_number" }] }
        yield* store.reserveIdempotencyKey(scope, "key", "body-a")
        yield* store.completeIdempotencyKey(scope, "key", response)
        assert.deepStrictEqual(yield* store.reserveIdempotencyKey(scope, "key", "body-a"), { response })
        assert.deepStrictEqual(yield* store.reserveIdempotencyKey(scope, "key", "body-a"), { response })
        yield* failure(store.reserveIdempotencyKey(scope, "key", "body-b"), "IdempotencyKeyReused")
      }))

    it.effect("a released key is free again, for any body", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const scope = uniqueId("scope")
        yield* store.reserveIdempotencyKey(scope, "key", "body-a")
        yield* store.releaseIdempotencyKey(scope, "key")
        assert.isUndefined(yield* store.reserveIdempotencyKey(scope, "key", "body-b"))
        yield* failure(store.reserveIdempotencyKey(scope, "key", "body-b"), "IdempotencyRequestInProgress")
        yield* store.releaseIdempotencyKey(scope, "never-reserved")
      }))

    it.effect("scopes keep keys apart", () =>
      Effect.gen(function*() {
        const store = yield* BatchStore
        const [first, second] = [uniqueId("scope"), uniqueId("scope")]
        assert.isUndefined(yield* store.reserveIdempotencyKey(first, "key", "body-a"))
        assert.isUndefined(yield* store.reserveIdempotencyKey(second, "key", "body-b"))
        yield* store.completeIdempotencyKey(first, "key", { from: "first" })
        assert.deepStrictEqual(yield* store.reserveIdempotencyKey(first, "key", "body-a"), { response: { from: "first" } })
        yield* failure(store.reserveIdempotencyKey(second, "key", "body-b"), "IdempotencyRequestInProgress")
        yield* store.releaseIdempotencyKey(second, "key")
        assert.deepStrictEqual(yield* store.reserveIdempotencyKey(first, "key", "body-a"), { response: { from: "first" } })
      }))
  })
}
