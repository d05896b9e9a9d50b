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

/** A caller number's recent start times, oldest first; those before `head` have gone by. */
interface Starts {
  readonly times: Array<number>
  head: number
}

/** One organization's load: per organization, so a dial's look-ups need no composed keys. */
interface Organization {
  readonly byNumber: Map<string, Array<AttemptRef>>
  readonly startsByCaller: Map<string, Starts>
  inFlight: number
}

const recentOf = (starts: Starts | undefined, now: number): Array<number> => {
  const recent: Array<number> = []
  if (starts === undefined) return recent
  for (let i = starts.head; i < starts.times.length; i++) if (starts.times[i]! > now - 1_000) recent.push(starts.times[i]!)
  return recent
}

export const make = (): OrganizationLoad => {
  const organizations = new Map<string, Organization>()
  const organizationOf = (organizationId: string) => {
    let organization = organizations.get(organizationId)
    if (organization === undefined) {
      organizations.set(organizationId, organization = { byNumber: new Map(), startsByCaller: new Map(), inFlight: 0 })
    }
    return organization
  }
  return {
    begun: (organizationId, phone, attempt, attempts) => {
      const organization = organizationOf(organizationId)
      const startedAt = DateTime.toEpochMillis(attempt.startedAt)
      const refs = organization.byNumber.get(phone)
      const ref = { id: attempt.id, startedAt, attempts }
      if (refs === undefined) organization.byNumber.set(phone, [ref])
      else refs.push(ref)
      organization.inFlight++
      let starts = organization.startsByCaller.get(attempt.callerNumberId)
      if (starts === undefined) organization.startsByCaller.set(attempt.callerNumberId, starts = { times: [], head: 0 })
      // Only the last second matters: older starts go as new ones come, from the front (starts
      // come in time order), not by a scan of all: under a TestClock a whole batch starts in one instant.
      const { times } = starts
      while (starts.head < times.length && times[starts.head]! <= startedAt - 1_000) starts.head++
      if (starts.head >= 1_024 && starts.head * 2 >= times.length) {
        times.splice(0, starts.head)
        starts.head = 0
      }
      times.push(startedAt)
    },
    ended: (organizationId) => {
      const organization = organizationOf(organizationId)
      organization.inFlight = Math.max(0, organization.inFlight - 1)
    },
    of: (organizationId, callerNumberIds, now) => {
      const organization = organizations.get(organizationId)
      return {
        inFlight: organization?.inFlight ?? 0,
        recentStarts: new Map(callerNumberIds.map((caller) => [caller, recentOf(organization?.startsByCaller.get(caller), now)]))
      }
    },
    history: (organizationId, numbers, since) => {
      const found = new Map<string, NumberHistory>()
      const byNumber = organizations.get(organizationId)?.byNumber
      if (byNumber === undefined) return found
      for (const number of numbers) {
        const refs = byNumber.get(number)
        if (refs === undefined) continue
        const starts: Array<number> = []
        const connected: Array<number> = []
        const open: Array<number> = []
        // An abandoned attempt is gone from its batch: it never reached the number.
        const kept = refs.filter((ref) => ref.attempts.has(ref.id))
        if (kept.length !== refs.length) byNumber.set(number, kept)
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
