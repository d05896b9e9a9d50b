/**
 * The in-memory store's view across batches, per organization: which
 * attempts went to each number (frequency caps), how many calls are in
 * flight, and when each caller number last started calls (calls per second).
 */
import * as DateTime from "effect/DateTime"
import type * as Attempt from "../Attempt.ts"
import type { Load } from "../CallLimits.ts"
import type { NumberHistory } from "../FrequencyCap.ts"

/**
 * An attempt to a number: its place in its contact's attempts (attempt n at
 * n - 1), where its latest record (its outcome) is found.
 */
interface AttemptRef {
  readonly attempts: ReadonlyArray<Attempt.Attempt | undefined>
  readonly index: number
}

/** A contact's attempts, as the store keeps them, with its number. */
export interface ContactAttempts {
  readonly phone: string
  readonly attempts: ReadonlyArray<Attempt.Attempt | undefined>
}

export interface OrganizationLoad {
  readonly begun: (
    organizationId: string,
    phone: string,
    attempts: ReadonlyArray<Attempt.Attempt | undefined>,
    index: number
  ) => void
  /** An attempt abandoned (never placed): no longer in flight, and never reached its number. */
  readonly abandoned: (organizationId: string, phone: string, attempts: ReadonlyArray<Attempt.Attempt | undefined>, index: number) => void
  readonly ended: (organizationId: string) => void
  /**
   * Indexes the organization's attempts by number now, if not yet: before
   * the store forgets a contact or batch whose attempts still count.
   */
  readonly index: (organizationId: string) => void
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
  /**
   * Attempts by number, built from the store's attempts when first asked
   * for (a frequency cap), then kept as attempts begin: a batch without caps
   * pays no index on every dial.
   */
  byNumber: Map<string, Array<AttemptRef>> | undefined
  readonly startsByCaller: Map<string, Starts>
  inFlight: number
}

const recentOf = (starts: Starts | undefined, now: number): Array<number> => {
  const recent: Array<number> = []
  if (starts === undefined) return recent
  for (let i = starts.head; i < starts.times.length; i++) if (starts.times[i]! > now - 1_000) recent.push(starts.times[i]!)
  return recent
}

export const make = (attemptsOf: (organizationId: string) => Iterable<ContactAttempts>): OrganizationLoad => {
  const organizations = new Map<string, Organization>()
  const organizationOf = (organizationId: string) => {
    let organization = organizations.get(organizationId)
    if (organization === undefined) {
      organizations.set(organizationId, organization = { byNumber: undefined, startsByCaller: new Map(), inFlight: 0 })
    }
    return organization
  }
  const add = (byNumber: Map<string, Array<AttemptRef>>, phone: string, ref: AttemptRef) => {
    const refs = byNumber.get(phone)
    if (refs === undefined) byNumber.set(phone, [ref])
    else refs.push(ref)
  }
  const indexed = (organizationId: string) => {
    const organization = organizationOf(organizationId)
    if (organization.byNumber === undefined) {
      const byNumber = new Map<string, Array<AttemptRef>>()
      for (const { attempts, phone } of attemptsOf(organizationId)) {
        attempts.forEach((attempt, index) => {
          if (attempt !== undefined) add(byNumber, phone, { attempts, index })
        })
      }
      organization.byNumber = byNumber
    }
    return organization.byNumber
  }
  /** A call no longer in flight; its organization. */
  const ended = (organizationId: string) => {
    const organization = organizationOf(organizationId)
    organization.inFlight = Math.max(0, organization.inFlight - 1)
    return organization
  }
  return {
    begun: (organizationId, phone, attempts, index) => {
      const organization = organizationOf(organizationId)
      const attempt = attempts[index]!
      const startedAt = DateTime.toEpochMillis(attempt.startedAt)
      if (organization.byNumber !== undefined) add(organization.byNumber, phone, { attempts, index })
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
    abandoned: (organizationId, phone, attempts, index) => {
      const refs = ended(organizationId).byNumber?.get(phone)
      const at = refs?.findIndex((ref) => ref.attempts === attempts && ref.index === index) ?? -1
      if (at >= 0) refs!.splice(at, 1)
    },
    ended: (organizationId) => void ended(organizationId),
    index: (organizationId) => void indexed(organizationId),
    of: (organizationId, callerNumberIds, now) => {
      const organization = organizations.get(organizationId)
      return {
        inFlight: organization?.inFlight ?? 0,
        recentStarts: new Map(callerNumberIds.map((caller) => [caller, recentOf(organization?.startsByCaller.get(caller), now)]))
      }
    },
    history: (organizationId, numbers, since) => {
      const found = new Map<string, NumberHistory>()
      const byNumber = indexed(organizationId)
      for (const number of numbers) {
        const refs = byNumber.get(number)
        if (refs === undefined) continue
        const starts: Array<number> = []
        const connected: Array<number> = []
        const open: Array<number> = []
        for (const ref of refs) {
          const attempt = ref.attempts[ref.index]!
          const startedAt = DateTime.toEpochMillis(attempt.startedAt)
          if (startedAt < since) continue
          starts.push(startedAt)
          if (attempt.outcome === "completed") connected.push(startedAt)
          else if (attempt.state === "dialing") open.push(startedAt)
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
