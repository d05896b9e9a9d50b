/**
 * What the agent asks of the engine at the end of a call, as LiveKit
 * participant attributes: `outdial.callback_at` asks for a callback ("call
 * me tomorrow at ten") at an ISO 8601 date-time or epoch milliseconds. The
 * agent sets it on its own participant (`setAttributes` in LiveKit Agents)
 * or, through the server API, on the SIP participant `pstn-<attemptId>`;
 * the adapter reads every participant's attributes when the call ends, from
 * the room and from the webhook of the participant leaving.
 *
 * @since 0.1.0
 */
import type { Telephony } from "@outdial/core"

/**
 * @since 0.1.0
 * @category attributes
 */
export const callbackAtAttribute = "outdial.callback_at"

/**
 * Adds to `seen` the attributes the adapter acts on among those of
 * `participants`; a later participant's value wins.
 *
 * @since 0.1.0
 * @category attributes
 */
export const gather = (
  seen: Record<string, string>,
  participants: ReadonlyArray<{ readonly attributes?: Readonly<Record<string, string>> | undefined }>
): void => {
  for (const participant of participants) {
    const value = participant.attributes?.[callbackAtAttribute]
    if (value !== undefined && value.trim() !== "") seen[callbackAtAttribute] = value.trim()
  }
}

/**
 * The result's requests from the attributes seen: a `callbackAt` when one
 * names an instant (a value that does not is ignored, the call is recorded
 * as it ended).
 *
 * @since 0.1.0
 * @category attributes
 */
export const requestsOf = (attributes: Readonly<Record<string, string>>): Pick<Telephony.CallResult, "callbackAt"> => {
  const value = attributes[callbackAtAttribute]
  if (value === undefined) return {}
  if (/^\d{1,15}$/.test(value)) return { callbackAt: Number(value) }
  return Number.isFinite(Date.parse(value)) ? { callbackAt: value } : {}
}
