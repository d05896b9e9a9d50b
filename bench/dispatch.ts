/**
 * How fast the dispatcher dials, and how fast a week of calling windows
 * simulates, on the in-memory store with simulated calls.
 *
 * (a) The 10,000-contact scenario of the engine tests (limit 20, 30 % no
 *     answer, 3 attempts, 20-minute retry delay, 09:00–17:00 Europe/Berlin
 *     Monday to Friday) with instant calls: dials per second of wall time,
 *     and CPU microseconds per dial.
 * (b) 100,000 contacts, limit 100, calls that ring and talk for realistic
 *     times: the wall time to simulate one week under TestClock.
 * (c) (a) again with recipient-local hours 08:00–21:00 on: every contact is
 *     judged in its number's zones before each dial. German numbers in a
 *     Berlin window, so the same calls are placed and only the link's cost
 *     shows: `hoursRatio` is dials/s with the hours on ÷ off.
 *
 * (c) (a) again with every built-in link of the eligibility chain at work:
 *     a do-not-call list of 1,000,000 numbers (1 % of the batch's among
 *     them) and a frequency cap per number for the organization. Its
 *     dials per second over (a)'s is `policyRatio`.
 *
 * The last line is JSON: {"dialsPerSec","cpuMicrosPerDial","simulatedWeekSeconds","policyRatio","hoursRatio"}.
 */
import {
  Credits,
  Directory,
  Dispatcher,
  DoNotCall,
  Engine,
  EngineConfig,
  EngineEvents,
  MemoryBatchStore,
  SimulatedTelephony
} from "@outdial/core"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"

const organizationId = "org_bench"

const directory = Directory.layerStatic({
  agents: [{ id: "agent", organizationId, ready: true, phoneNumberIds: ["num_1", "num_2", "num_3"] }],
  callerNumbers: ["num_1", "num_2", "num_3"].map((id, i) => ({
    id,
    organizationId,
    number: `+1202555010${i}`,
    outboundEnabled: true,
    agentId: "agent"
  }))
})

const engineLayer = (telephony: SimulatedTelephony.Options, config: Partial<EngineConfig.EngineConfig>) =>
  Engine.layer.pipe(
    Layer.provideMerge(Dispatcher.layer),
    Layer.provideMerge(
      Layer.mergeAll(
        MemoryBatchStore.layer,
        DoNotCall.layerMemory(),
        SimulatedTelephony.layer({ ...telephony, record: false }),
        directory,
        Credits.layerUnlimited(),
        EngineEvents.layer({ capacity: 16 })
      )
    ),
    Layer.provide(EngineConfig.layer(config))
  )

/** The links' load of (c): a list of `listed` numbers, every hundredth contact's among them. */
const listNumbers = (listed: number, batchSize: number) =>
  Effect.gen(function*() {
    const list = yield* DoNotCall.DoNotCall
    const at = DateTime.makeUnsafe(yield* Clock.currentTimeMillis)
    const entries: Array<DoNotCall.Entry> = []
    for (let i = 0; i < listed; i++) {
      // Numbers outside the batch's range, but every hundredth of the batch's own.
      const number = i < batchSize / 100 ? `+49151${20_000_000 + i * 100}` : `+1${String(3_000_000_000 + i)}`
      entries.push({ number, source: "import", expiresAt: null, createdAt: at })
    }
    yield* list.add(organizationId, entries)
  })

const contacts = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ phone: `+49151${20_000_000 + i}`, name: `Contact ${i + 1}` }))

const friday0900Berlin = Date.UTC(2026, 2, 27, 8, 0)

