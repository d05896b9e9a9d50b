/**
 * Recipient-local calling hours (TCPA-style 08:00–21:00 in the *recipient's*
 * time): a batch option evaluated in every time zone the recipient's number
 * may ring in (`RecipientZones`). A contact may be dialed only while every
 * candidate zone is inside the hours on one of its working days; otherwise
 * it waits, never skipped, until the earliest instant at which all of them
 * are. Each zone's hours are a `CallingWindow` schedule, so daylight-saving
 * changes are handled exactly as for the batch's own window.
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as CallingWindow from "./CallingWindow.ts"
import { InvalidInput } from "./OutdialError.ts"
import * as RecipientZones from "./RecipientZones.ts"

/**
 * `start` to `end` local time (`end` may be `24:00`), on `workingDays`
 * (ISO weekdays, every day when absent).
 *
 * @since 0.1.0
 * @category models
 */
export const Hours = Schema.Struct({
  start: CallingWindow.Window.fields.start,
  end: CallingWindow.Window.fields.end,
  workingDays: Schema.optionalKey(CallingWindow.WorkingDays)
})
export type Hours = typeof Hours.Type

const invalidHours = (message: string) => new InvalidInput({ code: "invalid_recipient_hours", field: "recipientLocalHours", message })

/**
 * Refuses hours that end at or before they start: recipient hours are one
 * daytime span, never one running past midnight.
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (hours: Hours): Result.Result<Hours, InvalidInput> =>
  hours.start >= hours.end
    ? Result.fail(invalidHours(`recipientLocalHours must start before they end (got ${hours.start}–${hours.end})`))
    : Result.succeed(hours)

/**
 * How many compiled zone schedules are kept: a batch's contacts span a few
 * dozen zones at most, and each keeps its own interval cache.
 */
const maxCompiled = 2_000
const compiled = new Map<string, CallingWindow.Compiled>()

/**
 * The hours as a compiled schedule in `zone`.
 *
 * @since 0.1.0
 * @category queries
 */
export const scheduleIn = (hours: Hours, zone: string): CallingWindow.Compiled => {
  const days = hours.workingDays ?? CallingWindow.allDays
  const key = `${zone}|${hours.start}|${hours.end}|${days.join("")}`
  let schedule = compiled.get(key)
  if (schedule === undefined) {
    // Checked at create; a zone from the mapping is one the runtime knows (tested).
    schedule = Result.getOrThrow(CallingWindow.compile({ timeZone: zone, windows: [{ start: hours.start, end: hours.end }], workingDays: days }))
    if (compiled.size >= maxCompiled) compiled.clear()
    compiled.set(key, schedule)
  }
  return schedule
}

/**
 * The zones a number is judged in: those of its number, or `fallbackZone`
 * (the batch's) when the mapping knows none of it.
 *
 * @since 0.1.0
 * @category queries
 */
export const zonesFor = (phone: string, fallbackZone: string): ReadonlyArray<string> => {
  const zones = RecipientZones.zonesOf(phone)
  return zones.length === 0 ? [fallbackZone] : zones
}

/**
 * How far ahead a common opening is looked for: a week holds every working
 * day, and a few days more cover a daylight-saving change inside it.
 */
const horizonMillis = 15 * 86_400_000

/**
 * The earliest instant at or after `at` at which every zone is inside the
 * hours; `undefined` when no such instant comes within two weeks (the
 * zones' hours never overlap, e.g. 08:00–09:00 in Tokyo and New York).
 *
 * Each zone that is closed moves the instant to its own next opening, and
 * the zones are asked again from there: the instant only moves forward and
 * never past a common opening, so the first instant all accept is the
 * earliest.
 *
 * @since 0.1.0
 * @category queries
 */
export const nextOpening = (hours: Hours, zones: ReadonlyArray<string>, at: number): number | undefined => {
  const schedules = zones.map((zone) => scheduleIn(hours, zone))
  let instant = at
  while (instant <= at + horizonMillis) {
    let moved = false
    for (const schedule of schedules) {
      const opens = CallingWindow.nextOpening(schedule, instant)
      if (opens > instant) {
        instant = opens
        moved = true
      }
    }
    if (!moved) return instant
  }
  return undefined
}

/**
 * @since 0.1.0
 * @category queries
 */
export const isOpen = (hours: Hours, zones: ReadonlyArray<string>, at: number): boolean =>
  zones.every((zone) => CallingWindow.isOpen(scheduleIn(hours, zone), at))
