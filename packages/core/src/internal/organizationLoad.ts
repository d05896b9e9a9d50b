/**
 * The in-memory store's view across batches, per organization: which
 * attempts went to each number (frequency caps), how many calls are in
 * flight, and when each caller number last started calls (calls per second).
 */
import * as DateTime from "effect/DateTime"
import type * as Attempt from "../Attempt.ts"
import type { Load } from "../CallLimits.ts"
import type { NumberHistory } from "../FrequencyCap.ts"

interface AttemptRef {
  readonly id: string
  readonly startedAt: number
  /** The batch's attempts, where the attempt's latest record (its outcome) is found. */
  readonly attempts: ReadonlyMap<string, Attempt.Attempt>
}

export interface OrganizationLoad {
  readonly begun: (
    organizationId: string,
    phone: string,
    attempt: Attempt.Attempt,
    attempts: ReadonlyMap<string, Attempt.Attempt>
  ) => void
  readonly ended: (organizationId: string) => void
  readonly of: (organizationId: string, callerNumberIds: ReadonlyArray<string>, now: number) => Load
  readonly history: (organizationId: string, numbers: ReadonlyArray<string>, since: number) => ReadonlyMap<string, NumberHistory>
}

const key = (organizationId: string, id: string) => `${organizationId}\u0000${id}`

export const make = (): OrganizationLoad => {
  const byNumber = new Map<string, Array<AttemptRef>>()
  const inFlight = new Map<string, number>()
  const startsByCaller = new Map<string, Array<number>>()
  return {
    begun: (organizationId, phone, attempt, attempts) => {
      const startedAt = DateTime.toEpochMillis(attempt.startedAt)
      const numberKey = key(organizationId, phone)
      const refs = byNumber.get(numberKey)
      const ref = { id: attempt.id, startedAt, attempts }
      if (refs === undefined) byNumber.set(numberKey, [ref])
      else refs.push(ref)
      inFlight.set(organizationId, (inFlight.get(organizationId) ?? 0) + 1)
      const callerKey = key(organizationId, attempt.callerNumberId)
      // Only the last second matters: older starts go as new ones come.
      const starts = (startsByCaller.get(callerKey) ?? []).filter((at) => at > startedAt - 1_000)
      starts.push(startedAt)
      startsByCaller.set(callerKey, starts)
    },
    ended: (organizationId) => {
      inFlight.set(organizationId, Math.max(0, (inFlight.get(organizationId) ?? 0) - 1))
    },
    of: (organizationId, callerNumberIds, now) => ({
      inFlight: inFlight.get(organizationId) ?? 0,
      recentStarts: new Map(callerNumberIds.map((caller) => [
        caller,
        (startsByCaller.get(key(organizationId, caller)) ?? []).filter((at) => at > now - 1_000)
      ]))
    }),
    history: (organizationId, numbers, since) => {
      const found = new Map<string, NumberHistory>()
      for (const number of numbers) {
        const refs = byNumber.get(key(organizationId, number))
        if (refs === undefined) continue
        const starts: Array<number> = []
        const connected: Array<number> = []
        const open: Array<number> = []
        // An abandoned attempt is gone from its batch: it never reached the number.
        const kept = refs.filter((ref) => ref.attempts.has(ref.id))
        if (kept.length !== refs.length) byNumber.set(key(organizationId, number), kept)
        for (const ref of kept) {
          if (ref.startedAt < since) continue
          starts.push(ref.startedAt)
          const attempt = ref.attempts.get(ref.id)!
          if (attempt.outcome === "completed") connected.push(ref.startedAt)
          else if (attempt.state === "dialing") open.push(ref.startedAt)
        }
        const ascending = (a: number, b: number) => a - b
        if (starts.length > 0) {
          found.set(number, { starts: starts.sort(ascending), connected: connected.sort(ascending), open: open.sort(ascending) })
        }
      }
      return found
    }
  }
}
