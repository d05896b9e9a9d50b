/**
 * The conformance suite of the `BatchStore` port: one set of tests every
 * adapter runs against its own layer, so that the in-memory reference and a
 * database keep the same contract.
 *
 * The tests share one store, as they would share a database: each works in
 * organizations and batches of its own (random ids) and never assumes the
 * store is otherwise empty. Times are fixed instants, never the clock.
 *
 * ```ts
 * import { BatchStoreSuite } from "@outdial/testing"
 *
 * BatchStoreSuite.run("PgBatchStore", PgStorage.layerEmbedded())
 * ```
 *
 * @since 0.1.0
 */
import { layer } from "@effect/vitest"
import type { BatchStore } from "@outdial/core/BatchStore"
import type * as Layer from "effect/Layer"
import { batches } from "./internal/batchStoreSuite/batches.ts"
import { dispatch } from "./internal/batchStoreSuite/dispatch.ts"
import { batchedWrites } from "./internal/batchStoreSuite/batchedWrites.ts"
import { callLimits } from "./internal/batchStoreSuite/callLimits.ts"
import { draftContacts } from "./internal/batchStoreSuite/draftContacts.ts"
import { historyAndSearch } from "./internal/batchStoreSuite/historyAndSearch.ts"
import { idempotencyKeys } from "./internal/batchStoreSuite/idempotencyKeys.ts"
import { invariants } from "./internal/batchStoreSuite/invariants.ts"
import { leases } from "./internal/batchStoreSuite/leases.ts"
import { liveContacts } from "./internal/batchStoreSuite/liveContacts.ts"
import type { Options } from "./internal/batchStoreSuite/options.ts"

export {
  /**
   * Options of `run`.
   *
   * @since 0.1.0
   * @category models
   */
  type Options
} from "./internal/batchStoreSuite/options.ts"

/**
 * Declares the suite: a `describe(name)` of tests sharing one store built
 * from `store`, section by section.
 *
 * @since 0.1.0
 * @category suite
 */
export const run = <E>(name: string, store: Layer.Layer<BatchStore, E>, options: Options = {}): void =>
  layer(store, options.timeout === undefined ? {} : { timeout: options.timeout })(name, (it) => {
    idempotencyKeys(it)
    batches(it)
    draftContacts(it)
    liveContacts(it)
    leases(it)
    dispatch(it)
    batchedWrites(it)
    historyAndSearch(it)
    callLimits(it)
    invariants(it, options)
  })
