/**
 * The directory port: the host owns agents and caller numbers, and the engine
 * asks it whether an agent exists and is ready, and which numbers it may call
 * from. `layerStatic` serves a fixed list for tests and examples.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { DestinationPolicy } from "./PhoneNumber.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Agent {
  readonly id: string
  readonly organizationId: string
  /** Deployed and able to take calls. */
  readonly ready: boolean
  /** Caller numbers assigned to the agent; a batch without numbers uses these. */
  readonly phoneNumberIds: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CallerNumber {
  readonly id: string
  readonly organizationId: string
  /** E.164. */
  readonly number: string
  readonly outboundEnabled: boolean
  /** The agent the number is assigned to; a batch naming only a number uses it. */
  readonly agentId: string | null
  /** Where this number may call, when the host restricts it. */
  readonly destinationPolicy?: DestinationPolicy | undefined
}

/**
 * @since 0.1.0
 * @category services
 */
export class Directory extends Context.Service<Directory, {
  readonly agent: (organizationId: string, agentId: string) => Effect.Effect<Agent | undefined>
  readonly callerNumber: (organizationId: string, numberId: string) => Effect.Effect<CallerNumber | undefined>
  /** The destination policy of the organization as a whole, if any. */
  readonly destinationPolicy: (organizationId: string) => Effect.Effect<DestinationPolicy | undefined>
}>()("@outdial/core/Directory") {}

/**
 * A directory over fixed lists.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStatic = (options: {
  readonly agents: ReadonlyArray<Agent>
  readonly callerNumbers: ReadonlyArray<CallerNumber>
  readonly destinationPolicies?: Readonly<Record<string, DestinationPolicy>>
}): Layer.Layer<Directory> =>
  Layer.succeed(Directory)({
    agent: (organizationId, agentId) =>
      Effect.succeed(options.agents.find((a) => a.id === agentId && a.organizationId === organizationId)),
    callerNumber: (organizationId, numberId) =>
      Effect.succeed(options.callerNumbers.find((n) => n.id === numberId && n.organizationId === organizationId)),
    destinationPolicy: (organizationId) => Effect.succeed(options.destinationPolicies?.[organizationId])
  })
