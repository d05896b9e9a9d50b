import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Context from "effect/Context"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import * as BatchStore from "../src/BatchStore.ts"
import * as Contact from "../src/Contact.ts"
import * as Credits from "../src/Credits.ts"
import * as Dispatcher from "../src/Dispatcher.ts"
import * as Eligibility from "../src/Eligibility.ts"
import * as Engine from "../src/Engine.ts"
import type * as EngineEvents from "../src/EngineEvents.ts"
import * as SimulatedTelephony from "../src/SimulatedTelephony.ts"
import * as Telephony from "../src/Telephony.ts"
import { allContacts, createBatch, layer as engine, engineOnly, organizationId, ports, rows, runAt, sharedMemoryStore } from "@outdial/testing/TestEngine"

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
      yield* (yield* Dispatcher.Dispatcher).settled
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
  const monday = Date.UTC(2026, 10, 23, 9, 0) // Monday 23 November 2026, 09:00 UTC

  /** A test on a fresh engine, its clock set to `start`. */
  const withEngine = runAt
  const create = createBatch

  const statusOf = (batchId: string) =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      return yield* engine.getBatch(organizationId, batchId)
    })

  const minuteCalls = { outcomes: { completed: 1 }, ringSeconds: 0, talkSeconds: 60 }

  it.effect("pause stops new calls at once, lets calls in flight finish, and resume carries on", () => {
    const watcher = makeWatcher({ limit: 5 })
    return withEngine({ telephony: minuteCalls, onEvent: watcher.onEvent }, monday, Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const created = yield* create({ concurrentCallLimit: 5, contacts: rows(100) })
      yield* TestClock.adjust("150 seconds")
      const paused = yield* engine.pause(organizationId, created.batchJobId)
      assert.strictEqual(paused.status, "paused")
      const dialsAtPause = watcher.dialTimes.length
      assert.strictEqual(dialsAtPause, 15)
      assert.strictEqual(watcher.inFlight, 5)
      yield* TestClock.adjust("30 minutes")
      assert.strictEqual(watcher.dialTimes.length, dialsAtPause)
      assert.strictEqual(watcher.inFlight, 0)
      const whilePaused = yield* statusOf(created.batchJobId)
      assert.strictEqual(whilePaused.progress.statusBreakdown.completed, 15)
      assert.strictEqual(whilePaused.progress.statusBreakdown.dialing, 0)
      yield* Effect.flip(engine.resume(organizationId, "batch_missing")).pipe(Effect.map((e) => assert.strictEqual(e._tag, "BatchNotFound")))
      const resumed = yield* engine.resume(organizationId, created.batchJobId)
      assert.strictEqual(resumed.status, "running")
      const again = yield* Effect.flip(engine.resume(organizationId, created.batchJobId))
      assert.strictEqual(again._tag, "InvalidTransition")
      assert.match(again.message, /running/)
      yield* TestClock.adjust("1 hour")
      const done = yield* statusOf(created.batchJobId)
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.progress.successfulCalls, 100)
      assert.deepStrictEqual(watcher.violations, [])
    }))
  })

  it.effect("cancel ends waiting contacts at once and records the calls in flight", () => {
    const watcher = makeWatcher({ limit: 4 })
    return withEngine({ telephony: minuteCalls, onEvent: watcher.onEvent }, monday, Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const created = yield* create({ concurrentCallLimit: 4, contacts: rows(50) })
      yield* TestClock.adjust("90 seconds")
      const cancelled = yield* engine.cancel(organizationId, created.batchJobId)
      assert.strictEqual(cancelled.status, "cancelled")
      const dials = watcher.dialTimes.length
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(watcher.dialTimes.length, dials)
      const batch = yield* statusOf(created.batchJobId)
      const breakdown = batch.progress.statusBreakdown
      assert.strictEqual(breakdown.completed, dials)
      assert.strictEqual(breakdown.cancelled, 50 - dials)
      assert.strictEqual(breakdown.pending + breakdown.queued + breakdown.dialing, 0)
      yield* assertCountersMatch(created.batchJobId)
      const refused = yield* Effect.flip(engine.pause(organizationId, created.batchJobId))
      assert.strictEqual(refused.message, "Cannot pause a batch that is cancelled")
    }))
  })

  it.effect("retry re-queues the retryable failures of a completed batch and runs them again", () => {
    const busy = rows(10).slice(0, 3).map((row) => row.phone as string)
    return withEngine({
      telephony: { instant: true, outcomes: { completed: 1 }, byNumber: Object.fromEntries(busy.map((p) => [p, ["busy", "busy", "busy", "completed"]])) }
    }, monday, Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const created = yield* create({ maxAttempts: 3, retryDelay: { default: "PT1H", busy: "PT5M" }, contacts: rows(10) })
      yield* TestClock.adjust("1 hour")
      const first = yield* statusOf(created.batchJobId)
      assert.strictEqual(first.status, "completed")
      assert.strictEqual(first.progress.statusBreakdown.busy, 3)
      const busyContacts = first.contacts.filter((c) => c.status === "busy")
      // Busy waits its own 5 minutes, not the default hour.
      assert.isTrue(busyContacts.every((c) => c.attemptCount === 3))
      assert.strictEqual(first.timing.completedAt, new Date(monday + 10 * 60_000).toISOString())
      const retried = yield* engine.retry(organizationId, created.batchJobId)
      assert.strictEqual(retried.requeued, 3)
      assert.strictEqual(retried.status, "running")
      yield* TestClock.adjust("1 minute")
      const second = yield* statusOf(created.batchJobId)
      assert.strictEqual(second.status, "completed")
      assert.strictEqual(second.progress.successfulCalls, 10)
      assert.isTrue(second.contacts.filter((c) => busy.includes(c.phoneNumber)).every((c) => c.attemptCount === 4))
      const notAgain = yield* Effect.flip(engine.retry(organizationId, "batch_missing"))
      assert.strictEqual(notAgain._tag, "BatchNotFound")
    }))
  })

  it.effect("a scheduled batch starts at its time, not before", () => {
    const watcher = makeWatcher({ limit: 5 })
    const start = monday + 2 * 3_600_000
    return withEngine({ telephony: minuteCalls, onEvent: watcher.onEvent }, monday, Effect.gen(function*() {
      const created = yield* create({ scheduledStartTime: new Date(start).toISOString(), contacts: rows(5) })
      assert.strictEqual(created.status, "scheduled")
      assert.strictEqual(created.scheduledStartTime, new Date(start).toISOString())
      yield* TestClock.adjust(2 * 3_600_000 - 1_000)
      assert.strictEqual((yield* statusOf(created.batchJobId)).status, "scheduled")
      assert.strictEqual(watcher.dialTimes.length, 0)
      yield* TestClock.adjust("1 second")
      const running = yield* statusOf(created.batchJobId)
      assert.strictEqual(running.status, "running")
      assert.strictEqual(running.timing.actualStartTime, new Date(start).toISOString())
      assert.deepStrictEqual(watcher.dialTimes, Array(5).fill(start))
    }))
  })

  it.effect("a local scheduled time is read in the batch's zone, and a past one is refused", () =>
    withEngine({ telephony: minuteCalls }, monday, Effect.gen(function*() {
      const created = yield* create({ scheduledStartTime: "2026-11-24T09:30", timezone: "America/New_York", contacts: rows(1) })
      assert.strictEqual(created.scheduledStartTime, "2026-11-24T14:30:00.000Z")
      const past = yield* Effect.flip(create({ scheduledStartTime: "2026-11-22T09:00:00Z", contacts: rows(1) }))
      assert.strictEqual(past._tag === "InvalidInput" && past.code, "past_scheduled_time")
    })))

  it.effect("a window that never opens on its working days is refused at creation", () =>
    withEngine({}, monday, Effect.gen(function*() {
      const never = yield* Effect.flip(create({ callingWindow: { start: "09:00", end: "09:00" }, contacts: rows(1) }))
      assert.strictEqual(never._tag === "InvalidInput" && never.code, "invalid_calling_window")
      assert.match(never.message, /never|no length/)
      const zone = yield* Effect.flip(create({ timezone: "Europe/Atlantis", contacts: rows(1) }))
      assert.strictEqual(zone._tag === "InvalidInput" && zone.code, "invalid_timezone")
      const noDays = yield* Effect.flip(create({ workingDays: [], contacts: rows(1) }))
      assert.strictEqual(noDays._tag === "InvalidInput" && noDays.code, "validation_error")
      const store = yield* BatchStore.BatchStore
      assert.strictEqual((yield* store.listBatches(organizationId, { limit: 10, offset: 0 })).total, 0)
    })))

  it.effect("the daily cap counts calls per day in the batch's zone", () => {
    const watcher = makeWatcher({ limit: 5 })
    const deferrals: Array<string> = []
    return withEngine({
      telephony: { instant: true, outcomes: { completed: 1 } },
      onEvent: (event) => {
        watcher.onEvent(event)
        if (event._tag === "BatchDeferred") deferrals.push(`${event.policy} until ${event.until === null ? "never" : DateTime.formatIso(event.until)}`)
      }
    }, Date.UTC(2026, 10, 23, 15, 0), Effect.gen(function*() {
      const created = yield* create({ maxCallsPerDay: 30, timezone: "Asia/Tokyo", contacts: rows(100) })
      yield* TestClock.adjust("4 days")
      const perDay = new Map<string, number>()
      for (const t of watcher.dialTimes) {
        const day = new Date(t + 9 * 3_600_000).toISOString().slice(0, 10)
        perDay.set(day, (perDay.get(day) ?? 0) + 1)
      }
      // 15:00 UTC is already the next day (00:00) in Tokyo.
      assert.deepStrictEqual([...perDay], [["2026-11-24", 30], ["2026-11-25", 30], ["2026-11-26", 30], ["2026-11-27", 10]])
      assert.strictEqual(deferrals[0], "daily_cap until 2026-11-24T15:00:00.000Z")
      assert.strictEqual((yield* statusOf(created.batchJobId)).status, "completed")
    }))
  })

  it.effect("a retry's nextRetryAt is when the chain's batch-wide policies let it be dialed", () =>
    withEngine({ telephony: { instant: true, outcomes: { no_answer: 1 } } }, monday, Effect.gen(function*() {
      // The first call uses up Monday's cap of 1: its retry, due 10 minutes later, waits for Tuesday's window.
      const created = yield* create({
        maxCallsPerDay: 1,
        maxAttempts: 2,
        retryDelay: "PT10M",
        callingWindow: { start: "09:00", end: "17:00" },
        contacts: rows(1)
      })
      yield* TestClock.adjust("1 minute")
      const tuesdayOpening = new Date(monday + 86_400_000).toISOString()
      const [waiting] = (yield* statusOf(created.batchJobId)).contacts
      assert.deepStrictEqual([waiting!.status, waiting!.attemptCount, waiting!.nextRetryAt], ["queued", 1, tuesdayOpening])
      yield* TestClock.adjust("1 day")
      const [done] = (yield* statusOf(created.batchJobId)).contacts
      assert.deepStrictEqual([done!.status, done!.attemptCount, done!.lastAttemptAt], ["no_answer", 2, tuesdayOpening])
    })))

  it.effect("a retry inside the window and under the cap keeps the policy's delay", () =>
    withEngine({ telephony: { instant: true, outcomes: { no_answer: 1 } } }, monday, Effect.gen(function*() {
      const created = yield* create({ maxCallsPerDay: 10, maxAttempts: 2, retryDelay: "PT10M", contacts: rows(1) })
      yield* TestClock.adjust("1 minute")
      const [contact] = (yield* statusOf(created.batchJobId)).contacts
      assert.strictEqual(contact!.nextRetryAt, new Date(monday + 600_000).toISOString())
    })))

  it.effect("a host's pre-dial check skips or defers a contact, with its reason on the contact", () => {
    const crm = Eligibility.preDialCheck("crm", (contact, _batch, now) =>
      Effect.succeed(
        contact.customFields.stage === "converted"
          ? Eligibility.skip("lead already converted")
          : contact.customFields.stage === "later" && contact.attemptCount === 0 && contact.lastDecision?.kind !== "defer"
          ? Eligibility.defer(now + 3_600_000, "asked to be called in an hour")
          : Eligibility.dial
      ))
    const decisions: Array<string> = []
    return withEngine({
      telephony: { instant: true, outcomes: { completed: 1 } },
      config: { policies: [crm] },
      onEvent: (event) => {
        if (event._tag === "ContactChanged" && event.contact.lastDecision !== null && event.attempt === null) {
          decisions.push(`${event.contact.row}:${event.contact.lastDecision.kind}:${event.contact.lastDecision.reason}`)
        }
      }
    }, monday, Effect.gen(function*() {
      const contacts = rows(3).map((row, i) => ({ ...row, stage: ["converted", "later", "open"][i] }))
      const created = yield* create({ contacts })
      yield* TestClock.adjust("30 minutes")
      const midway = yield* statusOf(created.batchJobId)
      const byRow = new Map(midway.contacts.map((c) => [c.row, c]))
      assert.strictEqual(byRow.get(1)!.status, "skipped")
      assert.deepStrictEqual(
        { kind: byRow.get(1)!.lastDecision!.kind, policy: byRow.get(1)!.lastDecision!.policy, reason: byRow.get(1)!.lastDecision!.reason },
        { kind: "skip", policy: "crm", reason: "lead already converted" }
      )
      assert.strictEqual(byRow.get(2)!.status, "pending")
      assert.strictEqual(byRow.get(2)!.nextRetryAt, new Date(monday + 3_600_000).toISOString())
      assert.strictEqual(byRow.get(3)!.status, "completed")
      assert.strictEqual(byRow.get(3)!.lastDecision!.kind, "dial")
      assert.match(byRow.get(3)!.lastDecision!.reason, /calling_window, daily_cap, crm/)
      yield* TestClock.adjust("1 hour")
      const done = yield* statusOf(created.batchJobId)
      assert.strictEqual(done.status, "completed")
      assert.deepStrictEqual(decisions, ["1:skip:lead already converted", "2:defer:asked to be called in an hour"])
    }))
  })

  it.effect("running out of credits pauses the batch with a reason", () => {
    let balance = 100
    const credits = Layer.succeed(Credits.Credits)({
      pricePerMinute: () => Effect.succeed(0.1),
      balance: () => Effect.sync(() => balance)
    })
    return withEngine({ telephony: minuteCalls, credits }, monday, Effect.gen(function*() {
      const created = yield* create({ concurrentCallLimit: 2, contacts: rows(20) })
      yield* TestClock.adjust("3 minutes")
      balance = 0
      yield* TestClock.adjust("3 minutes")
      const batch = yield* statusOf(created.batchJobId)
      assert.strictEqual(batch.status, "paused")
      assert.match(batch.statusReason ?? "", /credits/)
      assert.strictEqual(batch.progress.statusBreakdown.dialing, 0)
      const refused = yield* Effect.flip(create({ contacts: rows(5) }))
      assert.strictEqual(refused._tag, "InsufficientCredits")
    }))
  })

  it.effect("a process whose write outlived most of its lease does not place the call, and dials it later exactly once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(monday)
      // A shared store whose first beginAttempt hangs (a GC pause, a stalled connection) past 3/4 of the lease.
      let stalled = false
      let begun = 0
      const slowStore = Layer.effect(BatchStore.BatchStore)(Effect.gen(function*() {
        const inner = yield* BatchStore.BatchStore
        return {
          ...inner,
          beginAttempt: (lease, attempt) =>
            Effect.gen(function*() {
              const result = yield* inner.beginAttempt(lease, attempt)
              begun++
              if (!stalled) {
                stalled = true
                yield* Effect.sleep("25 seconds")
              }
              return result
            }),
          // The dispatcher begins a step's attempts with one batched write where the store offers it.
          beginAttempts: (lease, attempts) =>
            Effect.gen(function*() {
              const results = yield* inner.beginAttempts!(lease, attempts)
              begun += results.length
              if (!stalled) {
                stalled = true
                yield* Effect.sleep("25 seconds")
              }
              return results
            })
        } satisfies BatchStore.BatchStore["Service"]
      })).pipe(Layer.provide(sharedMemoryStore))
      const shared = yield* Layer.build(ports({ store: slowStore, telephony: minuteCalls }))
      const live = yield* Layer.build(engineOnly({ ownerId: "process-a", leaseTtlMillis: 30_000 })).pipe(Effect.provideContext(shared))
      // Not `create`: settling would wait for the stalled write.
      const created = yield* Engine.Engine.use((engine) =>
        engine.createBatch(organizationId, { name: "Test batch", agentId: "agent_sales", concurrentCallLimit: 1, contacts: rows(3) })
      ).pipe(Effect.provideContext(live))
      for (let second = 0; second < 30; second++) yield* TestClock.adjust("1 second")
      const telephony = Context.get(shared, SimulatedTelephony.SimulatedTelephony)
      yield* TestClock.adjust("10 minutes")
      const batch = yield* Effect.provideContext(statusOf(created.batchJobId), live)
      assert.strictEqual(batch.status, "completed")
      const calls = yield* telephony.calls
      // The stalled attempt was undone, not dialed: the first call went out after the stall, as attempt 1.
      assert.deepStrictEqual(calls.map((c) => c.request.attemptNumber), [1, 1, 1])
      assert.isAtLeast(calls[0]!.startedAt, monday + 25_000)
      assert.strictEqual(begun, 4, "one attempt begun, undone, and begun again")
      assert.strictEqual(new Set(calls.map((c) => c.request.contactId)).size, 3)
      assert.strictEqual(yield* telephony.duplicateDials, 0)
    }).pipe(Effect.scoped))

  it.effect("closing the dispatcher interrupts its calls in flight, and only those", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(monday)
      // Calls that never end by themselves: only the dispatcher closing stops their fibers.
      let dialed = 0
      let interrupted = 0
      const hanging = Layer.succeed(Telephony.Telephony)({
        dial: () =>
          Effect.suspend(() => {
            dialed++
            return Effect.never
          }).pipe(Effect.onInterrupt(() =>
            Effect.sync(() => {
              interrupted++
            })
          )),
        lookup: () => Effect.succeed({ _tag: "InProgress" } as const)
      })
      const shared = yield* Layer.build(Layer.merge(ports(), hanging))
      const scope = yield* Scope.make()
      const live = yield* Layer.buildWithScope(engineOnly(), scope).pipe(Effect.provideContext(shared))
      yield* Effect.provideContext(create({ concurrentCallLimit: 3, contacts: rows(10) }), live)
      assert.strictEqual(dialed, 3)
      assert.strictEqual(interrupted, 0)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(interrupted, 3)
      assert.strictEqual(dialed, 3, "no call is placed once the dispatcher has closed")
    }).pipe(Effect.scoped))

  it.effect("a process taking over a batch asks the provider about open attempts and never dials one twice", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(monday)
      const shared = yield* Layer.build(ports({ store: sharedMemoryStore, telephony: { ...minuteCalls, talkSeconds: { min: 30, max: 90 } } }))
      const first = yield* Scope.make()
      const a = yield* Layer.buildWithScope(engineOnly({ ownerId: "process-a" }), first).pipe(Effect.provideContext(shared))
      const created = yield* Effect.provideContext(create({ concurrentCallLimit: 5, contacts: rows(40) }), a)
      yield* TestClock.adjust("100 seconds")
      // Process A dies with calls in flight; its lease runs out.
      yield* Scope.close(first, Exit.void)
      const telephony = Context.get(shared, SimulatedTelephony.SimulatedTelephony)
      const placedBefore = (yield* telephony.stats).placed
      assert.isAbove(placedBefore, 5)
      const second = yield* Scope.make()
      const b = yield* Layer.buildWithScope(engineOnly({ ownerId: "process-b" }), second).pipe(Effect.provideContext(shared))
      yield* TestClock.adjust("1 hour")
      const batch = yield* Effect.provideContext(statusOf(created.batchJobId), b)
      assert.strictEqual(batch.status, "completed")
      assert.strictEqual(batch.progress.successfulCalls, 40)
      const calls = yield* telephony.calls
      assert.strictEqual(new Set(calls.map((c) => c.request.attemptId)).size, calls.length)
      assert.strictEqual(calls.length, 40)
      assert.strictEqual(yield* telephony.duplicateDials, 0)
      yield* Scope.close(second, Exit.void)
    }).pipe(Effect.scoped))
})
