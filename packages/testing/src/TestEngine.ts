/**
 * An engine for tests: the in-memory store, the simulated telephony provider,
 * a directory of fixture agents and numbers, and helpers that move
 * `TestClock` so a week of calling windows runs in milliseconds. The
 * project's own tests use it; a host tests its call policies the same way.
 *
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Engine } from "@outdial/core"
 * import { TestEngine } from "@outdial/testing"
 * import { Effect } from "effect"
 *
 * it.effect("calls everyone within a day", () =>
 *   Effect.gen(function*() {
 *     const engine = yield* Engine.Engine
 *     const created = yield* engine.createBatch(TestEngine.organizationId, {
 *       name: "Renewals", agentId: TestEngine.agentId, contacts: TestEngine.rows(10)
 *     })
 *     const batch = yield* TestEngine.untilFinished(created.batchJobId)
 *     // …assert on batch and on TestEngine.allContacts(batch.id)
 *   }).pipe(Effect.provide(TestEngine.layer())))
 * ```
 *
 * @since 0.1.0
 */
import type { Batch } from "@outdial/core/Batch"
import * as BatchModel from "@outdial/core/Batch"
import * as BatchStore from "@outdial/core/BatchStore"
import type { Contact } from "@outdial/core/Contact"
import * as Credits from "@outdial/core/Credits"
import * as MemoryBatchStore from "@outdial/core/MemoryBatchStore"
import * as Directory from "@outdial/core/Directory"
import * as Dispatcher from "@outdial/core/Dispatcher"
import * as Engine from "@outdial/core/Engine"
import * as EngineConfig from "@outdial/core/EngineConfig"
import * as EngineEvents from "@outdial/core/EngineEvents"
import type { StoreError } from "@outdial/core/OutdialError"
import * as SimulatedTelephony from "@outdial/core/SimulatedTelephony"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"

/**
 * The fixture tenant, with a ready agent (`agentId`) on two outbound numbers.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const organizationId = "org_acme"

/**
 * A second tenant, for tenancy checks.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const otherOrganizationId = "org_other"

/**
 * The fixture tenant's ready agent.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const agentId = "agent_sales"

/**
 * Agents and numbers of both fixture tenants: `agent_sales` (ready, two
 * outbound numbers), `agent_draft` (not ready), `agent_bare` (only an
 * inbound number) and `agent_other` (the other tenant's).
 *
 * @since 0.1.0
 * @category fixtures
 */
export const directory: Layer.Layer<Directory.Directory> = Directory.layerStatic({
  agents: [
    { id: agentId, organizationId, ready: true, phoneNumberIds: ["num_1", "num_2"] },
    { id: "agent_draft", organizationId, ready: false, phoneNumberIds: ["num_1"] },
    { id: "agent_bare", organizationId, ready: true, phoneNumberIds: ["num_inbound"] },
    { id: "agent_other", organizationId: otherOrganizationId, ready: true, phoneNumberIds: ["num_other"] }
  ],
  callerNumbers: [
    { id: "num_1", organizationId, number: "+12025550100", outboundEnabled: true, agentId },
    { id: "num_2", organizationId, number: "+12025550101", outboundEnabled: true, agentId },
    { id: "num_inbound", organizationId, number: "+12025550102", outboundEnabled: false, agentId: "agent_bare" },
    { id: "num_other", organizationId: otherOrganizationId, number: "+12025550199", outboundEnabled: true, agentId: "agent_other" }
  ]
})

/**
 * `count` distinct valid German mobile numbers, from `offset`.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const phones = (count: number, offset = 0): Array<string> =>
  Array.from({ length: count }, (_, i) => `+49151${String(20_000_000 + offset + i)}`)

/**
 * `count` contact rows (`phone`, `name`) as a host would send them.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const rows = (count: number, offset = 0): Array<Record<string, unknown>> =>
  phones(count, offset).map((phone, i) => ({ phone, name: `Contact ${offset + i + 1}` }))

/**
 * What a test may change; everything else is the fixture default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly telephony?: SimulatedTelephony.Options | undefined
  readonly onEvent?: ((event: EngineEvents.EngineEvent) => void) | undefined
  readonly config?: Partial<EngineConfig.EngineConfig> | undefined
  readonly credits?: Layer.Layer<Credits.Credits> | undefined
  readonly store?: Layer.Layer<BatchStore.BatchStore> | undefined
  readonly directory?: Layer.Layer<Directory.Directory> | undefined
}

/**
 * The in-memory store as several engines in one test share it, standing in
 * for a database: not process-local, so engines renew leases and look for
 * batches whose holder died.
 *
 * @since 0.1.0
 * @category layers
 */
export const sharedMemoryStore: Layer.Layer<BatchStore.BatchStore> = MemoryBatchStore.layerShared

/**
 * The ports an engine needs, without the engine: what several engines of one
 * test share, as processes share a database and a provider.
 *
 * @since 0.1.0
 * @category layers
 */
