/**
 * What a batch will take before it runs: how long (in calendar time, with
 * its calling window) and what it will cost. Both are estimates shown at
 * creation, from the contact count, the concurrency, the window, an average
 * call length and the price per minute.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface Input {
  readonly contacts: number
  readonly concurrentCallLimit: number
  /** Minutes a week the calling window is open; `10080` when always open. */
  readonly openMinutesPerWeek: number
  /** USD per connected minute. */
  readonly pricePerMinute: number
  readonly averageCallSeconds?: number | undefined
  /** Dials per contact on average, retries included. */
  readonly attemptsPerContact?: number | undefined
  /** Seconds a line is busy per dial beyond the talk: ringing, set-up, tear-down. */
  readonly dialOverheadSeconds?: number | undefined
}

/**
 * Defaults: a two-minute conversation, 1.3 dials per contact, 20 seconds of
 * ringing and set-up per dial.
 *
 * @since 0.1.0
 * @category configuration
 */
export const defaults = {
  averageCallSeconds: 120,
  attemptsPerContact: 1.3,
  dialOverheadSeconds: 20
} as const

const minutesPerWeek = 7 * 24 * 60

/**
 * @since 0.1.0
 * @category models
 */
export interface Estimate {
  /** Calendar seconds from start to the last call, counting closed hours. */
  readonly durationSeconds: number
  /** e.g. `"about 3 hours 20 minutes"`. */
  readonly estimatedDuration: string
  /** USD, e.g. `"$12.40"`. */
  readonly estimatedCost: string
  readonly costUsd: number
}

/**
 * Lines work in parallel up to the limit; only the conversation is billed,
 * and only connected calls talk, so retries add line time but little cost.
 *
 * @since 0.1.0
 * @category constructors
 */
export const estimate = (input: Input): Estimate => {
  const averageCallSeconds = input.averageCallSeconds ?? defaults.averageCallSeconds
  const durationSeconds = durationSecondsOf(input)
  const costUsd = (Math.max(0, input.contacts) * averageCallSeconds / 60) * input.pricePerMinute
  return {
    durationSeconds,
    estimatedDuration: humanDuration(durationSeconds),
    estimatedCost: usd(costUsd),
    costUsd
  }
}

/**
 * Calendar seconds alone, without the formatting: for the dispatcher, which
 * refreshes a running batch's estimated completion.
 *
 * @since 0.1.0
 * @category constructors
 */
export const durationSecondsOf = (input: Omit<Input, "pricePerMinute">): number => {
  const averageCallSeconds = input.averageCallSeconds ?? defaults.averageCallSeconds
  const attemptsPerContact = input.attemptsPerContact ?? defaults.attemptsPerContact
  const overhead = input.dialOverheadSeconds ?? defaults.dialOverheadSeconds
  const lineSeconds = Math.max(0, input.contacts) * (averageCallSeconds + attemptsPerContact * overhead)
  const callingSeconds = lineSeconds / Math.max(1, input.concurrentCallLimit)
  const openShare = Math.min(1, Math.max(0, input.openMinutesPerWeek) / minutesPerWeek)
  return openShare === 0 ? Number.POSITIVE_INFINITY : callingSeconds / openShare
}

const units = [
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60]
] as const

/**
 * The two largest units of a duration, rounded to the minute: `"about 2 days
 * 4 hours"`, `"about 45 minutes"`, `"less than a minute"`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const humanDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "never: the calling window does not open"
  let rest = Math.round(seconds / 60) * 60
  if (rest < 60) return "less than a minute"
  const parts: Array<string> = []
  for (const [name, size] of units) {
    const count = Math.floor(rest / size)
    rest -= count * size
    if (count > 0 || parts.length > 0) parts.push(`${count} ${name}${count === 1 ? "" : "s"}`)
    if (parts.length === 2) break
  }
  return `about ${parts.filter((part) => !part.startsWith("0 ")).join(" ")}`
}

/**
 * @since 0.1.0
 * @category formatting
 */
export const usd = (amount: number): string =>
  `$${amount.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`
