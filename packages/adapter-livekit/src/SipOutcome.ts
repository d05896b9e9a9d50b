/**
 * How a LiveKit outbound call that did not connect maps to a call outcome:
 * one table over the SIP status code (never the HTTP status or the twirp
 * code alone: 480 and 486 share HTTP 429, and 404 also means "no such
 * trunk"), then rules for the failures that carry no SIP status.
 *
 * @since 0.1.0
 */
import type { CallOutcome } from "@outdial/core"

/**
 * What a failed `createSipParticipant` said.
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  /** `SipCallError.sipStatusCode`, when the error carried `sip_status_code`. */
  readonly sipCode: number | undefined
  /** The twirp code (`resource_exhausted`, `canceled`…), when the body was a twirp error. */
  readonly twirpCode: string | undefined
  readonly message: string
  /** The client gave up waiting (`DOMException` `TimeoutError`): the call's fate is unknown. */
  readonly clientTimeout: boolean
  /** The request never reached LiveKit (`fetch failed`, connection refused). */
  readonly network: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Classified {
  readonly outcome: CallOutcome.CallOutcome
  readonly sipCode: number | null
  readonly failureReason: string
}

/**
 * SIP final responses by outcome.
 *
 * @since 0.1.0
 * @category mapping
 */
export const sipTable: ReadonlyArray<{ readonly codes: ReadonlyArray<number>; readonly outcome: CallOutcome.CallOutcome; readonly why: string }> = [
  { codes: [486, 600], outcome: "busy", why: "busy" },
  // LiveKit itself groups a plain decline with busy (both USER_REJECTED): the person was there.
  { codes: [603], outcome: "busy", why: "declined" },
  { codes: [607, 608], outcome: "blocked", why: "rejected as unwanted" },
  { codes: [480, 408, 487], outcome: "no_answer", why: "not answered" },
  { codes: [404, 410, 484, 485, 604, 301, 302], outcome: "invalid_number", why: "the number does not exist" }
]

const byCode = new Map(sipTable.flatMap((row) => row.codes.map((code) => [code, row] as const)))

/**
 * The outcome of a failed dial.
 *
 * @since 0.1.0
 * @category mapping
 */
export const classify = (failure: Failure): Classified => {
  const { message, sipCode, twirpCode } = failure
  const text = message.toLowerCase()
  if (sipCode !== undefined) {
    // Twilio's carrier block (error 32203) comes as a 603 too.
    if (sipCode === 603 && text.includes("blocked by carrier")) {
      return { outcome: "blocked", sipCode, failureReason: `SIP ${sipCode}: blocked by the carrier` }
    }
    const row = byCode.get(sipCode)
    if (row !== undefined) return { outcome: row.outcome, sipCode, failureReason: `SIP ${sipCode}: ${row.why}` }
    // Auth, media and server errors of the trunk or carrier; 5xx include carriers' CPS throttling.
    return { outcome: "carrier_error", sipCode, failureReason: `SIP ${sipCode}: ${message}` }
  }
  if (failure.clientTimeout) {
    return { outcome: "timeout", sipCode: null, failureReason: "LiveKit did not answer in time; the call's fate is unknown" }
  }
  if (failure.network) return { outcome: "failed", sipCode: null, failureReason: `LiveKit unreachable: ${message}` }
  if (twirpCode === "canceled") {
    if (text.includes("sip request timed out")) return { outcome: "no_answer", sipCode: null, failureReason: "rang out unanswered" }
    const intermediate = /transaction failed to complete \((\d+)/.exec(text)
    if (intermediate !== null) {
      // It rang and then stalled, or the carrier never answered the INVITE at all.
      return Number(intermediate[1]) > 0
        ? { outcome: "no_answer", sipCode: null, failureReason: "rang, then no final response" }
        : { outcome: "carrier_error", sipCode: null, failureReason: "the carrier did not respond to the INVITE" }
    }
  }
  if (twirpCode === "failed_precondition" && text.includes("context deadline exceeded")) {
    // A known race of the ringing timeout (livekit/sip#857).
    return { outcome: "no_answer", sipCode: null, failureReason: "rang out unanswered" }
  }
  if (twirpCode === "failed_precondition" && (text.includes("required auth") || text.includes("max retry attempts"))) {
    return { outcome: "carrier_error", sipCode: null, failureReason: `trunk authentication: ${message}` }
  }
  if (twirpCode === "invalid_argument" && (text.includes("callee number") || text.includes("sipcallto"))) {
    return { outcome: "invalid_number", sipCode: null, failureReason: message }
  }
  if (twirpCode === "deadline_exceeded") {
    return { outcome: "timeout", sipCode: null, failureReason: "LiveKit's request budget ran out" }
  }
  // Configuration (unknown trunk, no numbers on it, credentials) or a transient LiveKit failure.
  return { outcome: "failed", sipCode: null, failureReason: `LiveKit: ${message}` }
}

/**
 * Reads a thrown error of `livekit-server-sdk` (`SipCallError`,
 * `ServerError`, a `TimeoutError`, a fetch failure).
 *
 * @since 0.1.0
 * @category mapping
 */
export const failureOf = (error: unknown): Failure => {
  const e = error as { name?: unknown; message?: unknown; code?: unknown; sipStatusCode?: unknown; cause?: unknown }
  const sipCode = typeof e?.sipStatusCode === "number" && Number.isFinite(e.sipStatusCode) ? e.sipStatusCode : undefined
  const message = typeof e?.message === "string" ? e.message : String(error)
  return {
    sipCode,
    twirpCode: typeof e?.code === "string" ? e.code : undefined,
    message,
    clientTimeout: e?.name === "TimeoutError" || e?.name === "AbortError",
    network: e?.name === "TypeError" && /fetch failed|ECONNREFUSED/i.test(`${message} ${String(e.cause ?? "")}`)
  }
}
