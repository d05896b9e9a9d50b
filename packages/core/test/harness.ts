/**
 * An engine on the in-memory store and simulated telephony, as tests and
 * benches assemble it, with a synchronous window on its events.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as BatchStore from "../src/BatchStore.ts"
import * as Credits from "../src/Credits.ts"
import * as Directory from "../src/Directory.ts"
import * as Dispatcher from "../src/Dispatcher.ts"
import * as Engine from "../src/Engine.ts"
import * as EngineConfig from "../src/EngineConfig.ts"
import * as EngineEvents from "../src/EngineEvents.ts"
import * as MemoryBatchStore from "../src/MemoryBatchStore.ts"
import * as SimulatedTelephony from "../src/SimulatedTelephony.ts"

export const organizationId = "org_acme"
export const otherOrganizationId = "org_other"

export const directory = Directory.layerStatic({
  agents: [
    { id: "agent_sales", organizationId, ready: true, phoneNumberIds: ["num_1", "num_2"] },
    { id: "agent_draft", organizationId, ready: false, phoneNumberIds: ["num_1"] },
    { id: "agent_bare", organizationId, ready: true, phoneNumberIds: ["num_inbound"] },
    { id: "agent_other", organizationId: otherOrganizationId, ready: true, phoneNumberIds: ["num_other"] }
  ],
  callerNumbers: [
    { id: "num_1", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent_sales" },
    { id: "num_2", organizationId, number: "+12025550101", outboundEnabled: true, agentId: "agent_sales" },
    { id: "num_inbound", organizationId, number: "+12025550102", outboundEnabled: false, agentId: "agent_bare" },
    { id: "num_other", organizationId: otherOrganizationId, number: "+12025550199", outboundEnabled: true, agentId: "agent_other" }
  ]
})

/** `count` distinct valid German mobile numbers. */
export const phones = (count: number, offset = 0): Array<string> =>
  Array.from({ length: count }, (_, i) => `+49151${String(20_000_000 + offset + i)}`)

export const rows = (count: number, offset = 0): Array<Record<string, unknown>> =>
  phones(count, offset).map((phone, i) => ({ phone, name: `Contact ${offset + i + 1}` }))

export interface HarnessOptions {
  readonly telephony?: SimulatedTelephony.Options
  readonly onEvent?: (event: EngineEvents.EngineEvent) => void
  readonly config?: Partial<EngineConfig.EngineConfig>
  readonly credits?: Layer.Layer<Credits.Credits>
  readonly store?: Layer.Layer<BatchStore.BatchStore>
  readonly directory?: Layer.Layer<Directory.Directory>
}

/**
 * The in-memory store as several engines in one test share it, standing in
 * for a database: not process-local, so engines renew leases and look for
 * batches whose holder died.
 */
export const sharedMemoryStore: Layer.Layer<BatchStore.BatchStore> = MemoryBatchStore.layerShared

/** The ports an engine needs, without the engine itself. */
export const ports = (options: HarnessOptions = {}) =>
  Layer.mergeAll(
    options.store ?? MemoryBatchStore.layer,
    SimulatedTelephony.layer(options.telephony),
    options.directory ?? directory,
    options.credits ?? Credits.layerUnlimited(),
    EngineEvents.layer({ onEvent: options.onEvent })
  )

/** An engine and its dispatcher, needing ports: one process of several sharing them. */
export const engineOnly = (config?: Partial<EngineConfig.EngineConfig>) =>
  Engine.layer.pipe(Layer.provideMerge(Dispatcher.layer), Layer.provide(EngineConfig.layer(config ?? {})))

/** An engine over its own ports. */
export const engine = (options: HarnessOptions = {}) => engineOnly(options.config).pipe(Layer.provideMerge(ports(options)))

/** Every contact of a batch, page by page. */
export const allContacts = (batchId: string) =>
  Effect.gen(function*() {
    const store = yield* BatchStore.BatchStore
    const all = []
    for (let page = 1;; page++) {
      const result = yield* store.listContacts(batchId, { page, pageSize: 500 })
      all.push(...result.items)
      if (result.items.length < 500) return all
    }
  })
