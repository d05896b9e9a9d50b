/**
 * The links of lawful, paced calling under `TestClock`: the do-not-call list
 * at dial time and at create, an in-call opt-out across batches, a frequency
 * cap across batches, calls per second per caller number (sliding one-second
 * windows over every recorded start) and the organization's calls in flight.
 */
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import * as CallLimits from "../src/CallLimits.ts"
import * as Engine from "../src/Engine.ts"
import type * as EngineEvents from "../src/EngineEvents.ts"
import * as FrequencyCap from "../src/FrequencyCap.ts"
import { allContacts, createBatch, organizationId, phones, rows, runAt, untilFinished } from "@outdial/testing/TestEngine"

const monday = Date.UTC(2026, 10, 23, 9, 0) // Monday 23 November 2026, 09:00 UTC

const withEngine = <A, E>(options: Parameters<typeof runAt>[0], body: Parameters<typeof runAt<A, E>>[2]) => runAt(options, monday, body)
const create = createBatch

/** Every attempt begun, as the events tell it: when, from which caller number, to which number. */
const startsOf = () => {
  const starts: Array<{ readonly at: number; readonly caller: string; readonly phone: string; readonly batchId: string }> = []
  let inFlight = 0
  let maxInFlight = 0
  const onEvent = (event: EngineEvents.EngineEvent) => {
    if (event._tag !== "ContactChanged" || event.attempt === null) return
    if (event.attempt.state === "dialing") {
      starts.push({ at: DateTime.toEpochMillis(event.at), caller: event.attempt.callerNumberId, phone: event.contact.phone, batchId: event.batchId })
      maxInFlight = Math.max(maxInFlight, ++inFlight)
    } else inFlight--
  }
  return {
    onEvent,
    starts,
    get maxInFlight() {
      return maxInFlight
    }
  }
}

const invalidCode = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.flip(effect), (error) => (error as { code?: string }).code ?? error._tag)

