/**
 * When a dial's outcome earns another attempt, and how long to wait for it.
 * A delay may be one value, escalate with each retry, or differ by outcome
 * (busy 5 minutes, no answer 2 hours). The eligibility chain's batch-wide
 * policies (calling window, daily cap) then defer the retry further when it
 * would fall where the batch may not dial; that part is the dispatcher's,
 * since it needs the schedule and the day's count.
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as CallOutcome from "./CallOutcome.ts"
import { InvalidInput } from "./OutdialError.ts"

/**
 * @since 0.1.0
 * @category models
 */
export const RetryPolicy = Schema.Struct({
  maxAttempts: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10 })),
  retryableOutcomes: Schema.Array(CallOutcome.CallOutcome),
  /** Seconds before retry n is `delaySeconds[min(n, length) - 1]`: one value, or escalating. */
  delaySeconds: Schema.NonEmptyArray(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Per-outcome delays in seconds; they win over `delaySeconds`. */
  delayByOutcome: Schema.Record(Schema.String, Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)))
})
export type RetryPolicy = typeof RetryPolicy.Type

/**
 * Defaults of the spec: three attempts, 30 minutes apart.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: RetryPolicy = {
  maxAttempts: 3,
  retryableOutcomes: CallOutcome.defaultRetryable,
  delaySeconds: [30 * 60],
  delayByOutcome: {}
}

/**
 * The longest retry delay: a retry further away than a month is no retry a
 * campaign waits for, and it keeps every computed time far inside the range
 * of a date.
 *
 * @since 0.1.0
 * @category configuration
 */
export const maxDelaySeconds = 30 * 86_400

const isoDuration = /^P(?!$)(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/

/**
 * A delay as a client sends it: seconds, or an ISO-8601 duration such as
 * `PT30M` or `P1DT2H` (weeks, days, hours, minutes, seconds; years and months
 * have no fixed length and are refused).
 *
 * @since 0.1.0
 * @category schemas
 */
export const DelayInput = Schema.Union([
  Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: maxDelaySeconds })),
  Schema.String.check(
    Schema.isMaxLength(64),
    Schema.isPattern(isoDuration),
    Schema.makeFilter((text: string) =>
      isoSeconds(text) <= maxDelaySeconds || `a retry delay is at most ${maxDelaySeconds / 86_400} days`
    )
  )
])
export type DelayInput = typeof DelayInput.Type

// Escalating delays: one per retry at most (`maxAttempts` is at most 10).
const DelayList = Schema.NonEmptyArray(DelayInput).check(Schema.isMaxLength(10))

/**
 * `retryDelay` of a create or update request: one delay, escalating delays
 * (one per retry, the last repeating), or delays per outcome with a
 * `default`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RetryDelayInput = Schema.Union([
  DelayInput,
  DelayList,
  Schema.Struct({
    default: Schema.optionalKey(Schema.Union([DelayInput, DelayList])),
    no_answer: Schema.optionalKey(DelayInput),
    busy: Schema.optionalKey(DelayInput),
    timeout: Schema.optionalKey(DelayInput),
    carrier_error: Schema.optionalKey(DelayInput),
    failed: Schema.optionalKey(DelayInput)
  })
])
export type RetryDelayInput = typeof RetryDelayInput.Type

/**
 * The seconds of a delay. Strings reaching here have passed `DelayInput`'s
 * pattern.
 *
 * @since 0.1.0
 * @category constructors
 */
export const delayToSeconds = (delay: DelayInput): number => typeof delay === "number" ? delay : isoSeconds(delay)

function isoSeconds(text: string): number {
  const [, weeks, days, hours, minutes, seconds] = isoDuration.exec(text) ?? []
  const n = (s: string | undefined) => (s === undefined ? 0 : Number(s))
  return n(weeks) * 604_800 + n(days) * 86_400 + n(hours) * 3_600 + n(minutes) * 60 + n(seconds)
}

const toSecondsList = (delay: DelayInput | ReadonlyArray<DelayInput>): readonly [number, ...Array<number>] => {
  const list = typeof delay === "object" ? delay : [delay]
  const [first, ...rest] = list.map(delayToSeconds)
  return [first ?? defaults.delaySeconds[0], ...rest]
}

/**
 * Builds a policy from request fields, keeping the defaults for what is left
 * out.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromInput = (input: {
  readonly maxAttempts?: number | undefined
  readonly retryDelay?: RetryDelayInput | undefined
  readonly retryableOutcomes?: ReadonlyArray<CallOutcome.CallOutcome> | undefined
}): Result.Result<RetryPolicy, InvalidInput> => {
  const retryableOutcomes = input.retryableOutcomes ?? defaults.retryableOutcomes
  const forbidden = retryableOutcomes.filter((outcome) => CallOutcome.neverRetryable.includes(outcome))
  if (forbidden.length > 0) {
    return Result.fail(
      new InvalidInput({
        code: "validation_error",
        field: "retryableOutcomes",
        message: `${forbidden.join(", ")} can never be retried`
      })
    )
  }
  const delay = input.retryDelay
  const base = { maxAttempts: input.maxAttempts ?? defaults.maxAttempts, retryableOutcomes }
  if (delay === undefined) return Result.succeed({ ...base, delaySeconds: defaults.delaySeconds, delayByOutcome: {} })
  if (typeof delay !== "object" || Array.isArray(delay)) {
    return Result.succeed({ ...base, delaySeconds: toSecondsList(delay as DelayInput), delayByOutcome: {} })
  }
  const { default: fallback, ...byOutcome } = delay as Exclude<RetryDelayInput, DelayInput | ReadonlyArray<DelayInput>>
  const delayByOutcome: Record<string, number> = {}
  for (const [outcome, value] of Object.entries(byOutcome)) {
    if (value !== undefined) delayByOutcome[outcome] = delayToSeconds(value)
  }
  return Result.succeed({
    ...base,
    delaySeconds: fallback === undefined ? defaults.delaySeconds : toSecondsList(fallback),
    delayByOutcome
  })
}

/**
 * Seconds to wait before attempt `attemptCount + 1`, after attempt
 * `attemptCount` ended with `outcome`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const delayAfter = (policy: RetryPolicy, outcome: CallOutcome.CallOutcome, attemptCount: number): number =>
  policy.delayByOutcome[outcome] ??
    policy.delaySeconds[Math.min(Math.max(attemptCount, 1), policy.delaySeconds.length) - 1]!

/**
 * Whether a contact whose attempt `attemptCount` ended with `outcome` gets
 * another one.
 *
 * @since 0.1.0
 * @category predicates
 */
export const shouldRetry = (
  policy: RetryPolicy,
  outcome: CallOutcome.CallOutcome,
  attemptCount: number,
  maxAttempts: number = policy.maxAttempts
): boolean => attemptCount < maxAttempts && policy.retryableOutcomes.includes(outcome)
