/**
 * When a batch may call: daily windows of local wall-clock time in an IANA
 * zone, on working days. A window whose end is at or before its start runs
 * past midnight and belongs to the day it starts on (Friday 22:00–02:00 is
 * open into Saturday morning when Friday is a working day).
 *
 * Daylight-saving changes are handled per instant: an instant is open when
 * its local time lies in a window. A window opening inside a spring-forward
 * gap opens at the first real instant after it (02:30 → 03:00 CEST); a
 * repeated autumn hour is open twice.
 *
 * Longer than ~400 lines because compiling a schedule and answering on it
 * (open, next opening, local day) share one private day index; apart, each
 * would need the index's layout.
 *
 * Instants are epoch milliseconds: the dispatcher asks on its hot path, so
 * a compiled schedule caches the intervals it has worked out.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { InvalidInput } from "./OutdialError.ts"

const hhmm = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/

/**
 * A daily window, `HH:MM` to `HH:MM` local time; `end` may be `24:00`, or
 * earlier than `start` to run past midnight.
 *
 * @since 0.1.0
 * @category models
 */
export const Window = Schema.Struct({
  start: Schema.String.check(Schema.isPattern(hhmm)),
  end: Schema.String.check(Schema.isPattern(hhmm))
})
export type Window = typeof Window.Type

/**
 * Windows a day may have: more would only split a day no campaign needs split.
 *
 * @since 0.1.0
 * @category configuration
 */
export const maxWindows = 12

/**
 * @since 0.1.0
 * @category models
 */
export const Windows = Schema.Array(Window).check(Schema.isMaxLength(maxWindows))

/**
 * ISO weekdays, 1 = Monday to 7 = Sunday, each at most once.
 *
 * @since 0.1.0
 * @category models
 */
export const WorkingDays = Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 7 }))).check(
  Schema.isMinLength(1),
  Schema.makeFilter((days: ReadonlyArray<number>) => new Set(days).size === days.length || "working days must not repeat")
)
export type WorkingDays = typeof WorkingDays.Type

/**
 * @since 0.1.0
 * @category models
 */
export const allDays: ReadonlyArray<number> = [1, 2, 3, 4, 5, 6, 7]

/**
 * @since 0.1.0
 * @category models
 */
export interface Schedule {
  readonly timeZone: string
  /** None means all day. */
  readonly windows: ReadonlyArray<Window>
  /** None means every day. */
  readonly workingDays: ReadonlyArray<number>
}

interface Span {
  readonly startMinute: number
  /** Minutes after the start day's midnight; past 1440 for a window crossing midnight. */
  readonly endMinute: number
}

interface Interval {
  readonly from: number
  readonly to: number
  readonly open: boolean
}

interface Day {
  readonly from: number
  readonly to: number
  readonly date: string
}

/**
 * A validated schedule with its zone's formatter and caches.
 *
 * @since 0.1.0
 * @category models
 */
export interface Compiled {
  readonly schedule: Schedule
  readonly spans: ReadonlyArray<Span>
  /** Index 1..7. */
  readonly working: ReadonlyArray<boolean>
  readonly alwaysOpen: boolean
  readonly formatter: Intl.DateTimeFormat
  readonly intervals: Array<Interval>
  readonly days: Array<Day>
}

const formatters = new Map<string, Intl.DateTimeFormat>()

const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric"
    })
    formatters.set(timeZone, formatter)
  }
  return formatter
}

/**
 * @since 0.1.0
 * @category predicates
 */
export const isValidTimeZone = (timeZone: string): boolean => {
  if (timeZone.trim() === "") return false
  try {
    formatterFor(timeZone)
    return true
  } catch {
    return false
  }
}

const minuteOf = (time: string): number => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5))

