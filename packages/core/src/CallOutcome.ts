/**
 * How one dial ended, as the telephony provider reports it. A contact's
 * final status is the outcome of its last attempt.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category models
 */
export const CallOutcome = Schema.Literals([
  "completed",
  "no_answer",
  "busy",
  "timeout",
  "blocked",
  "invalid_number",
  "carrier_error",
  "failed"
])
export type CallOutcome = typeof CallOutcome.Type

/**
 * @since 0.1.0
 * @category models
 */
export const all: ReadonlyArray<CallOutcome> = CallOutcome.literals

/**
 * Outcomes worth another attempt unless a batch says otherwise.
 * `invalid_number` and `blocked` will fail the same way every time.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultRetryable: ReadonlyArray<CallOutcome> = ["no_answer", "busy", "timeout", "carrier_error", "failed"]

/**
 * Outcomes that may never be retried, whatever a batch asks.
 *
 * @since 0.1.0
 * @category predicates
 */
export const neverRetryable: ReadonlyArray<CallOutcome> = ["completed", "invalid_number", "blocked"]
