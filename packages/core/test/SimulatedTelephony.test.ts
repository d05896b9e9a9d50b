import { assert, describe, it } from "@effect/vitest"
import { TelephonySuite } from "@outdial/testing"
import { Clock, Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import type { CallOutcome } from "../src/CallOutcome.ts"
import * as SimulatedTelephony from "../src/SimulatedTelephony.ts"
import { type CallResult, type DialRequest, Telephony, TelephonyError } from "../src/Telephony.ts"

const request = (attemptId: string, overrides: Partial<DialRequest> = {}): DialRequest => ({
  attemptId,
  organizationId: "org",
  batchId: "b1",
  contactId: attemptId,
  attemptNumber: 1,
  agentId: "agent",
  callerNumberId: "n1",
  callerNumber: "+14155550100",
  to: "+14155550199",
  contactName: null,
  dynamicVariables: {},
  ...overrides
})

/** Runs `body` against a fresh simulated provider. */
const withSim = <A, E>(
  options: SimulatedTelephony.Options,
  body: (
    telephony: Telephony["Service"],
    sim: SimulatedTelephony.SimulatedTelephony["Service"]
  ) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    return yield* body(yield* Telephony, yield* SimulatedTelephony.SimulatedTelephony)
  }).pipe(Effect.provide(SimulatedTelephony.layer(options)))

const ids = (n: number, prefix = "a") => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