export const ports = (options: Options = {}) =>
  Layer.mergeAll(
    options.store ?? MemoryBatchStore.layer,
    SimulatedTelephony.layer(options.telephony),
    options.directory ?? directory,
    options.credits ?? Credits.layerUnlimited(),
    EngineEvents.layer({ onEvent: options.onEvent })
  )

/**
 * An engine and its dispatcher needing ports: one process of several.
 *
 * @since 0.1.0
 * @category layers
 */
export const engineOnly = (config: Partial<EngineConfig.EngineConfig> = {}) =>
  Engine.layer.pipe(Layer.provideMerge(Dispatcher.layer), Layer.provide(EngineConfig.layer(config)))

/**
 * An engine over its own ports, all of which it also provides (the
 * `SimulatedTelephony` service included, for its statistics).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}) =>
  Engine.layerWith({
    store: options.store ?? MemoryBatchStore.layer,
    telephony: SimulatedTelephony.layer(options.telephony),
    directory: options.directory ?? directory,
    credits: options.credits ?? Credits.layerUnlimited(),
    events: EngineEvents.layer({ onEvent: options.onEvent }),
    config: options.config
  })

/**
 * Waits until the dispatcher has nothing left to do without time passing.
 * `TestClock.adjust` only waits for fibers it wakes itself, so work a create
 * or a resume started must settle first.
 *
 * @since 0.1.0
 * @category clock
 */
export const settle: Effect.Effect<void, never, Dispatcher.Dispatcher> = Effect.gen(function*() {
  yield* (yield* Dispatcher.Dispatcher).settled
})

/**
 * Runs `body` on a fresh engine (`layer(options)`), its clock set to `start`
 * before the engine is built (a later jump would replay every timer between).
 *
 * @since 0.1.0
 * @category clock
 */
export const runAt = <A, E>(
  options: Options,
  start: number,
  body: Effect.Effect<A, E, Engine.Engine | Dispatcher.Dispatcher | BatchStore.BatchStore | SimulatedTelephony.SimulatedTelephony>
) => Effect.andThen(TestClock.setTime(start), Effect.provide(body, layer(options)))

/**
 * Creates a batch of the fixture tenant with its ready agent and `input`'s
 * settings, and waits until the dispatcher has acted on it.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const createBatch = (input: Record<string, unknown>) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const created = yield* engine.createBatch(organizationId, { name: "Test batch", agentId, ...input })
    yield* settle
    return created
  })

/**
 * Settles, moves `TestClock` by `duration`, and settles again.
 *
 * @since 0.1.0
 * @category clock
 */
export const advance = (duration: Duration.Input): Effect.Effect<void, never, Dispatcher.Dispatcher> =>
  settle.pipe(Effect.andThen(TestClock.adjust(duration)), Effect.andThen(settle))

/**
 * A batch did not reach a final status within the time a test allowed.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFinished extends Schema.TaggedError<NotFinished>()("NotFinished", {
  batchId: Schema.String,
  status: Schema.String,
  waited: Schema.String
}) {}

/**
 * Moves `TestClock` in `step`s (a minute unless set) until the batch is
 * completed, cancelled or failed, and returns it; fails with `NotFinished`
 * after `within` of test time (30 days unless set).
 *
 * @since 0.1.0
 * @category clock
 */
export const untilFinished = (
  batchId: string,
  options: { readonly step?: Duration.Input; readonly within?: Duration.Input } = {}
): Effect.Effect<Batch, NotFinished | StoreError, Dispatcher.Dispatcher | BatchStore.BatchStore> =>
  Effect.gen(function*() {
    const store = yield* BatchStore.BatchStore
    const step = Duration.fromInputUnsafe(options.step ?? "1 minute")
    const within = Duration.fromInputUnsafe(options.within ?? "30 days")
    let waited = Duration.zero
    yield* settle
    for (;;) {
      const batch = yield* store.findBatch(batchId)
      if (batch !== undefined && BatchModel.isFinal(batch.status)) return batch
      if (Duration.isGreaterThanOrEqualTo(waited, within)) {
        return yield* new NotFinished({ batchId, status: batch?.status ?? "missing", waited: Duration.format(waited) })
      }
      yield* advance(step)
      waited = Duration.sum(waited, step)
    }
  })

/**
 * Every contact of a batch, page by page.
 *
 * @since 0.1.0
 * @category reads
 */
export const allContacts = (
  batchId: string
): Effect.Effect<Array<Contact>, StoreError, BatchStore.BatchStore> =>
  Effect.gen(function*() {
    const store = yield* BatchStore.BatchStore
    const all: Array<Contact> = []
    for (let page = 1;; page++) {
      const result = yield* store.listContacts(batchId, { page, pageSize: 500 })
      all.push(...result.items)
      if (result.items.length < 500) return all
    }
  })
