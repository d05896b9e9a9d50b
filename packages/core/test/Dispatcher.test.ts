import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import * as BatchStore from "../src/BatchStore.ts"
import * as Contact from "../src/Contact.ts"
import * as Credits from "../src/Credits.ts"
import * as Eligibility from "../src/Eligibility.ts"
import * as Engine from "../src/Engine.ts"
import type * as EngineEvents from "../src/EngineEvents.ts"
import * as SimulatedTelephony from "../src/SimulatedTelephony.ts"
import { allContacts, engine, engineOver, organizationId, ports, rows } from "./harness.ts"

const berlin = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/Berlin",
  weekday: "short",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23"
})

/** Open 09:00–17:00 Monday to Friday in Berlin, read straight from Intl. */
const inBerlinOfficeHours = (millis: number): boolean => {
  const parts = Object.fromEntries(berlin.formatToParts(millis).map((part) => [part.type, part.value]))
  const minutes = Number(parts.hour) * 60 + Number(parts.minute)
  return !["Sat", "Sun"].includes(parts.weekday!) && minutes >= 9 * 60 && minutes < 17 * 60
}

/**
 * Watches every event as it is published and records each broken promise:
 * more calls in flight than the limit, a dial outside the window, a retry
 * sooner than its delay.
 */
const makeWatcher = (options: {
  readonly limit: number
  readonly minRetryGapMillis?: number
  readonly isOpen?: (millis: number) => boolean
}) => {
  const inFlight = new Set<string>()
  const lastEnd = new Map<string, number>()
  const violations: Array<string> = []
  const dialTimes: Array<number> = []
  let maxInFlight = 0
  let events = 0
  const onEvent = (event: EngineEvents.EngineEvent) => {
    events++
    if (event._tag !== "ContactChanged" || event.attempt === null) return
    const at = DateTime.toEpochMillis(event.at)
    const contactId = event.contact.id
    if (event.attempt.state === "dialing") {
      inFlight.add(event.attempt.id)
      dialTimes.push(at)
      maxInFlight = Math.max(maxInFlight, inFlight.size)
      if (inFlight.size > options.limit) violations.push(`${inFlight.size} calls in flight at ${event.at}`)
      if (options.isOpen !== undefined && !options.isOpen(at)) violations.push(`dial outside the window at ${event.at}`)
      const ended = lastEnd.get(contactId)
      if (options.minRetryGapMillis !== undefined && ended !== undefined && at - ended < options.minRetryGapMillis) {
        violations.push(`retry of ${contactId} ${(at - ended) / 1000}s after its last attempt`)
      }
    } else {
      inFlight.delete(event.attempt.id)
      lastEnd.set(contactId, at)
    }
  }
  return {
    onEvent,
    violations,
    dialTimes,
    get maxInFlight() {
      return maxInFlight
    },
    get inFlight() {
      return inFlight.size
    },
    get events() {
      return events
    }
  }
}

/** The store's counters agree with a recount of the contacts. */
const assertCountersMatch = (batchId: string) =>
  Effect.gen(function*() {
    const store = yield* BatchStore.BatchStore
    const contacts = yield* allContacts(batchId)
    const breakdown = yield* store.statusBreakdown(batchId)
    for (const status of Contact.statuses) {
      assert.strictEqual(breakdown[status], contacts.filter((c) => c.status === status).length, status)
    }
    return contacts
  })

const friday = Date.UTC(2026, 2, 27, 7, 0) // Friday 27 March 2026, 08:00 in Berlin; clocks go forward on Sunday the 29th

describe("Dispatcher", () => {
  it.effect("runs 10,000 contacts through office hours across the spring DST change", () => {
    const watcher = makeWatcher({ limit: 20, minRetryGapMillis: 20 * 60_000, isOpen: inBerlinOfficeHours })
    return Effect.gen(function*() {
      const engineService = yield* Engine.Engine
      const created = yield* engineService.createBatch(organizationId, {
        name: "Spring renewals",
        agentId: "agent_sales",
        concurrentCallLimit: 20,
        maxAttempts: 3,
        retryDelay: "PT20M",
        timezone: "Europe/Berlin",
        callingWindow: { start: "09:00", end: "17:00" },
        workingDays: [1, 2, 3, 4, 5],
        contacts: rows(10_000)
      })
      assert.strictEqual(created.acceptedContacts, 10_000)
      yield* TestClock.adjust("7 days")

      const batch = yield* engineService.getBatch(organizationId, created.batchJobId)
      assert.strictEqual(batch.status, "completed")
      assert.deepStrictEqual(watcher.violations, [])
      assert.strictEqual(watcher.maxInFlight, 20)
      const contacts = yield* assertCountersMatch(created.batchJobId)
      assert.isTrue(contacts.every((c) => Contact.isFinal(c.status)))
      assert.isTrue(contacts.every((c) => c.attemptCount >= 1 && c.attemptCount <= 3))
      // Retries happened, and only no-answers were retried.
      assert.isTrue(contacts.some((c) => c.attemptCount === 3 && c.status === "no_answer"))
      assert.isTrue(contacts.every((c) => c.status === "completed" || c.status === "no_answer"))
      assert.strictEqual(batch.progress.contactsProcessed, 10_000)
      // Calls before and after the DST change: Monday's first call is at 09:00 CEST, i.e. 07:00 UTC.
      assert.isTrue(watcher.dialTimes.some((t) => t < Date.UTC(2026, 2, 28)))
      const monday = watcher.dialTimes.filter((t) => t >= Date.UTC(2026, 2, 30) && t < Date.UTC(2026, 2, 31))
      assert.strictEqual(Math.min(...monday), Date.UTC(2026, 2, 30, 7, 0))
      assert.isNotNull(batch.timing.completedAt)
    }).pipe(
      Effect.provide(engine({
        telephony: {
          seed: 7,
          outcomes: { completed: 0.7, no_answer: 0.3 },
          ringSeconds: { min: 5, max: 30 },
          talkSeconds: { min: 30, max: 150 }
        },
        onEvent: watcher.onEvent
      })),
      (test) => Effect.andThen(TestClock.setTime(friday), test)
    )
  }, 120_000)
})
