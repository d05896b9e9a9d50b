/**
 * The estimate shown before a batch is created, with the engine's own
 * formula (`@outdial/core/Estimate`, bundled in) at the engine's default
 * price: the create's answer carries the host's real figures.
 */
import { estimate } from "@outdial/core/Estimate"
import type { Window } from "./model.ts"

export const defaultPricePerMinute = 0.1

const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(":").map(Number)
  return (h ?? 0) * 60 + (m ?? 0)
}

/** Minutes a week the windows are open on the working days; a window ending before it starts runs past midnight. */
export const openMinutesPerWeek = (windows: ReadonlyArray<Window>, workingDays: ReadonlyArray<number>): number => {
  const perDay = windows.length === 0
    ? 24 * 60
    : Math.min(24 * 60, windows.reduce((sum, w) => {
      const start = minutesOf(w.start)
      const end = minutesOf(w.end)
      return sum + (end > start ? end - start : end === start ? 0 : 24 * 60 - start + end)
    }, 0))
  return perDay * workingDays.length
}

export interface Forecast {
  readonly duration: string
  readonly cost: string
  readonly problems: ReadonlyArray<string>
}

export const forecast = (input: {
  contacts: number
  concurrentCallLimit: number
  windows: ReadonlyArray<Window>
  workingDays: ReadonlyArray<number>
  maxCallsPerDay: number | null
  maxAttempts: number
  startAt: string | null
}): Forecast => {
  const open = openMinutesPerWeek(input.windows, input.workingDays)
  const problems: Array<string> = []
  if (input.contacts === 0) problems.push("No contact is accepted yet.")
  if (open === 0) problems.push("The calling windows never open on the working days: nothing would be dialed.")
  if (input.startAt !== null && new Date(input.startAt).getTime() < Date.now()) {
    problems.push("The start time is in the past: the batch would start at once.")
  }
  const result = estimate({
    contacts: input.contacts,
    concurrentCallLimit: Math.max(1, input.concurrentCallLimit),
    openMinutesPerWeek: open,
    pricePerMinute: defaultPricePerMinute,
    attemptsPerContact: input.maxAttempts === 1 ? 1 : undefined
  })
  let duration = result.estimatedDuration
  if (input.maxCallsPerDay !== null && input.maxCallsPerDay > 0) {
    const daysNeeded = Math.ceil((input.contacts * Math.min(input.maxAttempts, 1.3)) / input.maxCallsPerDay)
    if (daysNeeded * 86_400 > result.durationSeconds) {
      duration = `about ${daysNeeded} day${daysNeeded === 1 ? "" : "s"} (the daily cap of ${input.maxCallsPerDay} calls sets the pace)`
    }
  }
  return { duration, cost: result.estimatedCost, problems }
}
