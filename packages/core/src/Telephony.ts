/**
 * The telephony port: place one attempt's call and report how it ended, and
 * tell what became of an attempt by its id. The attempt id is the provider's
 * idempotency key, which is what lets a recovering process ask instead of
 * redialing.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { CallOutcome } from "./CallOutcome.ts"

/**
 * Everything a provider needs to place one call.
 *
 * @since 0.1.0
 * @category models
 */
export interface DialRequest {
  readonly attemptId: string
  readonly organizationId: string
  readonly batchId: string
  readonly contactId: string
  readonly attemptNumber: number
  readonly agentId: string
  readonly callerNumberId: string
  /** E.164 of the caller number, when the directory knows it. */
  readonly callerNumber: string | null
  /** E.164 of the contact. */
  readonly to: string
  readonly contactName: string | null
  /** The contact's custom fields, for the agent's prompt. */
  readonly dynamicVariables: Readonly<Record<string, string>>
}

/**
 * How a call ended.
 *
 * @since 0.1.0
 * @category models
 */
export const CallResult = Schema.Struct({
  outcome: CallOutcome,
  /** SIP status code of a failed call, when the provider gives one. */
  sipCode: Schema.NullOr(Schema.Int),
  /** Seconds of conversation after answer. */
  duration: Schema.NullOr(Schema.Number),
  roomName: Schema.NullOr(Schema.String),
  failureReason: Schema.NullOr(Schema.String),
  /**
   * The recipient asked to be called back then ("call me tomorrow at ten"):
   * epoch milliseconds or an ISO 8601 date-time. The contact waits until
   * then, every policy applied, and the attempt is not counted against its
   * budget.
   */
  callbackAt: Schema.optionalKey(Schema.NullOr(Schema.Union([Schema.Finite, Schema.String]))),
  /**
   * The callee asked, during the call, never to be called again: the number
   * joins the organization's do-not-call list at once (source `opt_out`),
   * the contact is not retried and the organization's other waiting contacts
   * with that number are skipped.
   */
  optOut: Schema.optionalKey(Schema.Boolean)
})
export type CallResult = typeof CallResult.Type

/**
 * The instant of a result's `callbackAt`; `undefined` when there is none or
 * it names no instant.
 *
 * @since 0.1.0
 * @category models
 */
export const callbackAtOf = (result: CallResult): number | undefined => {
  const value = result.callbackAt
  if (value === undefined || value === null) return undefined
  const millis = typeof value === "number" ? value : Date.parse(value)
  return Number.isFinite(millis) ? millis : undefined
}

/**
 * What the provider knows of an attempt: nothing (it never reached the
 * provider, so dialing it is safe), a call still going on, or its end.
 *
 * @since 0.1.0
 * @category models
 */
export type AttemptStatus =
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "InProgress" }
  | { readonly _tag: "Finished"; readonly result: CallResult }

/**
 * The provider could not be reached or answered with an error that is not a
 * call outcome. The engine records the attempt as `failed` with this reason.
 *
 * @since 0.1.0
 * @category errors
 */
export class TelephonyError extends Schema.TaggedError<TelephonyError>()("TelephonyError", {
  message: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {}

/**
 * @since 0.1.0
 * @category services
 */
export class Telephony extends Context.Service<Telephony, {
  /** Places the call and succeeds when it has ended, however it ended. */
  readonly dial: (request: DialRequest) => Effect.Effect<CallResult, TelephonyError>
  /** What the provider knows of an attempt, for recovery after a crash. */
  readonly lookup: (attemptId: string) => Effect.Effect<AttemptStatus, TelephonyError>
}>()("@outdial/core/Telephony") {}