/**
 * Checks a schedule and prepares it: an unknown zone is `invalid_timezone`;
 * a window of no length, or windows that never open on the working days,
 * are `invalid_calling_window`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (schedule: Schedule): Result.Result<Compiled, InvalidInput> => {
  if (!isValidTimeZone(schedule.timeZone)) {
    return Result.fail(
      new InvalidInput({
        code: "invalid_timezone",
        field: "timezone",
        message: `"${schedule.timeZone}" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`
      })
    )
  }
  const spans: Array<Span> = []
  for (const window of schedule.windows) {
    if (!hhmm.test(window.start) || !hhmm.test(window.end)) {
      return Result.fail(invalidWindow(`calling window ${window.start}–${window.end} must be HH:MM to HH:MM`))
    }
    const startMinute = minuteOf(window.start)
    const end = minuteOf(window.end)
    if (startMinute === end || startMinute === 1440) {
      return Result.fail(
        invalidWindow(
          `calling window ${window.start}–${window.end} has no length, so calls could never be placed; leave the window out to call all day`
        )
      )
    }
    spans.push({ startMinute, endMinute: end > startMinute ? end : end + 1440 })
  }
  const days = schedule.workingDays.length === 0 ? allDays : schedule.workingDays
  const working = Array.from({ length: 8 }, (_, day) => days.includes(day))
  const compiled: Compiled = {
    schedule,
    spans,
    working,
    alwaysOpen: spans.length === 0 && days.length === 7,
    formatter: formatterFor(schedule.timeZone),
    intervals: [],
    days: []
  }
  if (openMinutesPerWeek(compiled) === 0) {
    return Result.fail(invalidWindow("the calling window never opens on the working days"))
  }
  return Result.succeed(compiled)
}

const invalidWindow = (message: string) => new InvalidInput({ code: "invalid_calling_window", field: "callingWindow", message })

/**
 * @since 0.1.0
 * @category constructors
 */
export const compileEffect = (schedule: Schedule): Effect.Effect<Compiled, InvalidInput> =>
  Effect.fromResult(compile(schedule))

// ---------------------------------------------------------------------------
// Local wall-clock time

interface Local {
  /** The local wall-clock time read as if it were UTC, in ms, whole seconds. */
  readonly wall: number
  /** Days since the epoch of the local date. */
  readonly dayNumber: number
  /** 1 = Monday … 7 = Sunday. */
  readonly weekday: number
  /** Minutes since local midnight, with fractions. */
  readonly minute: number
}

const dayMillis = 86_400_000

const wallOf = (formatter: Intl.DateTimeFormat, instant: number): number => {
  const seconds = Math.floor(instant / 1000) * 1000
  const fields: Partial<Record<Intl.DateTimeFormatPartTypes, number>> = {}
  for (const part of formatter.formatToParts(seconds)) fields[part.type] = Number(part.value)
  const { day = 1, hour = 0, minute = 0, month = 1, second = 0, year = 1970 } = fields
  return Date.UTC(year, month - 1, day, hour, minute, second) + (instant - seconds)
}

const localOf = (formatter: Intl.DateTimeFormat, instant: number): Local => {
  const wall = wallOf(formatter, instant)
  const dayNumber = Math.floor(wall / dayMillis)
  // 1970-01-01 was a Thursday (ISO 4).
  const weekday = ((((dayNumber + 3) % 7) + 7) % 7) + 1
  return { wall, dayNumber, weekday, minute: (wall - dayNumber * dayMillis) / 60_000 }
}

const offsetAt = (formatter: Intl.DateTimeFormat, instant: number): number => wallOf(formatter, instant) - instant

/**
 * The first instant whose local wall-clock time is at or after `wall`:
 * the earlier of two in a repeated hour, the end of a skipped one.
 */
const instantOfWall = (formatter: Intl.DateTimeFormat, wall: number): number => {
  const before = offsetAt(formatter, wall - dayMillis)
  const after = offsetAt(formatter, wall + dayMillis)
  const candidates = [wall - before, wall - after].filter((x) => wallOf(formatter, x) === wall)
  if (candidates.length > 0) return Math.min(...candidates)
  // In a gap: find the transition between the two offsets.
  let low = Math.min(wall - before, wall - after)
  let high = Math.max(wall - before, wall - after)
  while (high - low > 1000) {
    const middle = Math.floor((low + high) / 2000) * 1000
    if (wallOf(formatter, middle) >= wall) high = middle
    else low = middle
  }
  return high
}

