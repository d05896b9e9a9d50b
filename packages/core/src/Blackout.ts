/**
 * Days nobody is called: explicit blackout dates (a batch's, an
 * organization's) and public holidays by country and region from
 * `date-holidays`. A date is a local calendar day, `YYYY-MM-DD`, in the
 * batch's zone, or for holidays judged in the recipient's zone, in every
 * zone the number may ring in. A contact on a blacked-out day waits for the
 * first instant of the next day that is not, then the other links (the
 * calling window, the recipient's hours) take it from there.
 *
 * @since 0.1.0
 */
import type HolidaysClass from "date-holidays"
import { parsePhoneNumberFromString } from "libphonenumber-js/core"
import { createRequire } from "node:module"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as CallingWindow from "./CallingWindow.ts"
import { fullMetadata } from "./internal/fullMetadata.ts"
import { InvalidInput } from "./OutdialError.ts"

// The calendars of every country are ~22 MB once loaded: loaded on first use, so a
// host (or an import of a million contacts) that never asks for holidays never pays it.
let holidaysClass: typeof HolidaysClass | undefined
const Holidays = function(...args: ConstructorParameters<typeof HolidaysClass>) {
  holidaysClass ??= createRequire(import.meta.url)("date-holidays") as typeof HolidaysClass
  return new holidaysClass(...args)
} as unknown as typeof HolidaysClass

const isoDate = /^\d{4}-\d{2}-\d{2}$/

const isCalendarDate = (value: string): boolean => {
  const millis = Date.parse(`${value}T00:00:00Z`)
  return Number.isFinite(millis) && new Date(millis).toISOString().slice(0, 10) === value
}

/**
 * A calendar date, `YYYY-MM-DD`, that exists (no 2026-02-30).
 *
 * @since 0.1.0
 * @category models
 */
export const DateString = Schema.String.check(
  Schema.isPattern(isoDate),
  // Checks run together: a value the pattern refused must not reach the date parser.
  Schema.makeFilter((value: string) => !isoDate.test(value) || isCalendarDate(value) || `${value} is not a calendar date`)
)

/**
 * At most a year of explicit dates a batch.
 *
 * @since 0.1.0
 * @category models
 */
export const BlackoutDates = Schema.Array(DateString).check(Schema.isMaxLength(366))

/**
 * Public holidays of `country` (ISO 3166-1 alpha-2) and optionally `region`
 * (e.g. `US`/`CA`), judged on the batch's local date (`zone: "batch"`) or on
 * the recipient's (`"recipient"`). Without `country`, each recipient's own
 * country's holidays apply, on the recipient's local date.
 *
 * @since 0.1.0
 * @category models
 */
export const HolidayCalendar = Schema.Struct({
  country: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z]{2}$/))),
  region: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9]{1,3}$/))),
  zone: Schema.Literals(["batch", "recipient"])
})
export type HolidayCalendar = typeof HolidayCalendar.Type

const invalidHolidays = (message: string) => new InvalidInput({ code: "invalid_holidays", field: "holidays", message })

let countries: Readonly<Record<string, string>> | undefined

/**
 * Checks the calendar against `date-holidays`' countries and regions, and
 * spells both upper case.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkCalendar = (calendar: HolidayCalendar): Result.Result<HolidayCalendar, InvalidInput> => {
  if (calendar.country === undefined) {
    return calendar.region !== undefined
      ? Result.fail(invalidHolidays("holidays.region needs holidays.country"))
      : calendar.zone === "batch"
      ? Result.fail(invalidHolidays("holidays.country is required when holidays are judged in the batch zone"))
      : Result.succeed(calendar)
  }
  const country = calendar.country.toUpperCase()
  countries ??= new Holidays().getCountries("en")
  if (countries[country] === undefined) return Result.fail(invalidHolidays(`no public holiday calendar is known for country "${calendar.country}"`))
  if (calendar.region === undefined) return Result.succeed({ ...calendar, country })
  const region = calendar.region.toUpperCase()
  const regions = new Holidays().getStates(country, "en") ?? {}
  if (regions[region] === undefined) {
    return Result.fail(invalidHolidays(`no region "${calendar.region}" of ${country} has a holiday calendar`))
  }
  return Result.succeed({ ...calendar, country, region })
}

const holidaySets = new Map<string, ReadonlySet<string>>()

/** The public holidays of a country (and region) in a year, as dates; computed once each. */
const holidaysOf = (country: string, region: string | undefined, year: number): ReadonlySet<string> => {
  const key = `${country}|${region ?? ""}|${year}`
  let dates = holidaySets.get(key)
  if (dates === undefined) {
    const calendar = region === undefined ? new Holidays(country) : new Holidays(country, region)
    // Only days off by law: observances and school holidays do not stop calls.
    dates = new Set(
      (calendar.getHolidays(year) || []).filter((holiday) => holiday.type === "public").map((holiday) => holiday.date.slice(0, 10))
    )
    holidaySets.set(key, dates)
  }
  return dates
}

