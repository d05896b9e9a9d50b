import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as fc from "fast-check"
import * as CallingWindow from "../src/CallingWindow.ts"

// A brute-force reference: local time read straight from Intl for each
// instant, open-ness from the definition, and the next change found by
// walking minute by minute (window edges and every zone's offsets are whole
// minutes, so minute steps see every change).
const referenceFormatters = new Map<string, Intl.DateTimeFormat>()
const referenceLocal = (timeZone: string, instant: number) => {
  let formatter = referenceFormatters.get(timeZone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      weekday: "short",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit"
    })
    referenceFormatters.set(timeZone, formatter)
  }
  const parts = Object.fromEntries(formatter.formatToParts(instant).map((part) => [part.type, part.value]))
  const weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday!) + 1
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday,
    minute: Number(parts.hour) * 60 + Number(parts.minute)
  }
}

const toMinute = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5))

const referenceOpen = (schedule: CallingWindow.Schedule, instant: number): boolean => {
  const { minute, weekday } = referenceLocal(schedule.timeZone, instant)
  const days = schedule.workingDays.length === 0 ? CallingWindow.allDays : schedule.workingDays
  const previous = weekday === 1 ? 7 : weekday - 1
  if (schedule.windows.length === 0) return days.includes(weekday)
  return schedule.windows.some((window) => {
    const start = toMinute(window.start)
    const end = toMinute(window.end)
    if (start < end) return days.includes(weekday) && minute >= start && minute < end
    return (days.includes(weekday) && minute >= start) || (days.includes(previous) && minute < end)
  })
}

const minute = 60_000
const referenceNextChange = (schedule: CallingWindow.Schedule, instant: number, limitMinutes: number) => {
  const open = referenceOpen(schedule, instant)
  let at = Math.floor(instant / minute) * minute + minute
  for (let i = 0; i < limitMinutes; i++, at += minute) {
    if (referenceOpen(schedule, at) !== open) return at
  }
  return undefined
}

const zones = [
  "Europe/Berlin",
  "America/New_York",
  "Australia/Lord_Howe",
  "America/Santiago",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Pacific/Chatham",
  "UTC",
  "Pacific/Apia",
  "America/Sao_Paulo"
]

// Weeks with a DST change somewhere, and uniform instants around them.
const transitionWeeks = [
  Date.UTC(2026, 2, 27),
  Date.UTC(2026, 9, 23),
  Date.UTC(2026, 2, 6),
  Date.UTC(2026, 10, 1),
  Date.UTC(2026, 3, 3),
  Date.UTC(2026, 8, 4),
  Date.UTC(2025, 3, 4),
  Date.UTC(2027, 2, 26)
]

const time = fc.integer({ min: 0, max: 24 * 4 - 1 }).map((quarter) =>
  `${String(Math.floor(quarter / 4)).padStart(2, "0")}:${String((quarter % 4) * 15).padStart(2, "0")}`
)
const window = fc.tuple(time, time).filter(([start, end]) => start !== end).map(([start, end]) => ({ start, end }))
const schedule: fc.Arbitrary<CallingWindow.Schedule> = fc.record({
  timeZone: fc.constantFrom(...zones),
  windows: fc.array(window, { minLength: 0, maxLength: 3 }),
  workingDays: fc.subarray([1, 2, 3, 4, 5, 6, 7], { minLength: 1 })
})
const instant = fc.oneof(
  fc.tuple(fc.constantFrom(...transitionWeeks), fc.integer({ min: 0, max: 5 * 86_400 })).map(([week, s]) => week + s * 1000),
  fc.integer({ min: Date.UTC(2024, 0, 1) / 1000, max: Date.UTC(2028, 0, 1) / 1000 }).map((s) => s * 1000)
)

const compiled = (s: CallingWindow.Schedule) => Result.getOrThrow(CallingWindow.compile(s))