// ---------------------------------------------------------------------------
// Open or closed

const openAtLocal = (compiled: Compiled, local: Local): boolean => {
  if (compiled.spans.length === 0) return compiled.working[local.weekday]!
  const previous = local.weekday === 1 ? 7 : local.weekday - 1
  for (const span of compiled.spans) {
    if (compiled.working[local.weekday] && local.minute >= span.startMinute && local.minute < span.endMinute) return true
    if (compiled.working[previous] && local.minute + 1440 >= span.startMinute && local.minute + 1440 < span.endMinute) {
      return true
    }
  }
  return false
}

const openSlow = (compiled: Compiled, instant: number): boolean =>
  compiled.alwaysOpen || openAtLocal(compiled, localOf(compiled.formatter, instant))

/** Local wall-clock starts and ends of every window occurrence from `fromDay - 1` on, in order of start. */
const occurrences = (compiled: Compiled, fromDay: number, days: number): Array<{ start: number; end: number }> => {
  const result: Array<{ start: number; end: number }> = []
  for (let dayNumber = fromDay - 1; dayNumber <= fromDay + days; dayNumber++) {
    const weekday = ((((dayNumber + 3) % 7) + 7) % 7) + 1
    if (!compiled.working[weekday]) continue
    const midnight = dayNumber * dayMillis
    if (compiled.spans.length === 0) {
      result.push({ start: midnight, end: midnight + dayMillis })
      continue
    }
    for (const span of compiled.spans) {
      result.push({ start: midnight + span.startMinute * 60_000, end: midnight + span.endMinute * 60_000 })
    }
  }
  return result.sort((a, b) => a.start - b.start)
}

const horizonMillis = 9 * dayMillis
const sampleMillis = 6 * 3_600_000

/** Instants in `(from, to]` where the zone's offset changes, with the offset after each. */
const transitions = (formatter: Intl.DateTimeFormat, from: number, to: number) => {
  const found: Array<{ readonly at: number; readonly offset: number }> = []
  let previousAt = from
  let previousOffset = offsetAt(formatter, from)
  for (let at = from + sampleMillis; at < to + sampleMillis; at += sampleMillis) {
    const offset = offsetAt(formatter, at)
    if (offset !== previousOffset) {
      let low = previousAt
      let high = at
      while (high - low > 1000) {
        const middle = Math.floor((low + high) / 2000) * 1000
        if (offsetAt(formatter, middle) === previousOffset) low = middle
        else high = middle
      }
      found.push({ at: high, offset })
    }
    previousAt = at
    previousOffset = offset
  }
  return found
}

/**
 * The first instant after `instant` at which open-ness flips. It can only
 * flip where local time crosses a window edge (edge minus the offset then in
 * force) or where the offset itself changes, so those are the candidates.
 */
const nextChange = (compiled: Compiled, instant: number): number | undefined => {
  const formatter = compiled.formatter
  const open = openSlow(compiled, instant)
  const local = localOf(formatter, instant)
  const shifts = transitions(formatter, instant, instant + horizonMillis)
  const offsets = new Set([local.wall - instant, ...shifts.map((shift) => shift.offset)])
  const candidates = shifts.map((shift) => shift.at)
  for (const occurrence of occurrences(compiled, local.dayNumber, 9)) {
    for (const offset of offsets) candidates.push(occurrence.start - offset, occurrence.end - offset)
  }
  candidates.sort((a, b) => a - b)
  for (const candidate of candidates) {
    if (candidate > instant && openSlow(compiled, candidate) !== open) return candidate
  }
  return undefined
}

const nextOpeningSlow = (compiled: Compiled, instant: number): number => {
  if (openSlow(compiled, instant)) return instant
  const opens = nextChange(compiled, instant)
  if (opens === undefined) throw new Error("unreachable: a compiled schedule opens within a week")
  return opens
}

