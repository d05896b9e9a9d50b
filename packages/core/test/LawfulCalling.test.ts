import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import * as Dispatcher from "../src/Dispatcher.ts"
import * as Engine from "../src/Engine.ts"
import * as EngineEvents from "../src/EngineEvents.ts"
import * as MemoryBatchStore from "../src/MemoryBatchStore.ts"
import * as RecipientZones from "../src/RecipientZones.ts"
import { type CallResult, Telephony } from "../src/Telephony.ts"
import { directory, layer as engine, organizationId } from "@outdial/testing/TestEngine"

const honolulu = "+18089560123"
const newYork = "+12129560123"
const alaska = "+19075550123" // America/Adak and America/Anchorage

const formatters = new Map<string, Intl.DateTimeFormat>()
/** Local minute of the day in `zone`, straight from Intl. */
const localMinute = (zone: string, millis: number) => {
  let formatter = formatters.get(zone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    formatters.set(zone, formatter)
  }
  const parts = Object.fromEntries(formatter.formatToParts(millis).map((part) => [part.type, part.value]))
  return Number(parts.hour) * 60 + Number(parts.minute)
}
/** 08:00–21:00 in every zone of the number, the TCPA's hours, by Intl alone. */
const inTcpaHours = (phone: string, millis: number) =>
  RecipientZones.zonesOf(phone).every((zone) => localMinute(zone, millis) >= 8 * 60 && localMinute(zone, millis) < 21 * 60)

/** Every dial, by phone, with the hours it broke. */
const makeWatcher = () => {
  const dials: Array<{ readonly phone: string; readonly at: number }> = []
  const violations: Array<string> = []
  const deferrals: Array<{ readonly policy: string; readonly reason: string; readonly until: string | null }> = []
  const onEvent = (event: EngineEvents.EngineEvent) => {
    if (event._tag === "BatchDeferred") {
      deferrals.push({ policy: event.policy, reason: event.reason, until: event.until === null ? null : DateTime.formatIso(event.until) })
    }
    if (event._tag !== "ContactChanged" || event.attempt?.state !== "dialing") return
    const at = DateTime.toEpochMillis(event.at)
    dials.push({ phone: event.contact.phone, at })
    if (!inTcpaHours(event.contact.phone, at)) violations.push(`${event.contact.phone} dialed at ${event.at}`)
  }
  return { dials, violations, deferrals, onEvent, firstDial: (phone: string) => dials.find((dial) => dial.phone === phone)?.at }
}

const tcpa = { start: "08:00", end: "21:00" }
const minuteCalls = { outcomes: { completed: 1 }, ringSeconds: 0, talkSeconds: 60 }

const create = (input: Record<string, unknown>) =>
  Effect.gen(function*() {
    const created = yield* (yield* Engine.Engine).createBatch(organizationId, { name: "Lawful", agentId: "agent_sales", ...input })
    yield* (yield* Dispatcher.Dispatcher).settled
    return created
  })

const contactsOf = (batchId: string) =>
  Effect.gen(function*() {
    const details = yield* (yield* Engine.Engine).getBatch(organizationId, batchId)
    return new Map(details.contacts.map((contact) => [contact.phoneNumber, contact]))
  })

const iso = (millis: number) => new Date(millis).toISOString()

/** A test on a fresh engine over `telephony`, its clock set to `start` before the engine is built. */
const withTelephony = <A, E>(
  telephony: Telephony["Service"],
  start: number,
  config: Parameters<typeof Engine.layerWith>[0]["config"],
  body: Effect.Effect<A, E, Engine.Engine | Dispatcher.Dispatcher>
) =>
  Effect.andThen(
    TestClock.setTime(start),
    Effect.provide(body, Engine.layerWith({ store: MemoryBatchStore.layer, telephony: Layer.succeed(Telephony)(telephony), directory, config }))
  )

const result = (outcome: CallResult["outcome"], extra: Partial<CallResult> = {}): CallResult => ({
  outcome,
  sipCode: null,
  duration: outcome === "completed" ? 60 : null,
  roomName: null,
  failureReason: null,
  ...extra
})

