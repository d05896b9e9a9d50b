import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as RetryPolicy from "../src/RetryPolicy.ts"

const decodeDelay = Schema.decodeUnknownResult(RetryPolicy.RetryDelayInput)
const build = (input: Parameters<typeof RetryPolicy.fromInput>[0]) => Result.getOrThrow(RetryPolicy.fromInput(input))

describe("RetryPolicy", () => {
  it("defaults to three attempts 30 minutes apart", () => {
    const policy = build({})
    assert.strictEqual(policy.maxAttempts, 3)
    assert.strictEqual(RetryPolicy.delayAfter(policy, "busy", 1), 1800)
    assert.deepStrictEqual(policy.retryableOutcomes, ["no_answer", "busy", "timeout", "carrier_error", "failed"])
  })

  it("reads ISO-8601 durations and seconds", () => {
    assert.strictEqual(RetryPolicy.delayToSeconds("PT30M"), 1800)
    assert.strictEqual(RetryPolicy.delayToSeconds("P1DT2H"), 93_600)
    assert.strictEqual(RetryPolicy.delayToSeconds("P1W"), 604_800)
    assert.strictEqual(RetryPolicy.delayToSeconds("PT1.5S"), 1.5)
    assert.strictEqual(RetryPolicy.delayToSeconds(0), 0)
  })

  it("refuses malformed and open-ended durations", () => {
    for (const bad of ["P", "PT", "30m", "P1Y", "P1M", "-PT5M", "PT5M ", -1]) {
      assert.isTrue(Result.isFailure(decodeDelay(bad)), String(bad))
    }
  })

  it("takes a delay per outcome with a default", () => {
    const policy = build({ retryDelay: { default: "PT30M", busy: "PT5M", no_answer: "PT2H" } })
    assert.strictEqual(RetryPolicy.delayAfter(policy, "busy", 1), 300)
    assert.strictEqual(RetryPolicy.delayAfter(policy, "no_answer", 2), 7200)
    assert.strictEqual(RetryPolicy.delayAfter(policy, "timeout", 1), 1800)
  })

  it("escalates, repeating the last interval", () => {
    const policy = build({ maxAttempts: 5, retryDelay: ["PT1M", 600, "PT1H"] })
    assert.deepStrictEqual([1, 2, 3, 4].map((n) => RetryPolicy.delayAfter(policy, "failed", n)), [60, 600, 3600, 3600])
  })

  it("retries only retryable outcomes with attempts left", () => {
    const policy = build({ maxAttempts: 2 })
    assert.isTrue(RetryPolicy.shouldRetry(policy, "no_answer", 1))
    assert.isFalse(RetryPolicy.shouldRetry(policy, "no_answer", 2))
    assert.isFalse(RetryPolicy.shouldRetry(policy, "invalid_number", 1))
    assert.isFalse(RetryPolicy.shouldRetry(policy, "blocked", 1))
    assert.isFalse(RetryPolicy.shouldRetry(policy, "completed", 1))
  })

  it("refuses to retry outcomes that never change", () => {
    const result = RetryPolicy.fromInput({ retryableOutcomes: ["busy", "invalid_number"] })
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.strictEqual(result.failure.code, "validation_error")
      assert.strictEqual(result.failure.field, "retryableOutcomes")
    }
  })
})
