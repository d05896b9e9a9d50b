import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Result from "effect/Result"
import * as RecipientHours from "../src/RecipientHours.ts"
import * as RecipientZones from "../src/RecipientZones.ts"

const formatters = new Map<string, Intl.DateTimeFormat>()

/** Local weekday (1–7) and minute of the day in `zone`, straight from Intl. */
const localOf = (zone: string, millis: number) => {
  let formatter = formatters.get(zone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-GB", { timeZone: zone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    formatters.set(zone, formatter)
  }
  const parts = Object.fromEntries(formatter.formatToParts(millis).map((part) => [part.type, part.value]))
  const weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday!) + 1
  return { weekday, minute: Number(parts.hour) * 60 + Number(parts.minute) }
}

const minuteOf = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5))

/** Inside the hours in every zone, read minute by minute from Intl alone. */
const insideAll = (hours: RecipientHours.Hours, zones: ReadonlyArray<string>, millis: number) =>
  zones.every((zone) => {
    const local = localOf(zone, millis)
    const days = hours.workingDays ?? [1, 2, 3, 4, 5, 6, 7]
    return days.includes(local.weekday) && local.minute >= minuteOf(hours.start) && local.minute < minuteOf(hours.end)
  })

/** The brute-force reference: the first whole minute from `at` inside the hours everywhere. */
const bruteForce = (hours: RecipientHours.Hours, zones: ReadonlyArray<string>, at: number): number | undefined => {
  for (let minute = at; minute <= at + 15 * 86_400_000; minute += 60_000) {
    if (insideAll(hours, zones, minute)) return minute
  }
  return undefined
}

const zonePool = [
  "America/New_York",
  "Pacific/Honolulu",
  "America/Anchorage",
  "America/Adak",
  "America/St_Johns",
  "Europe/Berlin",
  "Australia/Lord_Howe",
  "Asia/Kolkata",
  "America/Santiago",
  "Pacific/Chatham",
  "UTC"
]
const time = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45)).map(([h, m]) =>
  `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`
)
const hoursArb = fc.tuple(time, time, fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }), { nil: undefined }))
  .filter(([start, end]) => start < end)
  .map(([start, end, workingDays]): RecipientHours.Hours => workingDays === undefined ? { start, end } : { start, end, workingDays })
// Whole minutes across 2026, DST changes of both hemispheres included.
const instantArb = fc.integer({ min: Date.UTC(2026, 0, 1) / 60_000, max: Date.UTC(2026, 11, 31) / 60_000 }).map((m) => m * 60_000)

describe("RecipientHours", () => {
  it("maps numbers to the zones they ring in, several where the number spans them", () => {
    assert.deepStrictEqual(RecipientZones.zonesOf("+18089560123"), ["Pacific/Honolulu"])
    assert.deepStrictEqual(RecipientZones.zonesOf("+12129560123"), ["America/New_York"])
    assert.deepStrictEqual(RecipientZones.zonesOf("+19075550123"), ["America/Adak", "America/Anchorage"])
    assert.isAbove(RecipientZones.zonesOf("+15551234567").length, 20)
    assert.deepStrictEqual(RecipientZones.zonesOf("+999"), [])
    assert.deepStrictEqual(RecipientHours.zonesFor("+999", "Europe/Berlin"), ["Europe/Berlin"])
  })

  it("every zone the mapping names is one the runtime knows", () => {
    for (const phone of ["+1", "+7", "+52", "+61", "+62", "+55", "+44", "+351", "+299"]) {
      for (const zone of RecipientZones.zonesOf(`${phone}0000000000`)) {
        assert.doesNotThrow(() => new Intl.DateTimeFormat("en", { timeZone: zone }), zone)
      }
    }
  })

  it("refuses hours that end at or before they start", () => {
    assert.isTrue(Result.isFailure(RecipientHours.check({ start: "21:00", end: "08:00" })))
    assert.isTrue(Result.isFailure(RecipientHours.check({ start: "08:00", end: "08:00" })))
    assert.isTrue(Result.isSuccess(RecipientHours.check({ start: "08:00", end: "24:00" })))
  })

  it("a Hawaii number opens at 08:00 Honolulu, a New York one at 08:00 New York", () => {
    const hours = { start: "08:00", end: "21:00" }
    const at = Date.UTC(2026, 5, 1, 6, 0) // 02:00 in New York, 20:00 the day before in Honolulu
    assert.strictEqual(RecipientHours.nextOpening(hours, ["America/New_York"], at), Date.UTC(2026, 5, 1, 12, 0))
    assert.strictEqual(RecipientHours.nextOpening(hours, ["Pacific/Honolulu"], at), at)
    // Both at once: only while New York is still before 21:00 and Honolulu already past 08:00.
    assert.strictEqual(RecipientHours.nextOpening(hours, ["America/New_York", "Pacific/Honolulu"], at), Date.UTC(2026, 5, 1, 18, 0))
  })

  it("over the US spring-forward weekend, 08:00 New York is 13:00 UTC on Saturday and 12:00 UTC on Sunday", () => {
    const hours = { start: "08:00", end: "21:00" }
    const saturdayNight = Date.UTC(2026, 2, 8, 2, 0) // Saturday 7 March, 21:00 EST
    assert.strictEqual(RecipientHours.nextOpening(hours, ["America/New_York"], saturdayNight), Date.UTC(2026, 2, 8, 12, 0))
    const fridayNight = Date.UTC(2026, 2, 7, 2, 30)
    assert.strictEqual(RecipientHours.nextOpening(hours, ["America/New_York"], fridayNight), Date.UTC(2026, 2, 7, 13, 0))
  })

  it("hours that never overlap in all zones have no opening", () => {
    const hours = { start: "08:00", end: "09:00" }
    assert.isUndefined(RecipientHours.nextOpening(hours, ["Asia/Tokyo", "America/New_York"], Date.UTC(2026, 5, 1)))
  })

  it("nextOpening agrees with a minute-by-minute reference for random hours, zones and instants", () => {
    fc.assert(
      fc.property(hoursArb, fc.uniqueArray(fc.constantFrom(...zonePool), { minLength: 1, maxLength: 3 }), instantArb, (hours, zones, at) => {
        const expected = bruteForce(hours, zones, at)
        const actual = RecipientHours.nextOpening(hours, zones, at)
        if (expected === undefined) return actual === undefined
        // Past the reference's horizon the two may disagree only about never.
        return actual === expected && insideAll(hours, zones, actual) && RecipientHours.isOpen(hours, zones, actual)
      }),
      { numRuns: 60, seed: 17 }
    )
  })
})