/** Runs a batch under TestClock for `simulate` and reports wall time, CPU time and dials placed. */
const run = (options: {
  readonly count: number
  readonly limit: number
  readonly simulate: Duration.Input
  readonly telephony: SimulatedTelephony.Options
  readonly recipientLocalHours?: { readonly start: string; readonly end: string } | undefined
  readonly links?: { readonly doNotCall: number } | undefined
}) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    if (options.links !== undefined) yield* listNumbers(options.links.doNotCall, options.count)
    const input = contacts(options.count)
    const cpuBefore = process.cpuUsage()
    const wallBefore = performance.now()
    const created = yield* engine.createBatch(organizationId, {
      name: "bench",
      agentId: "agent",
      concurrentCallLimit: options.limit,
      maxAttempts: 3,
      retryDelay: "PT20M",
      timezone: "Europe/Berlin",
      callingWindow: { start: "09:00", end: "17:00" },
      workingDays: [1, 2, 3, 4, 5],
      ...(options.recipientLocalHours === undefined ? {} : { recipientLocalHours: options.recipientLocalHours }),
      contacts: input
    })
    const createdAt = performance.now()
    yield* (yield* Dispatcher.Dispatcher).settled
    yield* TestClock.adjust(options.simulate)
    const wall = (performance.now() - wallBefore) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    const stats = yield* (yield* SimulatedTelephony.SimulatedTelephony).stats
    const batch = yield* engine.getBatch(organizationId, created.batchJobId)
    return {
      wallSeconds: wall,
      dialSeconds: (performance.now() - createdAt) / 1000,
      cpuMicros: cpu.user + cpu.system,
      dials: stats.placed,
      status: batch.status,
      processed: batch.progress.contactsProcessed
    }
  }).pipe(
    Effect.provide(engineLayer(options.telephony, {
      maxContacts: options.count,
      ...(options.links === undefined
        ? {}
        : { organizationLimits: () => ({ frequencyCap: { maxAttempts: 3, maxConnected: 1, periodHours: 24 } }) })
    })),
    // The clock is set before the engine starts: moving it later would replay every timer in between.
    (body) => Effect.andThen(TestClock.setTime(friday0900Berlin), body),
    Effect.provide(TestClock.layer())
  )

const main = Effect.gen(function*() {
  // Warm the JIT on a small run first.
  yield* run({ count: 2_000, limit: 20, simulate: "7 days", telephony: { instant: true, outcomes: { completed: 0.7, no_answer: 0.3 } } })

  const instant = yield* run({
    count: 10_000,
    limit: 20,
    simulate: "7 days",
    telephony: { instant: true, seed: 7, outcomes: { completed: 0.7, no_answer: 0.3 } }
  })
  const dialsPerSec = instant.dials / instant.dialSeconds
  const cpuMicrosPerDial = instant.cpuMicros / instant.dials
  console.log(
    `(a) 10,000 contacts, instant calls: ${instant.dials} dials in ${instant.dialSeconds.toFixed(2)} s wall ` +
      `→ ${Math.round(dialsPerSec)} dials/s, ${cpuMicrosPerDial.toFixed(1)} µs CPU per dial (batch ${instant.status})`
  )

  const linked = yield* run({
    count: 10_000,
    limit: 20,
    simulate: "7 days",
    telephony: { instant: true, seed: 7, outcomes: { completed: 0.7, no_answer: 0.3 } },
    links: { doNotCall: 1_000_000 }
  })
  const linkedDialsPerSec = linked.dials / linked.dialSeconds
  console.log(
    `(c) (a) with every built-in link (do-not-call of 1,000,000 numbers, a frequency cap): ${linked.dials} dials in ` +
      `${linked.dialSeconds.toFixed(2)} s wall → ${Math.round(linkedDialsPerSec)} dials/s, ` +
      `${(linkedDialsPerSec / dialsPerSec).toFixed(2)}× (a) (batch ${linked.status})`
  )

  const week = yield* run({
    count: 100_000,
    limit: 100,
    simulate: "7 days",
    telephony: {
      seed: 11,
      outcomes: { completed: 0.6, no_answer: 0.3, busy: 0.1 },
      ringSeconds: { min: 5, max: 30 },
      talkSeconds: { min: 30, max: 150 }
    }
  })
  console.log(
    `(b) 100,000 contacts, limit 100, one simulated week: ${week.dials} calls, ` +
      `${week.processed} contacts final, batch ${week.status}, ${week.wallSeconds.toFixed(2)} s wall`
  )
  const hours = yield* run({
    count: 10_000,
    limit: 20,
    simulate: "7 days",
    telephony: { instant: true, seed: 7, outcomes: { completed: 0.7, no_answer: 0.3 } },
    recipientLocalHours: { start: "08:00", end: "21:00" }
  })
  const hoursDialsPerSec = hours.dials / hours.dialSeconds
  console.log(
    `(c) (a) with recipient-local hours on: ${hours.dials} dials in ${hours.dialSeconds.toFixed(2)} s wall ` +
      `→ ${Math.round(hoursDialsPerSec)} dials/s (batch ${hours.status})`
  )
  console.log(JSON.stringify({
    dialsPerSec: Math.round(dialsPerSec),
    cpuMicrosPerDial: Number(cpuMicrosPerDial.toFixed(2)),
    simulatedWeekSeconds: Number(week.wallSeconds.toFixed(2)),
    hoursRatio: Number((hoursDialsPerSec / dialsPerSec).toFixed(2)),
    policyRatio: Number((linkedDialsPerSec / dialsPerSec).toFixed(2))
  }))
})

Effect.runPromise(main).catch((error) => {
  console.error(error)
  process.exit(1)
})
