/**
 * Which agent and caller numbers may dial, and where: one rule for a create,
 * a draft update, a validation and the dispatcher's takeover of a batch. A
 * caller number dials when the directory knows it and it may place outbound
 * calls; the destinations allowed are the organization's policy narrowed by
 * every number's own.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { CallerNumber, Directory } from "./Directory.ts"
import { InvalidInput } from "./OutdialError.ts"
import * as PhoneNumber from "./PhoneNumber.ts"

/**
 * Why a caller number cannot dial, or `undefined` when it can.
 *
 * @since 0.1.0
 * @category predicates
 */
export const refusal = (id: string, number: CallerNumber | undefined): string | undefined =>
  number === undefined
    ? `Caller number ${id} does not exist`
    : number.outboundEnabled
    ? undefined
    : `Caller number ${id} (${number.number}) cannot place outbound calls`

/**
 * The numbers among `ids` that can dial, in order; the others are left out.
 *
 * @since 0.1.0
 * @category resolving
 */
export const usableNumbers = (
  directory: Directory["Service"],
  organizationId: string,
  ids: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<CallerNumber>> =>
  Effect.map(
    Effect.forEach(ids, (id) => directory.callerNumber(organizationId, id)),
    (numbers) => numbers.filter((number, i): number is CallerNumber => refusal(ids[i]!, number) === undefined)
  )

/**
 * The destinations the organization allows, narrowed by each number's own.
 *
 * @since 0.1.0
 * @category resolving
 */
export const destinationPolicy = (
  directory: Directory["Service"],
  organizationId: string,
  numbers: ReadonlyArray<CallerNumber | undefined>
): Effect.Effect<PhoneNumber.DestinationPolicy | undefined> =>
  Effect.map(directory.destinationPolicy(organizationId), (orgPolicy) =>
    PhoneNumber.mergePolicies([orgPolicy, ...numbers.map((n) => n?.destinationPolicy)]))

/**
 * A batch's dialing as settled for its creation or update.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved {
  readonly agentId: string
  readonly phoneNumberIds: ReadonlyArray<string>
  readonly destinationPolicy: PhoneNumber.DestinationPolicy | undefined
}

const invalid = (code: "no_caller_number" | "no_outbound_agent", field: string, message: string) =>
  new InvalidInput({ code, field, message })

/**
 * The agent and caller numbers a batch dials with: numbers named by the
 * request must be the organization's and able to call out; an agent left
 * out comes from the first number; numbers left out are the agent's.
 *
 * @since 0.1.0
 * @category resolving
 */
export const resolve = (
  directory: Directory["Service"],
  organizationId: string,
  input: {
    readonly agentId?: string | undefined
    readonly fromPhoneNumberId?: string | undefined
    readonly phoneNumberIds?: ReadonlyArray<string> | undefined
  }
): Effect.Effect<Resolved, InvalidInput> =>
  Effect.gen(function*() {
    const requested = input.phoneNumberIds !== undefined && input.phoneNumberIds.length > 0
      ? input.phoneNumberIds
      : input.fromPhoneNumberId === undefined
      ? []
      : [input.fromPhoneNumberId]
    const numbers: Array<CallerNumber> = []
    for (const id of requested) {
      const number = yield* directory.callerNumber(organizationId, id)
      const refused = refusal(id, number)
      if (refused !== undefined) return yield* invalid("no_caller_number", "phoneNumberIds", refused)
      numbers.push(number!)
    }
    const agentId = input.agentId ?? numbers.find((n) => n.agentId !== null)?.agentId ?? undefined
    if (agentId === undefined) {
      return yield* invalid("no_outbound_agent", "agentId", "No agent given, and no caller number has one assigned")
    }
    const agent = yield* directory.agent(organizationId, agentId)
    if (agent === undefined) return yield* invalid("no_outbound_agent", "agentId", `Agent ${agentId} does not exist`)
    if (!agent.ready) return yield* invalid("no_outbound_agent", "agentId", `Agent ${agentId} is not ready to take calls`)
    if (numbers.length === 0) {
      numbers.push(...yield* usableNumbers(directory, organizationId, agent.phoneNumberIds))
      if (numbers.length === 0) {
        return yield* invalid("no_caller_number", "phoneNumberIds", `Agent ${agentId} has no caller number that can place outbound calls`)
      }
    }
    return {
      agentId,
      phoneNumberIds: numbers.map((n) => n.id),
      destinationPolicy: yield* destinationPolicy(directory, organizationId, numbers)
    }
  })
