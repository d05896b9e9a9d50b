import { describe, expect, it } from "@effect/vitest"
import * as Estimate from "@outdial/core/Estimate"

describe("Estimate", () => {
  it("spreads line time over the concurrency", () => {
    const result = Estimate.estimate({
      contacts: 100,
      concurrentCallLimit: 5,
      openMinutesPerWeek: 10_080,
      pricePerMinute: 0.1,
      averageCallSeconds: 120,
      attemptsPerContact: 1,
      dialOverheadSeconds: 0
    })
    // 100 calls of 2 minutes on 5 lines: 40 minutes; 200 billed minutes at $0.10.
    expect(result.durationSeconds).toBe(2_400)
    expect(result.estimatedDuration).toBe("about 40 minutes")
    expect(result.estimatedCost).toBe("$20.00")
  })

  it("stretches the duration by the share of the week the window is open", () => {
    const always = Estimate.estimate({ contacts: 1_000, concurrentCallLimit: 10, openMinutesPerWeek: 10_080, pricePerMinute: 0.1 })
    const officeHours = Estimate.estimate({ contacts: 1_000, concurrentCallLimit: 10, openMinutesPerWeek: 5 * 8 * 60, pricePerMinute: 0.1 })
    expect(officeHours.durationSeconds / always.durationSeconds).toBeCloseTo(10_080 / 2_400)
    expect(officeHours.estimatedCost).toBe(always.estimatedCost)
  })

  it("writes durations as their two largest units", () => {
    expect(Estimate.humanDuration(20)).toBe("less than a minute")
    expect(Estimate.humanDuration(60)).toBe("about 1 minute")
    expect(Estimate.humanDuration(3_600 + 20 * 60)).toBe("about 1 hour 20 minutes")
    expect(Estimate.humanDuration(2 * 86_400 + 4 * 3_600 + 59)).toBe("about 2 days 4 hours")
    expect(Estimate.humanDuration(86_400 + 30 * 60)).toBe("about 1 day")
    expect(Estimate.humanDuration(Number.POSITIVE_INFINITY)).toMatch(/never/)
  })

  it("formats USD with cents and thousands", () => {
    expect(Estimate.usd(0)).toBe("$0.00")
    expect(Estimate.usd(1234.5)).toBe("$1,234.50")
  })
})