describe("CallingWindow", () => {
  it("isOpen and localDate agree with Intl read directly", () => {
    fc.assert(
      fc.property(schedule, fc.array(instant, { minLength: 1, maxLength: 20 }), (s, instants) => {
        const c = compiled(s)
        for (const t of instants) {
          assert.strictEqual(CallingWindow.isOpen(c, t), referenceOpen(s, t), `${s.timeZone} ${new Date(t).toISOString()}`)
          assert.strictEqual(CallingWindow.localDate(c, t), referenceLocal(s.timeZone, t).date)
        }
      }),
      { numRuns: 500 }
    )
  })

  it("nextOpening and currentClosing agree with a minute-by-minute walk", () => {
    fc.assert(
      fc.property(schedule, instant, (s, t) => {
        const c = compiled(s)
        const change = referenceNextChange(s, t, 8 * 1440)
        if (referenceOpen(s, t)) {
          assert.strictEqual(CallingWindow.nextOpening(c, t), t)
          assert.strictEqual(CallingWindow.currentClosing(c, t), change, `${s.timeZone} ${new Date(t).toISOString()}`)
        } else {
          assert.strictEqual(CallingWindow.nextOpening(c, t), change, `${s.timeZone} ${new Date(t).toISOString()}`)
          assert.strictEqual(CallingWindow.currentClosing(c, t), undefined)
        }
      }),
      { numRuns: 400 }
    )
  })

  const berlinOffice = compiled({
    timeZone: "Europe/Berlin",
    windows: [{ start: "09:00", end: "17:00" }],
    workingDays: [1, 2, 3, 4, 5]
  })

  it("skips the weekend and follows the spring DST change in Berlin", () => {
    // Friday 27 March 2026 17:00 CET → Monday 30 March 09:00 CEST (07:00 UTC).
    assert.strictEqual(CallingWindow.nextOpening(berlinOffice, Date.UTC(2026, 2, 27, 16, 0)), Date.UTC(2026, 2, 30, 7, 0))
    assert.isTrue(CallingWindow.isOpen(berlinOffice, Date.UTC(2026, 2, 27, 8, 0)))
    assert.isFalse(CallingWindow.isOpen(berlinOffice, Date.UTC(2026, 2, 27, 7, 59)))
    assert.strictEqual(CallingWindow.currentClosing(berlinOffice, Date.UTC(2026, 2, 30, 7, 0)), Date.UTC(2026, 2, 30, 15, 0))
  })

  it("keeps a window past midnight with the day it starts on", () => {
    const nights = compiled({ timeZone: "UTC", windows: [{ start: "22:00", end: "02:00" }], workingDays: [5] })
    // Friday 2026-11-27 22:00 to Saturday 02:00 is open; Saturday 22:00 is not.
    assert.isTrue(CallingWindow.isOpen(nights, Date.UTC(2026, 10, 28, 1, 30)))
    assert.isFalse(CallingWindow.isOpen(nights, Date.UTC(2026, 10, 28, 22, 30)))
    assert.strictEqual(CallingWindow.currentClosing(nights, Date.UTC(2026, 10, 27, 23, 0)), Date.UTC(2026, 10, 28, 2, 0))
    assert.isFalse(CallingWindow.isOpen(nights, Date.UTC(2026, 10, 27, 1, 0)))
  })

  it("opens a window that starts inside the spring-forward gap at the gap's end", () => {
    const early = compiled({ timeZone: "Europe/Berlin", windows: [{ start: "02:30", end: "04:00" }], workingDays: [] })
    // 29 March 2026: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
    assert.strictEqual(CallingWindow.nextOpening(early, Date.UTC(2026, 2, 28, 23, 0)), Date.UTC(2026, 2, 29, 1, 0))
  })

  it("follows Lord Howe's 30-minute shift", () => {
    const c = compiled({ timeZone: "Australia/Lord_Howe", windows: [{ start: "09:00", end: "17:00" }], workingDays: [] })
    // +11:00 in summer, +10:30 after 5 April 2026 02:00.
    assert.strictEqual(CallingWindow.nextOpening(c, Date.UTC(2026, 3, 3, 8, 0)), Date.UTC(2026, 3, 3, 22, 0))
    assert.strictEqual(CallingWindow.nextOpening(c, Date.UTC(2026, 3, 5, 8, 0)), Date.UTC(2026, 3, 5, 22, 30))
  })

  it("refuses unknown zones and windows that never open", () => {
    const zone = CallingWindow.compile({ timeZone: "Mars/Olympus", windows: [], workingDays: [] })
    assert.isTrue(Result.isFailure(zone) && zone.failure.code === "invalid_timezone")
    const empty = CallingWindow.compile({ timeZone: "UTC", windows: [{ start: "09:00", end: "09:00" }], workingDays: [] })
    assert.isTrue(Result.isFailure(empty) && empty.failure.code === "invalid_calling_window")
    assert.isTrue(CallingWindow.isValidTimeZone("America/New_York"))
    assert.isFalse(CallingWindow.isValidTimeZone(""))
  })

  it("counts open minutes a week for estimates", () => {
    assert.strictEqual(CallingWindow.openMinutesPerWeek(berlinOffice), 5 * 8 * 60)
    const always = compiled({ timeZone: "UTC", windows: [], workingDays: [] })
    assert.strictEqual(CallingWindow.openMinutesPerWeek(always), 7 * 1440)
    const overlapping = compiled({
      timeZone: "UTC",
      windows: [{ start: "09:00", end: "12:00" }, { start: "11:00", end: "13:00" }],
      workingDays: [1]
    })
    assert.strictEqual(CallingWindow.openMinutesPerWeek(overlapping), 4 * 60)
  })
})