describe("do-not-call", () => {
  it.effect("a listed number is skipped at dial time with reason do_not_call and never dialed", () => {
    const watch = startsOf()
    return withEngine({ telephony: { instant: true, outcomes: { completed: 1 } }, onEvent: watch.onEvent }, Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const [listed, other] = phones(2)
      const created = yield* create({ draft: true, contacts: rows(2) })
      // Listed after the create: only the check before the dial can catch it.
      yield* engine.doNotCall.add(organizationId, { number: listed })
      yield* engine.schedule(organizationId, created.batchJobId, {})
      yield* untilFinished(created.batchJobId)
      const contacts = yield* allContacts(created.batchJobId)
      const byPhone = new Map(contacts.map((contact) => [contact.phone, contact]))
      assert.strictEqual(byPhone.get(listed!)!.status, "skipped")
      assert.strictEqual(byPhone.get(listed!)!.lastDecision!.policy, "do_not_call")
      assert.match(byPhone.get(listed!)!.lastDecision!.reason, /^do_not_call/)
      assert.strictEqual(byPhone.get(other!)!.status, "completed")
      assert.deepStrictEqual(watch.starts.map((start) => start.phone), [other])
    }))
  })

  it.effect("create and validate warn of listed numbers with their rows, and keep the contacts", () =>
    withEngine({ telephony: { instant: true } }, Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const [a, b, c] = phones(3)
      yield* engine.doNotCall.add(organizationId, { numbers: [b!, { number: c!, source: "crm", expiresAt: "2027-01-01T00:00:00Z" }] })
      const contacts = [{ phone: a }, { phone: b }, { phone: c }, { phone: b }]
      const validated = yield* engine.validateContacts(organizationId, { _tag: "Rows", rows: contacts })
      assert.deepStrictEqual(validated.doNotCall, [{ phone: b, rows: [2, 4] }, { phone: c, rows: [3] }])
      const created = yield* create({ draft: true, contacts })
      assert.deepStrictEqual(created.doNotCall, [{ phone: b, rows: [2, 4] }, { phone: c, rows: [3] }])
      assert.strictEqual(created.totalContacts, 4)
    })))

  it.effect("the API adds, checks, pages with a cursor, expires and removes numbers; bad input is typed", () =>
    withEngine({}, Effect.gen(function*() {
      const { doNotCall } = yield* Engine.Engine
      const numbers = phones(5)
      const added = yield* doNotCall.add(organizationId, { numbers: ["+49 151 2000 0004", ...numbers.slice(0, 4)] })
      assert.strictEqual(added.entries[0]!.number, numbers[4])
      const first = yield* doNotCall.list(organizationId, { limit: 2 })
      assert.deepStrictEqual(first.items.map((entry) => entry.number), numbers.slice(0, 2))
      const second = yield* doNotCall.list(organizationId, { limit: 10, cursor: first.nextCursor! })
      assert.deepStrictEqual(second.items.map((entry) => entry.number), numbers.slice(2))
      assert.strictEqual(second.nextCursor, null)
      assert.deepStrictEqual((yield* doNotCall.check(organizationId, numbers[0]!)).listed, true)
      assert.deepStrictEqual(yield* doNotCall.remove(organizationId, numbers[0]!), { number: numbers[0], removed: true })
      assert.deepStrictEqual((yield* doNotCall.check(organizationId, numbers[0]!)).listed, false)
      // Another organization's list is its own.
      assert.deepStrictEqual((yield* doNotCall.check("org_other", numbers[1]!)).listed, false)
      // An entry stops counting once it expires.
      yield* doNotCall.add(organizationId, { number: "+12025550100", expiresAt: new Date(monday + 3_600_000).toISOString() })
      assert.strictEqual((yield* doNotCall.check(organizationId, "+12025550100")).listed, true)
      yield* TestClock.adjust("2 hours")
      assert.strictEqual((yield* doNotCall.check(organizationId, "+12025550100")).listed, false)

      assert.strictEqual(yield* invalidCode(doNotCall.add(organizationId, { number: "12345" })), "validation_error")
      assert.strictEqual(yield* invalidCode(doNotCall.add(organizationId, { numbers: [numbers[0]!, "+1 (202) 555-01%"] })), "validation_error")
      assert.strictEqual(yield* invalidCode(doNotCall.add(organizationId, { number: "+12025550100\u0000" })), "validation_error")
      assert.strictEqual(yield* invalidCode(doNotCall.add(organizationId, { numbers: [] })), "validation_error")
      assert.strictEqual(yield* invalidCode(doNotCall.add(organizationId, { number: numbers[0]!, expiresAt: "2020-01-01T00:00:00Z" })), "validation_error")
      assert.strictEqual(yield* invalidCode(doNotCall.check(organizationId, "not a number")), "validation_error")
      assert.strictEqual(yield* invalidCode(doNotCall.list(organizationId, { cursor: "%%%" })), "invalid_cursor")
      assert.strictEqual(yield* invalidCode(doNotCall.list(organizationId, { limit: "0" })), "invalid_page_size")
      // Nothing of a refused request was stored.
      assert.strictEqual((yield* doNotCall.list(organizationId, { limit: 100 })).items.length, 4)
    })))

  it.effect("an opt-out mid-batch lists the number at once and skips its other waiting contacts in every batch", () => {
    const watch = startsOf()
    const [optingOut] = phones(1, 100)
    return withEngine({
      telephony: { outcomes: { completed: 1 }, ringSeconds: 0, talkSeconds: 60, optOutNumbers: [optingOut!] },
      onEvent: watch.onEvent
    }, Effect.gen(function*() {
      const engine = yield* Engine.Engine
      // One call at a time: the opt-out ends before the batch's second row with that number is reached.
      const first = yield* create({ concurrentCallLimit: 1, contacts: [{ phone: optingOut }, ...rows(2), { phone: optingOut }] })
      const second = yield* create({
        concurrentCallLimit: 1,
        scheduledStartTime: new Date(monday + 3_600_000).toISOString(),
        contacts: [...rows(1, 10), { phone: optingOut }]
      })
      yield* untilFinished(first.batchJobId)
      const entry = yield* engine.doNotCall.check(organizationId, optingOut!)
      assert.deepStrictEqual([entry.listed, entry.entry?.source], [true, "opt_out"])
      yield* untilFinished(second.batchJobId)
      const contacts = [...yield* allContacts(first.batchJobId), ...yield* allContacts(second.batchJobId)]
      const ofNumber = contacts.filter((contact) => contact.phone === optingOut)
      assert.deepStrictEqual(ofNumber.map((contact) => [contact.batchId, contact.status, contact.lastDecision?.policy]), [
        [first.batchJobId, "completed", "eligibility"],
        [first.batchJobId, "skipped", "do_not_call"],
        [second.batchJobId, "skipped", "do_not_call"]
      ])
      assert.strictEqual(watch.starts.filter((start) => start.phone === optingOut).length, 1)
    }))
  })
})