const closingSlow = (compiled: Compiled, instant: number): number | undefined =>
  compiled.alwaysOpen ? undefined : nextChange(compiled, instant)

const remember = <A>(cache: Array<A>, entry: A): A => {
  if (cache.length >= 8) cache.shift()
  cache.push(entry)
  return entry
}

const intervalAt = (compiled: Compiled, instant: number): Interval => {
  for (const interval of compiled.intervals) {
    if (instant >= interval.from && instant < interval.to) return interval
  }
  const open = openSlow(compiled, instant)
  const to = open ? closingSlow(compiled, instant) ?? Number.POSITIVE_INFINITY : nextOpeningSlow(compiled, instant)
  return remember(compiled.intervals, { from: instant, to, open })
}

/**
 * @since 0.1.0
 * @category queries
 */
export const isOpen = (compiled: Compiled, instant: number): boolean =>
  compiled.alwaysOpen || intervalAt(compiled, instant).open

/**
 * The earliest instant at or after `instant` at which the window is open.
 *
 * @since 0.1.0
 * @category queries
 */
export const nextOpening = (compiled: Compiled, instant: number): number => {
  if (compiled.alwaysOpen) return instant
  const interval = intervalAt(compiled, instant)
  return interval.open ? instant : interval.to
}

/**
 * When the window open at `instant` closes; `undefined` when it never does
 * or it is closed.
 *
 * @since 0.1.0
 * @category queries
 */
export const currentClosing = (compiled: Compiled, instant: number): number | undefined => {
  if (compiled.alwaysOpen) return undefined
  const interval = intervalAt(compiled, instant)
  return interval.open && Number.isFinite(interval.to) ? interval.to : undefined
}

const dayAt = (compiled: Compiled, instant: number): Day => {
  for (const day of compiled.days) {
    if (instant >= day.from && instant < day.to) return day
  }
  const local = localOf(compiled.formatter, instant)
  const midnight = local.dayNumber * dayMillis
  const from = instantOfWall(compiled.formatter, midnight)
  const to = instantOfWall(compiled.formatter, midnight + dayMillis)
  const date = new Date(midnight).toISOString().slice(0, 10)
  return remember(compiled.days, { from: Math.min(from, instant), to, date })
}

/**
 * The local calendar date, `YYYY-MM-DD`: the day the daily cap counts in.
 *
 * @since 0.1.0
 * @category queries
 */
export const localDate = (compiled: Compiled, instant: number): string => dayAt(compiled, instant).date

/**
 * The first instant of the next local day.
 *
 * @since 0.1.0
 * @category queries
 */
export const nextLocalMidnight = (compiled: Compiled, instant: number): number => dayAt(compiled, instant).to

/**
 * Minutes a nominal week (no DST change) the window is open, for estimates.
 *
 * @since 0.1.0
 * @category queries
 */
export const openMinutesPerWeek = (compiled: Compiled): number => {
  // A running batch's estimate asks every minute; the answer never changes for a schedule.
  let minutes = openMinutesOf.get(compiled)
  if (minutes === undefined) {
    minutes = countOpenMinutes(compiled)
    openMinutesOf.set(compiled, minutes)
  }
  return minutes
}
const openMinutesOf = new WeakMap<Compiled, number>()

const countOpenMinutes = (compiled: Compiled): number => {
  if (compiled.spans.length === 0) return compiled.working.filter(Boolean).length * 1440
  const week = new Uint8Array(7 * 1440)
  for (let weekday = 1; weekday <= 7; weekday++) {
    if (!compiled.working[weekday]) continue
    for (const span of compiled.spans) {
      for (let minute = span.startMinute; minute < span.endMinute; minute++) {
        week[((weekday - 1) * 1440 + minute) % week.length] = 1
      }
    }
  }
  return week.reduce((sum, bit) => sum + bit, 0)
}
