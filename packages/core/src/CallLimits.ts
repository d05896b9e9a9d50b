/**
 * Limits on how often and how much an organization calls, beyond one
 * batch's settings: a frequency cap per number (`FrequencyCap.ts` applies
 * it), calls per second per caller number (carriers refuse more) and calls
 * in flight across all the organization's batches (a plan's limit). A batch
 * may carry the first two; the host sets any per organization
 * (`EngineConfig.organizationLimits`).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * At most `maxAttempts` attempts (and `maxConnected` answered calls) per
 * number in any rolling `periodHours`, across every batch of the organization.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FrequencyCap = Schema.Struct({
  maxAttempts: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000 })),
  /** Answered calls (outcome `completed`) allowed in the period; no limit of its own when absent or `null`. */
  maxConnected: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000 })))),
  /** The rolling period, at most a leap year. */
  periodHours: Schema.Number.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(8_784))
})
export type FrequencyCap = typeof FrequencyCap.Type

/**
 * Calls a caller number may start in any one second (carriers commonly allow 1 to 10).
 *
 * @since 0.1.0
 * @category schemas
 */
export const CallsPerSecond = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000 }))

/**
 * What a host limits per organization; every field optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface OrganizationLimits {
  readonly frequencyCap?: FrequencyCap | undefined
  /** Calls in flight at once across all the organization's batches and processes. */
  readonly maxConcurrentCalls?: number | undefined
  readonly maxCallsPerSecondPerNumber?: number | undefined
}

/**
 * What a dial step must respect beyond the batch's own concurrency: the
 * organization's calls in flight and each caller number's calls per second.
 * `null` where there is no limit.
 *
 * @since 0.1.0
 * @category models
 */
export interface DialLimits {
  readonly organizationId: string
  readonly maxConcurrentCalls: number | null
  readonly maxCallsPerSecondPerNumber: number | null
}

/**
 * The limits of a batch's dials: the batch's CPS and the organization's,
 * the stricter winning. `undefined` when there are none.
 *
 * @since 0.1.0
 * @category models
 */
export const dialLimitsOf = (
  batch: { readonly organizationId: string; readonly maxCallsPerSecondPerNumber?: number | null | undefined },
  organization: OrganizationLimits | undefined
): DialLimits | undefined => {
  const cps = [batch.maxCallsPerSecondPerNumber ?? undefined, organization?.maxCallsPerSecondPerNumber]
    .filter((n): n is number => n !== undefined)
  const concurrent = organization?.maxConcurrentCalls
  if (cps.length === 0 && concurrent === undefined) return undefined
  return {
    organizationId: batch.organizationId,
    maxConcurrentCalls: concurrent ?? null,
    maxCallsPerSecondPerNumber: cps.length === 0 ? null : Math.min(...cps)
  }
}

/**
 * What the store knows of the organization's load when a step begins its
 * attempts: calls in flight, and per caller number the start times (epoch
 * millis) of the last second.
 *
 * @since 0.1.0
 * @category models
 */
export interface Load {
  readonly inFlight: number
  readonly recentStarts: ReadonlyMap<string, ReadonlyArray<number>>
}

/**
 * Which of a step's attempts (by caller number, in order) may begin at
 * `now` under `limits`, and when the first refused could: the organization
 * has `maxConcurrentCalls - inFlight` slots; a caller number may start one
 * more call while fewer than its CPS started in `(now - 1 s, now]`, so no
 * one-second window ever holds more. `retryAt` is `undefined` when only
 * calls ending can free a slot.
 *
 * @since 0.1.0
 * @category deciding
 */
export const admit = (
  limits: DialLimits,
  load: Load,
  callerNumberIds: ReadonlyArray<string>,
  now: number
): { readonly admitted: ReadonlyArray<boolean>; readonly retryAt: number | undefined; readonly refused: number } => {
  let slots = limits.maxConcurrentCalls === null ? Number.POSITIVE_INFINITY : limits.maxConcurrentCalls - load.inFlight
  const cps = limits.maxCallsPerSecondPerNumber
  const window = new Map<string, Array<number>>()
  let retryAt: number | undefined
  let refused = 0
  const admitted = callerNumberIds.map((caller) => {
    if (slots <= 0) {
      refused++
      return false
    }
    if (cps !== null) {
      let starts = window.get(caller)
      if (starts === undefined) {
        starts = (load.recentStarts.get(caller) ?? []).filter((at) => at > now - 1_000).sort((a, b) => a - b)
        window.set(caller, starts)
      }
      if (starts.length >= cps) {
        const free = starts[starts.length - cps]! + 1_000
        retryAt = retryAt === undefined ? free : Math.min(retryAt, free)
        refused++
        return false
      }
      starts.push(now)
    }
    slots--
    return true
  })
  return { admitted, retryAt, refused }
}