describe("Lawful calling", () => {
  it.effect("TCPA hours: a Hawaii and a New York number in one batch are each called only inside their own 08:00–21:00", () => {
    const watcher = makeWatcher()
    const start = Date.UTC(2026, 5, 1, 8, 0) // 04:00 in New York, 22:00 (Sunday) in Honolulu
    return Effect.andThen(TestClock.setTime(start), Effect.gen(function*() {
      const created = yield* create({
        timezone: "America/New_York",
        recipientLocalHours: tcpa,
        contacts: [{ phone: honolulu }, { phone: newYork }]
      })
      const waiting = yield* contactsOf(created.batchJobId)
      // Each waits for its own zone's 08:00, computed exactly and stored: the dispatcher sleeps till then.
      assert.strictEqual(waiting.get(newYork)!.nextEligibleAt, iso(Date.UTC(2026, 5, 1, 12, 0)))
      assert.strictEqual(waiting.get(honolulu)!.nextEligibleAt, iso(Date.UTC(2026, 5, 1, 18, 0)))
      assert.strictEqual(waiting.get(honolulu)!.lastDecision!.policy, "recipient_hours")
      assert.match(waiting.get(honolulu)!.lastDecision!.reason, /Pacific\/Honolulu/)
      yield* TestClock.adjust("1 day")
      assert.deepStrictEqual(watcher.violations, [])
      assert.strictEqual(watcher.firstDial(newYork), Date.UTC(2026, 5, 1, 12, 0))
      assert.strictEqual(watcher.firstDial(honolulu), Date.UTC(2026, 5, 1, 18, 0))
      assert.strictEqual((yield* (yield* Engine.Engine).getBatch(organizationId, created.batchJobId)).status, "completed")
    }).pipe(Effect.provide(engine({ telephony: minuteCalls, onEvent: watcher.onEvent }))))
  })

  it.effect("nextEligibleAt of a contact the batch holds back names the window's next opening, moved past a blackout day", () => {
    const start = Date.UTC(2026, 5, 1, 20, 0) // Monday 1 June, 22:00 in Berlin, after the window closed
    return Effect.andThen(TestClock.setTime(start), Effect.gen(function*() {
      const created = yield* create({
        timezone: "Europe/Berlin",
        callingWindow: { start: "09:00", end: "17:00" },
        blackoutDates: ["2026-06-02"],
        contacts: [{ phone: newYork }]
      })
      const engine = yield* Engine.Engine
      // Tuesday is a blackout day: Wednesday 09:00 in Berlin, every in-place link applied.
      const opening = iso(Date.UTC(2026, 5, 3, 7, 0))
      assert.strictEqual((yield* contactsOf(created.batchJobId)).get(newYork)!.nextEligibleAt, opening)
      const page = yield* engine.listContacts(organizationId, created.batchJobId, {})
      assert.strictEqual(page.contacts[0]!.nextEligibleAt, opening)
      const details = yield* engine.getContact(organizationId, created.batchJobId, page.contacts[0]!.contactId)
      assert.strictEqual(details.contact.nextEligibleAt, opening)
      // A paused batch dials nobody until resumed: no time to promise.
      yield* engine.pause(organizationId, created.batchJobId)
      assert.strictEqual((yield* contactsOf(created.batchJobId)).get(newYork)!.nextEligibleAt, null)
    }).pipe(Effect.provide(engine({ telephony: minuteCalls }))))
  })

  it.effect("a number spanning two zones (Alaska: Adak and Anchorage) waits until both are inside the hours", () => {
    const watcher = makeWatcher()
    const start = Date.UTC(2026, 5, 1, 10, 0)
    return Effect.andThen(TestClock.setTime(start), Effect.gen(function*() {
      const created = yield* create({ recipientLocalHours: tcpa, contacts: [{ phone: alaska }] })
      // 08:00 in Adak (UTC−9 in summer) is 09:00 in Anchorage: the later zone opens the number.
      const opening = Date.UTC(2026, 5, 1, 17, 0)
      assert.strictEqual((yield* contactsOf(created.batchJobId)).get(alaska)!.nextEligibleAt, iso(opening))
      yield* TestClock.adjust("1 day")
      assert.deepStrictEqual(watcher.violations, [])
      assert.strictEqual(watcher.firstDial(alaska), opening)
    }).pipe(Effect.provide(engine({ telephony: minuteCalls, onEvent: watcher.onEvent }))))
  })

  it.effect("over the spring-forward weekend a retry is dated to 08:00 EDT on Sunday, an hour earlier in UTC than Saturday's", () => {
    const watcher = makeWatcher()
    const start = Date.UTC(2026, 2, 7, 3, 0) // Friday 6 March, 22:00 EST; clocks go forward on Sunday 8 March
    return Effect.andThen(TestClock.setTime(start), Effect.gen(function*() {
      const created = yield* create({
        timezone: "America/New_York",
        recipientLocalHours: tcpa,
        maxAttempts: 3,
        retryDelay: "PT10H",
        contacts: [{ phone: newYork }]
      })
      yield* TestClock.adjust("19 hours") // to Saturday 22:00 UTC: one call at 08:00 EST, its retry due at 18:00 EST
      assert.deepStrictEqual(watcher.dials.map((dial) => dial.at), [Date.UTC(2026, 2, 7, 13, 0)])
      yield* TestClock.adjust("2 hours")
      // The third try, due 10 hours after 18:00 EST (04:00 EDT Sunday), waits for 08:00 EDT = 12:00 UTC.
      const [contact] = (yield* contactsOf(created.batchJobId)).values()
      assert.strictEqual(contact!.nextRetryAt, iso(Date.UTC(2026, 2, 8, 12, 0)))
      yield* TestClock.adjust("1 day")
      assert.deepStrictEqual(watcher.dials.map((dial) => dial.at), [
        Date.UTC(2026, 2, 7, 13, 0),
        Date.UTC(2026, 2, 7, 23, 0),
        Date.UTC(2026, 2, 8, 12, 0)
      ])
      assert.deepStrictEqual(watcher.violations, [])
    }).pipe(Effect.provide(engine({ telephony: { instant: true, outcomes: { no_answer: 1 } }, onEvent: watcher.onEvent }))))
  })

  it.effect("a public holiday and a blackout date hold the batch until the next open day", () => {
    const watcher = makeWatcher()
    const start = Date.UTC(2026, 11, 24, 23, 0) // Thursday 24 December, 18:00 in New York
    return Effect.andThen(TestClock.setTime(start), Effect.gen(function*() {
      yield* create({
        timezone: "America/New_York",
        callingWindow: { start: "09:00", end: "17:00" },
        holidays: { country: "us", zone: "batch" },
        blackoutDates: ["2026-12-26"],
        contacts: [{ phone: newYork }]
      })
      yield* TestClock.adjust("4 days")
      // Christmas is a US public holiday, the 26th the batch's own blackout: Sunday 27th at 09:00 EST.
      assert.strictEqual(watcher.dials[0]!.at, Date.UTC(2026, 11, 27, 14, 0))
      const held = watcher.deferrals.find((deferral) => deferral.policy === "blackout")!
      assert.match(held.reason, /public holiday in US on 2026-12-25/)
    }).pipe(Effect.provide(engine({ telephony: minuteCalls, onEvent: watcher.onEvent }))))
  })

  it.effect("holidays judged in the recipient's zone follow the number's own country", () => {
    const watcher = makeWatcher()
    const start = Date.UTC(2026, 11, 25, 1, 0) // 02:00 on Christmas Day in Berlin, 20:00 on Christmas Eve in New York
    const berlin = "+4915120000001"
    return Effect.andThen(TestClock.setTime(start), Effect.gen(function*() {
      const created = yield* create({ timezone: "America/New_York", holidays: { zone: "recipient" }, contacts: [{ phone: berlin }, { phone: newYork }] })
      // 25 and 26 December are public holidays in Germany: the German number waits for the 27th in Berlin.
      const waiting = yield* contactsOf(created.batchJobId)
      assert.strictEqual(waiting.get(berlin)!.nextEligibleAt, iso(Date.UTC(2026, 11, 26, 23, 0)))
      assert.match(waiting.get(berlin)!.lastDecision!.reason, /public holiday in DE on 2026-12-2[56]/)
      yield* TestClock.adjust("3 days")
      assert.strictEqual(watcher.firstDial(newYork), start)
      assert.strictEqual(watcher.firstDial(berlin), Date.UTC(2026, 11, 26, 23, 0))
    }).pipe(Effect.provide(engine({ telephony: minuteCalls, onEvent: watcher.onEvent }))))
  })

  it.effect("an organization's blackout dates from the host hold its batches too", () => {
    const watcher = makeWatcher()
    const start = Date.UTC(2026, 6, 3, 12, 0)
    return Effect.andThen(TestClock.setTime(start), Effect.gen(function*() {
      yield* create({ timezone: "UTC", contacts: [{ phone: newYork }] })
      yield* TestClock.adjust("2 days")
      assert.strictEqual(watcher.dials[0]!.at, Date.UTC(2026, 6, 4))
    }).pipe(Effect.provide(engine({
      telephony: minuteCalls,
      onEvent: watcher.onEvent,
      config: { organizationBlackoutDates: (org) => org === organizationId ? ["2026-07-03"] : [] }
    }))))
  })

  it.effect("a callback the recipient asked for is honoured at its time, clamped to their hours, without spending an attempt", () => {
    const start = Date.UTC(2026, 5, 1, 14, 0) // 10:00 in New York
    // 23:00 in New York: outside the recipient's hours, so the call waits for 08:00 the next morning.
    const asked = Date.UTC(2026, 5, 2, 3, 0)
    const dials: Array<number> = []
    let now = 0
    const telephony: Telephony["Service"] = {
      dial: (request) =>
        Effect.gen(function*() {
          now = yield* Effect.clockWith((clock) => Effect.succeed(clock.currentTimeMillisUnsafe()))
          dials.push(now)
          yield* Effect.sleep("1 minute")
          return request.attemptNumber === 1 ? result("completed", { callbackAt: new Date(asked).toISOString() }) : result("completed")
        }),
      lookup: () => Effect.succeed({ _tag: "NotFound" })
    }
    return withTelephony(telephony, start, {}, Effect.gen(function*() {
      const created = yield* create({ timezone: "America/New_York", recipientLocalHours: tcpa, maxAttempts: 1, contacts: [{ phone: newYork }] })
      yield* TestClock.adjust("2 minutes")
      const waiting = (yield* contactsOf(created.batchJobId)).get(newYork)!
      assert.deepStrictEqual(
        [waiting.status, waiting.attemptCount, waiting.maxAttempts, waiting.nextEligibleAt, waiting.lastDecision!.policy],
        ["queued", 1, 2, iso(Date.UTC(2026, 5, 2, 12, 0)), "callback"]
      )
      yield* TestClock.adjust("1 day")
      assert.deepStrictEqual(dials, [start, Date.UTC(2026, 5, 2, 12, 0)])
      const done = (yield* contactsOf(created.batchJobId)).get(newYork)!
      assert.deepStrictEqual([done.status, done.attemptCount], ["completed", 2])
    }))
  })

  it.effect("the watchdog resolves a call stuck in dialing with what the provider says, and never redials it blindly", () => {
    const start = Date.UTC(2026, 5, 1, 14, 0)
    const dials: Array<number> = []
    const lookups: Array<string> = []
    const telephony: Telephony["Service"] = {
      dial: (request) => {
        dials.push(request.attemptNumber)
        // The first call's end never arrives; later calls end normally.
        return request.attemptNumber === 1 ? Effect.never : Effect.as(Effect.sleep("1 minute"), result("completed"))
      },
      lookup: (attemptId) => {
        lookups.push(attemptId)
        // Still going on when first asked; then the provider has its end.
        return Effect.succeed(lookups.length === 1 ? { _tag: "InProgress" } : { _tag: "Finished", result: result("completed") })
      }
    }
    const watchdog = { ringTimeoutSeconds: 60, maxCallSeconds: 600, marginSeconds: 60 }
    return withTelephony(telephony, start, { watchdog }, Effect.gen(function*() {
      const created = yield* create({ contacts: [{ phone: newYork }] })
      yield* TestClock.adjust("11 minutes")
      assert.strictEqual((yield* contactsOf(created.batchJobId)).get(newYork)!.status, "dialing")
      assert.strictEqual(lookups.length, 0)
      yield* TestClock.adjust("1 minute") // ring + longest call + margin: asked, still in progress
      assert.strictEqual(lookups.length, 1)
      assert.strictEqual((yield* contactsOf(created.batchJobId)).get(newYork)!.status, "dialing")
      yield* TestClock.adjust("1 minute") // asked again: finished
      const done = (yield* contactsOf(created.batchJobId)).get(newYork)!
      assert.deepStrictEqual([done.status, done.attemptCount], ["completed", 1])
      assert.deepStrictEqual(dials, [1])
    }))
  })

  it.effect("a call stuck behind calls that ended is asked about at its own limit, not its elders'", () => {
    const start = Date.UTC(2026, 5, 1, 14, 0)
    const stuck = "+12129560124"
    const lookups: Array<number> = []
    const telephony: Telephony["Service"] = {
      dial: (request) => request.to === stuck ? Effect.never : Effect.as(Effect.sleep("1 minute"), result("completed")),
      lookup: () =>
        Effect.clockWith((clock) => {
          lookups.push(clock.currentTimeMillisUnsafe() - start)
          return Effect.succeed({ _tag: "NotFound" } as const)
        })
    }
    const watchdog = { ringTimeoutSeconds: 60, maxCallSeconds: 600, marginSeconds: 60 }
    return withTelephony(telephony, start, { watchdog }, Effect.gen(function*() {
      // One call at a time: the stuck call starts when the first ends, a minute in.
      const created = yield* create({ concurrentCallLimit: 1, maxAttempts: 1, contacts: [{ phone: newYork }, { phone: stuck }] })
      yield* TestClock.adjust("12 minutes")
      assert.strictEqual((yield* contactsOf(created.batchJobId)).get(stuck)!.status, "dialing")
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(lookups, [13 * 60_000])
      const failed = (yield* contactsOf(created.batchJobId)).get(stuck)!
      assert.match(failed.failureReason!, /no record/)
    }))
  })

  it.effect("a stuck call the provider never heard of is recorded failed and retried per policy under a new attempt", () => {
    const start = Date.UTC(2026, 5, 1, 14, 0)
    const dials: Array<string> = []
    const telephony: Telephony["Service"] = {
      dial: (request) => {
        dials.push(request.attemptId)
        return request.attemptNumber === 1 ? Effect.never : Effect.as(Effect.sleep("1 minute"), result("completed"))
      },
      lookup: () => Effect.succeed({ _tag: "NotFound" })
    }
    const watchdog = { ringTimeoutSeconds: 60, maxCallSeconds: 600, marginSeconds: 60 }
    return withTelephony(telephony, start, { watchdog }, Effect.gen(function*() {
      const created = yield* create({ maxAttempts: 2, retryDelay: "PT5M", contacts: [{ phone: newYork }] })
      yield* TestClock.adjust("13 minutes")
      const failed = (yield* contactsOf(created.batchJobId)).get(newYork)!
      assert.deepStrictEqual([failed.status, failed.nextRetryAt], ["queued", iso(start + 12 * 60_000 + 5 * 60_000)])
      assert.match(failed.failureReason!, /no record/)
      yield* TestClock.adjust("10 minutes")
      const done = (yield* contactsOf(created.batchJobId)).get(newYork)!
      assert.deepStrictEqual([done.status, done.attemptCount], ["completed", 2])
      assert.strictEqual(new Set(dials).size, 2)
    }))
  })
})
