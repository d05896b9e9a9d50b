/**
 * The conformance suite of the `Telephony` port: what the dispatcher relies
 * on from any provider adapter, checked against that adapter's layer (over a
 * fake or sandbox of the provider). A call's outcome is the provider's
 * business; the suite checks the contract around it: results the engine can
 * store, attempts told apart by their id, `lookup` agreeing with `dial`, and
 * failures that are typed, never defects.
 *
 * ```ts
 * import { TelephonySuite } from "@outdial/testing"
 *
 * TelephonySuite.run("MyTelephony", MyTelephony.layer(sandbox), {
 *   unreachable: MyTelephony.layer({ ...sandbox, url: "http://127.0.0.1:9" })
 * })
 * ```
 *
 * The suite runs on the real clock: a provider's calls take real time.
 *
 * @since 0.1.0
 */
import { assert, describe, layer } from "@effect/vitest"
import { CallResult, type DialRequest, Telephony } from "@outdial/core/Telephony"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { uniqueId } from "./StoreFixtures.ts"

/**
 * Options of `run`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The request of an attempt, for numbers and agents the provider under
   * test accepts. A request of fixed test values unless set.
   */
  readonly request?: ((attemptId: string) => DialRequest) | undefined
  /**
   * The same adapter pointed at a provider it cannot reach; when given, the
   * suite checks that failures stay typed.
   */
  readonly unreachable?: Layer.Layer<Telephony, unknown> | undefined
  /** How long building the layer and each test may take; 30 seconds unless set. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * A request of fixed test values for `attemptId`.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const request = (attemptId: string): DialRequest => ({
  attemptId,
  organizationId: "org_suite",
  batchId: "batch_suite",
  contactId: `contact_${attemptId}`,
  attemptNumber: 1,
  agentId: "agent_suite",
  callerNumberId: "num_suite",
  callerNumber: "+12025550100",
  to: "+12025550123",
  contactName: "Ada Lovelace",
  dynamicVariables: { plan: "pro" }
})

const isCallResult = Schema.is(CallResult)

/**
 * Declares the suite: a `describe(name)` of tests sharing one provider built
 * from `telephony`.
 *
 * @since 0.1.0
 * @category suite
 */
export const run = <E>(name: string, telephony: Layer.Layer<Telephony, E>, options: Options = {}): void => {
  const requestOf = options.request ?? request
  const timeout = options.timeout ?? "30 seconds"
  // Real time: a provider behind a socket does not follow TestClock.
  layer(telephony, { timeout, excludeTestServices: true })(name, (it) => {
    it.effect("an attempt never dialed is not found", () =>
      Effect.gen(function*() {
        const status = yield* (yield* Telephony).lookup(uniqueId("attempt"))
        assert.strictEqual(status._tag, "NotFound")
      }))

    it.effect("a dial ends with a result the engine can store", () =>
      Effect.gen(function*() {
        const result = yield* (yield* Telephony).dial(requestOf(uniqueId("attempt")))
        assert.isTrue(isCallResult(result), `a CallResult: ${JSON.stringify(result)}`)
        if (result.outcome === "completed") assert.isNull(result.sipCode, "a completed call has no SIP failure code")
      }))

    it.effect("once a dial has ended, lookup tells the same result", () =>
      Effect.gen(function*() {
        const provider = yield* Telephony
        const attemptId = uniqueId("attempt")
        const result = yield* provider.dial(requestOf(attemptId))
        const status = yield* provider.lookup(attemptId)
        assert.strictEqual(status._tag, "Finished")
        if (status._tag === "Finished") assert.deepStrictEqual(status.result, result)
      }))

    it.effect("attempts dialed side by side each end, and each is looked up by its own id", () =>
      Effect.gen(function*() {
        const provider = yield* Telephony
        const attemptIds = Array.from({ length: 5 }, () => uniqueId("attempt"))
        const results = yield* Effect.forEach(attemptIds, (id) => provider.dial(requestOf(id)), { concurrency: "unbounded" })
        for (const [i, attemptId] of attemptIds.entries()) {
          assert.isTrue(isCallResult(results[i]))
          const status = yield* provider.lookup(attemptId)
          assert.strictEqual(status._tag, "Finished")
          if (status._tag === "Finished") assert.deepStrictEqual(status.result, results[i])
        }
      }))

    it.effect("a request without a contact name or variables is placed", () =>
      Effect.gen(function*() {
        const attemptId = uniqueId("attempt")
        const result = yield* (yield* Telephony).dial({
          ...requestOf(attemptId),
          contactName: null,
          dynamicVariables: {}
        })
        assert.isTrue(isCallResult(result))
      }))
  })

  const unreachable = options.unreachable
  if (unreachable !== undefined) {
    describe(`${name}, provider unreachable`, () => {
      layer(unreachable, { timeout, excludeTestServices: true })((it) => {
        it.effect("a dial fails with a TelephonyError or ends uncompleted, never with a defect", () =>
          Effect.gen(function*() {
            const exit = yield* Effect.exit((yield* Telephony).dial(requestOf(uniqueId("attempt"))))
            if (Exit.isSuccess(exit)) {
              assert.isTrue(isCallResult(exit.value))
              assert.notStrictEqual(exit.value.outcome, "completed")
            } else {
              const error = Exit.findErrorOption(exit)
              assert.isTrue(error._tag === "Some" && error.value._tag === "TelephonyError", `a typed failure: ${exit.cause}`)
            }
          }))

        it.effect("a lookup fails with a TelephonyError, never with a defect", () =>
          Effect.gen(function*() {
            const exit = yield* Effect.exit((yield* Telephony).lookup(uniqueId("attempt")))
            assert.isTrue(Exit.isFailure(exit), "an unreachable provider cannot say an attempt is unknown")
            const error = Exit.findErrorOption(exit)
            assert.isTrue(error._tag === "Some" && error.value._tag === "TelephonyError", `a typed failure: ${exit}`)
          }))
      })
    })
  }
}