/** Lets forked fibers run as far as they can without time passing. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

const talk60: SimulatedTelephony.Options = { outcomes: { completed: 1 }, ringSeconds: 0, talkSeconds: 60 }

describe("SimulatedTelephony", () => {
  it.effect("draws each call from the seed and attempt id alone, whatever the order", () =>
    Effect.gen(function*() {
      const attemptIds = ids(200)
      const dialAll = (order: ReadonlyArray<string>, seed: number) =>
        withSim({ seed, instant: true }, (telephony) =>
          Effect.forEach(order, (id) => telephony.dial(request(id)).pipe(Effect.map((r) => [id, r] as const)))
        ).pipe(Effect.map((pairs) => new Map(pairs)))

      const forward = yield* dialAll(attemptIds, 7)
      const backward = yield* dialAll([...attemptIds].reverse(), 7)
      const interleaved = yield* withSim({ seed: 7, instant: true }, (telephony) =>
        Effect.forEach(attemptIds, (id) => telephony.dial(request(id)).pipe(Effect.map((r) => [id, r] as const)), {
          concurrency: 16
        })
      ).pipe(Effect.map((pairs) => new Map(pairs)))
      for (const id of attemptIds) {
        assert.deepStrictEqual(backward.get(id), forward.get(id))
        assert.deepStrictEqual(interleaved.get(id), forward.get(id))
        assert.deepStrictEqual(SimulatedTelephony.simulate(request(id), { seed: 7 }).result, forward.get(id))
      }

      const otherSeed = yield* dialAll(attemptIds, 8)
      const differing = attemptIds.filter((id) => otherSeed.get(id)!.outcome !== forward.get(id)!.outcome)
      assert.isAbove(differing.length, 20)
    }))

  it.effect("roughly follows the outcome distribution", () =>
    Effect.gen(function*() {
      const share = (options: SimulatedTelephony.Options) =>
        withSim({ ...options, instant: true, record: false }, (telephony, sim) =>
          Effect.gen(function*() {
            for (const id of ids(5000)) yield* telephony.dial(request(id))
            const { outcomes, finished } = yield* sim.stats
            assert.strictEqual(finished, 5000)
            return (outcome: CallOutcome) => outcomes[outcome] / 5000
          }))

      const byDefault = yield* share({})
      assert.approximately(byDefault("completed"), 0.6, 0.04)
      assert.approximately(byDefault("no_answer"), 0.25, 0.04)
      assert.approximately(byDefault("busy"), 0.08, 0.025)

      const custom = yield* share({ outcomes: { completed: 7, no_answer: 3 }, seed: 99 })
      assert.approximately(custom("completed"), 0.7, 0.04)
      assert.approximately(custom("completed") + custom("no_answer"), 1, 1e-9)
    }))

  const sequences: SimulatedTelephony.Options = {
    instant: true,
    byNumber: { "+15550001": ["busy", "busy", "completed"], "+15550002": "invalid_number" }
  }

  it.effect("plays a number's outcome sequence by attempt number, the last repeating", () =>
    withSim(sequences, (telephony) =>
      Effect.gen(function*() {
        const outcomes: Array<CallOutcome> = []
        for (const attemptNumber of [1, 2, 3, 4]) {
          const result = yield* telephony.dial(request(`seq_${attemptNumber}`, { to: "+15550001", attemptNumber }))
          outcomes.push(result.outcome)
        }
        assert.deepStrictEqual(outcomes, ["busy", "busy", "completed", "completed"])
        const fixed = yield* telephony.dial(request("fixed", { to: "+15550002", attemptNumber: 2 }))
        assert.strictEqual(fixed.outcome, "invalid_number")
      })))

  it.effect("reports SIP codes, durations and reasons like a provider", () =>
    Effect.gen(function*() {
      const expected: ReadonlyArray<readonly [CallOutcome, number | null]> = [
        ["completed", null],
        ["no_answer", 480],
        ["busy", 486],
        ["timeout", 408],
        ["blocked", 603],
        ["invalid_number", 404],
        ["carrier_error", 503],
        ["failed", 500]
      ]
      const results = yield* withSim(
        {
          instant: true,
          talkSeconds: { min: 30, max: 40 },
          byNumber: Object.fromEntries(expected.map(([outcome]) => [`+1${outcome}`, outcome]))
        },
        (telephony) =>
          Effect.forEach(expected, ([outcome]) => telephony.dial(request(`x_${outcome}`, { to: `+1${outcome}` })))
      )
      results.forEach((result: CallResult, i) => {
        const [outcome, sipCode] = expected[i]!
        assert.strictEqual(result.outcome, outcome)
        assert.strictEqual(result.sipCode, sipCode)
        assert.strictEqual(result.roomName, `outdial-x_${outcome}`)
        if (outcome === "completed") {
          assert.isTrue(result.duration! >= 30 && result.duration! <= 40)
          assert.isNull(result.failureReason)
        } else {
          assert.isNull(result.duration)
          assert.isString(result.failureReason)
        }
      })
    }))

  it.effect("rings and talks on the Clock, so only TestClock moves a call along", () =>
    withSim(talk60, (telephony, sim) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(telephony.dial(request("t1")))
        yield* settle
        assert.deepStrictEqual(yield* telephony.lookup("t1"), { _tag: "InProgress" })

        yield* TestClock.adjust("30 seconds")
        assert.deepStrictEqual(yield* telephony.lookup("t1"), { _tag: "InProgress" })
        assert.isUndefined(fiber.pollUnsafe())
        assert.strictEqual(yield* sim.inFlight, 1)

        yield* TestClock.adjust("60 seconds")
        const result = yield* Fiber.join(fiber)
        assert.strictEqual(result.duration, 60)
        assert.deepStrictEqual(yield* telephony.lookup("t1"), { _tag: "Finished", result })
        const [call] = yield* sim.calls
        assert.strictEqual(call!.endedAt! - call!.startedAt, 60_000)
        assert.strictEqual(yield* sim.inFlight, 0)
      })))

  it.effect("rings unanswered calls for the longest ring time", () =>
    withSim({ outcomes: { no_answer: 1 }, ringSeconds: { min: 5, max: 30 } }, (telephony) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(telephony.dial(request("n1")))
        yield* TestClock.adjust("29 seconds")
        assert.deepStrictEqual(yield* telephony.lookup("n1"), { _tag: "InProgress" })
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* Fiber.join(fiber)).outcome, "no_answer")
      })))

  it.effect("keeps a call going when its dialer is interrupted", () =>
    withSim(talk60, (telephony, sim) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(telephony.dial(request("crash")))
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(yield* telephony.lookup("crash"), { _tag: "InProgress" })

        yield* TestClock.adjust("60 seconds")
        const status = yield* telephony.lookup("crash")
        assert.strictEqual(status._tag, "Finished")
        assert.strictEqual(status._tag === "Finished" && status.result.outcome, "completed")
        assert.strictEqual((yield* sim.stats).finished, 1)
      })))

  it.effect("answers a duplicate dial with the existing call instead of placing another", () =>
    withSim(talk60, (telephony, sim) =>
      Effect.gen(function*() {
        const first = yield* Effect.forkChild(telephony.dial(request("dup")))
        yield* TestClock.adjust("5 seconds")
        const second = yield* Effect.forkChild(telephony.dial(request("dup")))
        yield* TestClock.adjust("60 seconds")
        const [a, b] = [yield* Fiber.join(first), yield* Fiber.join(second)]
        assert.deepStrictEqual(a, b)

        const again = yield* telephony.dial(request("dup"))
        assert.deepStrictEqual(again, a)
        const stats = yield* sim.stats
        assert.strictEqual(stats.placed, 1)
        assert.strictEqual(stats.duplicateDials, 2)
        assert.strictEqual((yield* sim.calls).length, 1)
        assert.strictEqual(yield* sim.maxInFlight, 1)
      })))

  it.effect("lookup knows nothing of attempts never dialed", () =>
    withSim({}, (telephony) =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* telephony.lookup("never"), { _tag: "NotFound" })
      })))

  it.effect("injects provider failures as TelephonyError, placing no call", () =>
    Effect.gen(function*() {
      const refused = yield* withSim({ failureRate: 1, instant: true }, (telephony, sim) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(telephony.dial(request("f1")))
          assert.deepStrictEqual(yield* telephony.lookup("f1"), { _tag: "NotFound" })
          const stats = yield* sim.stats
          assert.strictEqual(stats.refusedDials, 1)
          assert.strictEqual(stats.placed, 0)
          return error
        }))
      assert.instanceOf(refused, TelephonyError)

      const someRefused = yield* withSim({ failureRate: 0.2, instant: true }, (telephony) =>
        Effect.forEach(ids(1000), (id) => Effect.exit(telephony.dial(request(id))))
      ).pipe(Effect.map((exits) => exits.filter(Exit.isFailure).length))
      assert.isTrue(someRefused > 120 && someRefused < 280, String(someRefused))

      yield* withSim(
        {
          instant: true,
          failWhen: (r) => r.to === "+19990000000",
          lookupFailWhen: (id) => id === "unlucky"
        },
        (telephony) =>
          Effect.gen(function*() {
            assert.instanceOf(
              yield* Effect.flip(telephony.dial(request("w1", { to: "+19990000000" }))),
              TelephonyError
            )
            assert.strictEqual((yield* telephony.dial(request("w2"))).roomName, "outdial-w2")
            assert.instanceOf(yield* Effect.flip(telephony.lookup("unlucky")), TelephonyError)
          })
      )
    }))

  it.effect("fails dials and lookups while the provider is unreachable", () =>
    withSim({ instant: true }, (telephony, sim) =>
      Effect.gen(function*() {
        yield* telephony.dial(request("u1"))
        yield* sim.setUnreachable(true)
        assert.instanceOf(yield* Effect.flip(telephony.dial(request("u2"))), TelephonyError)
        assert.instanceOf(yield* Effect.flip(telephony.lookup("u1")), TelephonyError)
        yield* sim.setUnreachable(false)
        assert.strictEqual((yield* telephony.lookup("u1"))._tag, "Finished")
        assert.strictEqual((yield* telephony.dial(request("u2"))).roomName, "outdial-u2")
      })))

  it.effect("in instant mode answers at once, without time passing", () =>
    withSim({ instant: true, ringSeconds: 30, talkSeconds: 600 }, (telephony, sim) =>
      Effect.gen(function*() {
        const before = yield* Clock.currentTimeMillis
        const fiber = yield* Effect.forkChild(telephony.dial(request("i1")))
        yield* settle
        assert.isDefined(fiber.pollUnsafe())
        assert.strictEqual(yield* Clock.currentTimeMillis, before)
        assert.strictEqual((yield* telephony.lookup("i1"))._tag, "Finished")
        assert.strictEqual(yield* sim.inFlight, 0)
      })))

  it.effect("tracks calls in flight, overall and per batch", () =>
    withSim(talk60, (telephony, sim) =>
      Effect.gen(function*() {
        const requests = [
          ...ids(5, "x").map((id) => request(id, { batchId: "b1" })),
          ...ids(3, "y").map((id) => request(id, { batchId: "b2" }))
        ]
        const fibers = yield* Effect.forEach(requests, (r) => Effect.forkChild(telephony.dial(r)))
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* sim.inFlight, 8)
        assert.strictEqual(yield* sim.inFlightOf("b1"), 5)
        assert.strictEqual(yield* sim.inFlightOf("b2"), 3)

        yield* TestClock.adjust("60 seconds")
        yield* Fiber.joinAll(fibers)
        assert.strictEqual(yield* sim.inFlight, 0)
        assert.strictEqual(yield* sim.maxInFlight, 8)
        assert.strictEqual(yield* sim.maxInFlightOf("b1"), 5)
        assert.strictEqual(yield* sim.maxInFlightOf("b2"), 3)
        assert.strictEqual(yield* sim.maxInFlightOf("b3"), 0)

        yield* sim.reset
        assert.strictEqual(yield* sim.maxInFlight, 0)
        assert.strictEqual((yield* sim.calls).length, 0)
        assert.strictEqual((yield* telephony.lookup("x0"))._tag, "Finished")
      })))

  it.effect("records nothing but counters when recording is off", () =>
    withSim({ instant: true, record: false }, (telephony, sim) =>
      Effect.gen(function*() {
        yield* telephony.dial(request("r1"))
        assert.strictEqual((yield* sim.calls).length, 0)
        assert.strictEqual((yield* sim.stats).placed, 1)
        assert.strictEqual((yield* telephony.lookup("r1"))._tag, "Finished")
      })))

  it.effect("refuses invalid options when the layer is built", () =>
    Effect.gen(function*() {
      const bad: ReadonlyArray<SimulatedTelephony.Options> = [
        { outcomes: { completed: -1 } },
        { outcomes: {} },
        { ringSeconds: { min: 10, max: 5 } },
        { failureRate: 2 },
        { byNumber: { "+1": [] } }
      ]
      for (const options of bad) {
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(SimulatedTelephony.layer(options))))
        assert.isTrue(Exit.hasDies(exit), JSON.stringify(options))
      }
    }))
})

// The provider-agnostic Telephony contract, as any adapter runs it.
TelephonySuite.run("SimulatedTelephony: Telephony conformance", SimulatedTelephony.layer({ instant: true }), {
  unreachable: SimulatedTelephony.layer({ instant: true, failureRate: 1, lookupFailWhen: () => true })
})