describe("frequency caps", () => {
  it.effect("an organization's cap counts attempts across two batches and defers to the exact instant it allows", () => {
    const watch = startsOf()
    const [shared] = phones(1, 200)
    return withEngine({
      telephony: { outcomes: { no_answer: 1 }, ringSeconds: 30 },
      config: { organizationLimits: () => ({ frequencyCap: { maxAttempts: 2, periodHours: 24 } }) },
      onEvent: watch.onEvent
    }, Effect.gen(function*() {
      yield* create({ maxAttempts: 2, retryDelay: "PT1H", contacts: [{ phone: shared }] })
      yield* TestClock.adjust("2 hours")
      const second = yield* create({ maxAttempts: 1, contacts: [{ phone: shared }] })
      const [held] = yield* allContacts(second.batchJobId)
      // Two attempts in the first batch, at 09:00 and about 10:00: the third waits 24 h from the first.
      const firstStart = watch.starts[0]!.at
      assert.strictEqual(held!.lastDecision!.policy, "frequency_cap")
      assert.strictEqual(DateTime.toEpochMillis(held!.nextRetryAt!), firstStart + 24 * 3_600_000)
      yield* untilFinished(second.batchJobId, { within: "3 days" })
      const starts = watch.starts.filter((start) => start.phone === shared).map((start) => start.at)
      assert.strictEqual(starts.length, 3)
      assert.isAtLeast(starts[2]!, firstStart + 24 * 3_600_000)
      // No 24-hour window holds more than two attempts.
      for (const from of starts) assert.isAtMost(starts.filter((at) => at >= from && at < from + 24 * 3_600_000).length, 2)
    }))
  })

  it.effect("a batch's own cap counts answered calls; a second contact of the number in one step waits", () =>
    withEngine({ telephony: { instant: true, outcomes: { completed: 1 } } }, Effect.gen(function*() {
      const [shared] = phones(1, 300)
      const created = yield* create({
        frequencyCap: { maxAttempts: 5, maxConnected: 1, periodHours: 12 },
        contacts: [{ phone: shared }, { phone: shared }]
      })
      // Its first call may still be answered: the second contact is looked at again shortly…
      const [, waiting] = yield* allContacts(created.batchJobId)
      assert.strictEqual(waiting!.lastDecision!.policy, "frequency_cap")
      assert.strictEqual(DateTime.toEpochMillis(waiting!.nextRetryAt!), monday + 60_000)
      // …and once it was, waits for the period to pass.
      yield* TestClock.adjust("2 minutes")
      const [a, b] = yield* allContacts(created.batchJobId)
      assert.strictEqual(a!.status, "completed")
      assert.strictEqual(b!.lastDecision!.policy, "frequency_cap")
      assert.strictEqual(DateTime.toEpochMillis(b!.nextRetryAt!), monday + 12 * 3_600_000)
    })))

  it("allowedAt waits for the oldest counted time to leave the period", () => {
    const hour = 3_600_000
    const cap = { maxAttempts: 2, periodHours: 1 }
    assert.strictEqual(FrequencyCap.allowedAt(cap, { starts: [0, 10 * 60_000], connected: [] }, 30 * 60_000), hour)
    assert.strictEqual(FrequencyCap.allowedAt(cap, { starts: [0, 10 * 60_000], connected: [] }, hour + 1), hour + 1)
    assert.strictEqual(FrequencyCap.allowedAt(cap, { starts: [0, 1, 2], connected: [] }, 3), hour + 1)
  })

  it.effect("negative or zero caps and calls per second are refused with 400s, nothing stored", () =>
    withEngine({}, Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const attempt = (input: Record<string, unknown>) =>
        invalidCode(engine.createBatch(organizationId, { name: "Bad", agentId: "agent_sales", contacts: rows(1), ...input }))
      assert.strictEqual(yield* attempt({ frequencyCap: { maxAttempts: -1, periodHours: 24 } }), "validation_error")
      assert.strictEqual(yield* attempt({ frequencyCap: { maxAttempts: 1, maxConnected: 0, periodHours: 24 } }), "validation_error")
      assert.strictEqual(yield* attempt({ frequencyCap: { maxAttempts: 1, periodHours: -5 } }), "validation_error")
      assert.strictEqual(yield* attempt({ frequencyCap: { maxAttempts: 1, periodHours: 1e308 } }), "validation_error")
      assert.strictEqual(yield* attempt({ maxCallsPerSecondPerNumber: 0 }), "validation_error")
      assert.strictEqual(yield* attempt({ maxCallsPerSecondPerNumber: -2 }), "validation_error")
      assert.strictEqual(yield* attempt({ maxCallsPerSecondPerNumber: 1.5 }), "validation_error")
      assert.strictEqual((yield* engine.listBatches(organizationId, {})).pagination.total, 0)
    })))
})

