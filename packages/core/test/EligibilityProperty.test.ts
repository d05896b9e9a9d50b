/**
 * A property of the whole chain: for random batch policies (calling window,
 * working days, recipient-local hours, blackout dates, holidays, a host's
 * link that skips or defers) and random clocks, no dial ever happens while
 * a policy says defer or skip. Each dial the engine publishes is checked
 * against references computed from Intl alone.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import * as Dispatcher from "../src/Dispatcher.ts"
import * as Eligibility from "../src/Eligibility.ts"
import * as Engine from "../src/Engine.ts"
import type * as EngineEvents from "../src/EngineEvents.ts"
import * as RecipientZones from "../src/RecipientZones.ts"
import { layer as engine, organizationId } from "@outdial/testing/TestEngine"

const formatters = new Map<string, Intl.DateTimeFormat>()
const localOf = (zone: string, millis: number) => {
  let formatter = formatters.get(zone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23"
    })
    formatters.set(zone, formatter)
  }
  const parts = Object.fromEntries(formatter.formatToParts(millis).map((part) => [part.type, part.value]))
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday!) + 1,
    minute: Number(parts.hour) * 60 + Number(parts.minute)
  }
}
const minuteOf = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5))

const phones = ["+18089560123", "+12129560123", "+19075550123", "+14155550123", "+4915120000001", "+61412345678"]
const zones = ["America/New_York", "Europe/Berlin", "Pacific/Honolulu", "Australia/Sydney", "UTC"]
const time = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 30)).map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`)
const span = fc.tuple(time, time).filter(([start, end]) => start < end).map(([start, end]) => ({ start, end }))
const days = fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 3, maxLength: 7 })
// Starts around the March and November DST changes and Christmas.
const start = fc.constantFrom(Date.UTC(2026, 2, 6), Date.UTC(2026, 9, 30), Date.UTC(2026, 11, 23)).chain((base) =>
  fc.integer({ min: 0, max: 3 * 24 * 60 }).map((minutes) => base + minutes * 60_000)
)

const config = fc.record({
  timezone: fc.constantFrom(...zones),
  window: fc.option(span, { nil: undefined }),
  workingDays: days,
  hours: fc.option(fc.record({ ...{ start: fc.constant("08:00"), end: fc.constant("21:00") } }).chain((tcpa) =>
    fc.oneof(fc.constant(tcpa), span)
  ), { nil: undefined }),
  blackoutOffsets: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }),
  holidays: fc.boolean(),
  start,
  contacts: fc.array(fc.constantFrom(...phones), { minLength: 3, maxLength: 8 })
})

const samples = fc.sample(config, { numRuns: 8, seed: 1717 })

describe("no dial while any policy says defer or skip", () => {
  for (const [index, sample] of samples.entries()) {
    it.effect(`random policies and clock #${index + 1}`, () => {
      const blackoutDates = sample.blackoutOffsets.map((offset) => new Date(sample.start + offset * 86_400_000).toISOString().slice(0, 10))
      const violations: Array<string> = []
      let dials = 0
      // A host's link: the second row is skipped for good, the third deferred a day.
      const deferredUntil = sample.start + 86_400_000
      const crm = Eligibility.preDialCheck("crm", (contact, _batch, now) =>
        Effect.succeed(
          contact.row === 2 ? Eligibility.skip("converted") : contact.row === 3 && now < deferredUntil ? Eligibility.defer(deferredUntil, "after lunch") : Eligibility.dial
        ))
      const onEvent = (event: EngineEvents.EngineEvent) => {
        if (event._tag !== "ContactChanged" || event.attempt?.state !== "dialing") return
        dials++
        const at = DateTime.toEpochMillis(event.at)
        const phone = event.contact.phone
        const batchLocal = localOf(sample.timezone, at)
        const say = (why: string) => violations.push(`${phone} row ${event.contact.row} at ${event.at}: ${why}`)
        if (!sample.workingDays.includes(batchLocal.weekday)) say("not a working day")
        if (sample.window !== undefined && (batchLocal.minute < minuteOf(sample.window.start) || batchLocal.minute >= minuteOf(sample.window.end))) {
          say("outside the calling window")
        }
        if (blackoutDates.includes(batchLocal.date)) say("on a blackout date")
        if (sample.holidays && ["12-25", "11-26", "01-01"].includes(batchLocal.date.slice(5))) say("on a US public holiday")
        if (sample.hours !== undefined) {
          for (const zone of RecipientZones.zonesOf(phone)) {
            const local = localOf(zone, at)
            if (local.minute < minuteOf(sample.hours.start) || local.minute >= minuteOf(sample.hours.end)) say(`outside recipient hours in ${zone}`)
          }
        }
        if (event.contact.row === 2) say("dialed after the host skipped it")
        if (event.contact.row === 3 && at < deferredUntil) say("dialed before the host's deferral ended")
      }
      return Effect.andThen(
        TestClock.setTime(sample.start),
        Effect.gen(function*() {
          const created = yield* (yield* Engine.Engine).createBatch(organizationId, {
            name: "Property",
            agentId: "agent_sales",
            timezone: sample.timezone,
            workingDays: sample.workingDays,
            maxAttempts: 3,
            retryDelay: "PT3H",
            ...(sample.window === undefined ? {} : { callingWindow: sample.window }),
            ...(sample.hours === undefined ? {} : { recipientLocalHours: sample.hours }),
            ...(blackoutDates.length === 0 ? {} : { blackoutDates }),
            ...(sample.holidays ? { holidays: { country: "US", zone: "batch" } } : {}),
            contacts: sample.contacts.map((phone) => ({ phone }))
          })
          yield* (yield* Dispatcher.Dispatcher).settled
          yield* TestClock.adjust("6 days")
          assert.deepStrictEqual(violations, [])
          // Something was dialed, unless every contact's zones never overlap the hours.
          const batch = yield* (yield* Engine.Engine).getBatch(organizationId, created.batchJobId)
          assert.isAbove(dials + batch.progress.statusBreakdown.skipped, 0)
        }).pipe(Effect.provide(engine({
          telephony: { seed: index, outcomes: { completed: 0.5, no_answer: 0.5 }, ringSeconds: { min: 5, max: 20 }, talkSeconds: { min: 30, max: 90 } },
          onEvent,
          config: { policies: [crm] }
        })))
      )
    }, 60_000)
  }
})