const calendars = new Map<string, CallingWindow.Compiled>()

/** A schedule used only for its local dates in `zone`. */
const calendarIn = (zone: string): CallingWindow.Compiled => {
  let calendar = calendars.get(zone)
  if (calendar === undefined) {
    calendar = Result.getOrThrow(CallingWindow.compile({ timeZone: zone, windows: [], workingDays: [] }))
    calendars.set(zone, calendar)
  }
  return calendar
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Rules {
  /** Dates off in the batch zone: the batch's and the organization's. */
  readonly dates: ReadonlySet<string>
  readonly calendar: HolidayCalendar | null
}

/** Why `date` is off, or `undefined` when it is not. */
const offReason = (dates: ReadonlySet<string>, country: string | undefined, region: string | undefined, date: string) => {
  if (dates.has(date)) return `blackout date ${date}`
  if (country !== undefined && holidaysOf(country, region, Number(date.slice(0, 4))).has(date)) {
    return `public holiday in ${country}${region === undefined ? "" : `-${region}`} on ${date}`
  }
  return undefined
}

/** Days looked through for one that is not off: more than any calendar blacks out in a row. */
const maxDays = 400

/**
 * The first instant at or after `at` at which no zone's local date is off,
 * with why `at` itself is; `undefined` when `at` is not off at all.
 */
const clearFrom = (
  zones: ReadonlyArray<string>,
  dates: ReadonlySet<string>,
  country: string | undefined,
  region: string | undefined,
  at: number
): { readonly until: number; readonly reason: string } | undefined => {
  let instant = at
  let reason: string | undefined
  for (let step = 0; step < maxDays * zones.length; step++) {
    let moved = false
    for (const zone of zones) {
      const calendar = calendarIn(zone)
      const why = offReason(dates, country, region, CallingWindow.localDate(calendar, instant))
      if (why !== undefined) {
        reason ??= why
        instant = CallingWindow.nextLocalMidnight(calendar, instant)
        moved = true
      }
    }
    if (!moved) break
  }
  return reason === undefined ? undefined : { until: instant, reason }
}

/**
 * A batch-wide hold: explicit dates and, when judged in the batch zone,
 * holidays, on the batch's local date.
 *
 * @since 0.1.0
 * @category queries
 */
export const batchHold = (rules: Rules, batchZone: string, at: number) => {
  const calendar = rules.calendar?.zone === "batch" ? rules.calendar : undefined
  if (rules.dates.size === 0 && calendar === undefined) return undefined
  return clearFrom([batchZone], rules.dates, calendar?.country, calendar?.region, at)
}

/**
 * A contact's hold: holidays judged on the recipient's local date in every
 * zone of the number, in the calendar's country or the number's own.
 *
 * @since 0.1.0
 * @category queries
 */
export const recipientHold = (
  calendar: HolidayCalendar | null,
  phone: string,
  zones: ReadonlyArray<string>,
  at: number
) => {
  if (calendar === null || calendar.zone !== "recipient") return undefined
  const country = calendar.country ?? countryOf(phone)
  if (country === undefined) return undefined
  return clearFrom(zones, emptyDates, country, calendar.country === undefined ? undefined : calendar.region, at)
}

const emptyDates: ReadonlySet<string> = new Set()

const countryOf = (phone: string): string | undefined => {
  const country = parsePhoneNumberFromString(phone, fullMetadata())?.country
  if (country === undefined) return undefined
  countries ??= new Holidays().getCountries("en")
  return countries[country] === undefined ? undefined : country
}

const dateSets = new WeakMap<ReadonlyArray<string>, ReadonlySet<string>>()

/**
 * A list of dates as a set, built once per list: the dispatcher asks on
 * every pass with the same stored list.
 *
 * @since 0.1.0
 * @category queries
 */
export const dateSet = (dates: ReadonlyArray<string>): ReadonlySet<string> => {
  let set = dateSets.get(dates)
  if (set === undefined) {
    set = new Set(dates)
    dateSets.set(dates, set)
  }
  return set
}