describe("pacing", () => {
  /** Whether any one-second window [t, t + 1 s) holds more than `cps` starts of one caller number. */
  const worstWindow = (starts: ReadonlyArray<{ readonly at: number; readonly caller: string }>) => {
    let worst = 0
    for (const start of starts) {
      const inWindow = starts.filter((other) => other.caller === start.caller && other.at >= start.at && other.at < start.at + 1_000)
      worst = Math.max(worst, inWindow.length)
    }
    return worst
  }

  it.effect("calls per second per caller number are never exceeded, across two batches of the organization", () => {
    const watch = startsOf()
    return withEngine({
      telephony: { outcomes: { completed: 1 }, ringSeconds: 0, talkSeconds: { min: 1, max: 20 } },
      config: { organizationLimits: () => ({ maxCallsPerSecondPerNumber: 3 }) },
      onEvent: watch.onEvent
    }, Effect.gen(function*() {
      const first = yield* create({ concurrentCallLimit: 50, contacts: rows(120) })
      const second = yield* create({ concurrentCallLimit: 50, maxCallsPerSecondPerNumber: 2, contacts: rows(120, 500) })
      yield* untilFinished(first.batchJobId, { step: "1 second" })
      yield* untilFinished(second.batchJobId, { step: "1 second" })
      assert.strictEqual(watch.starts.length, 240)
      // Two caller numbers, each at most 3 a second for the organization: never more, and used to the full.
      assert.strictEqual(worstWindow(watch.starts), 3)
      assert.strictEqual(worstWindow(watch.starts.filter((start) => start.batchId === second.batchJobId)), 2)
    }))
  })

  it.effect("the organization's calls in flight stay under its limit across batches", () => {
    const watch = startsOf()
    return withEngine({
      telephony: { outcomes: { completed: 1 }, ringSeconds: 0, talkSeconds: { min: 30, max: 90 } },
      config: { organizationLimits: () => ({ maxConcurrentCalls: 4 }) },
      onEvent: watch.onEvent
    }, Effect.gen(function*() {
      const batches = [
        yield* create({ concurrentCallLimit: 3, contacts: rows(15) }),
        yield* create({ concurrentCallLimit: 3, contacts: rows(15, 100) }),
        yield* create({ concurrentCallLimit: 3, contacts: rows(15, 200) })
      ]
      for (const batch of batches) yield* untilFinished(batch.batchJobId, { step: "5 seconds" })
      assert.strictEqual(watch.starts.length, 45)
      assert.strictEqual(watch.maxInFlight, 4)
    }))
  })

  it("admit gives the organization's free slots and each caller's room in the last second", () => {
    const limits = { organizationId, maxConcurrentCalls: 3, maxCallsPerSecondPerNumber: 2 }
    const load = { inFlight: 1, recentStarts: new Map([["a", [9_500]]]) }
    assert.deepStrictEqual(CallLimits.admit(limits, load, ["a", "a", "b", "b"], 10_000), {
      admitted: [true, false, true, false],
      retryAt: 10_500,
      refused: 2
    })
  })
})
