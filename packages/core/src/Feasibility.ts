/**
 * Whether a batch can finish by its `completeBy` deadline, estimated at
 * creation. Contacts are grouped by the zones their numbers ring in; the
 * batch's lines (its concurrency limit) are then handed out over time, slot
 * by slot, to the groups the eligibility chain lets dial then (the calling
 * window, the daily cap, recipient-local hours, blackouts and holidays, the
 * same links the dispatcher asks), each contact taking an average call plus
 * the ringing of its expected attempts. Closed stretches are jumped over to
 * the chain's next opening, so a batch that waits a weekend costs two steps.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import type { Batch } from "./Batch.ts"
import * as CallingWindow from "./CallingWindow.ts"
import * as Contact from "./Contact.ts"
import * as Eligibility from "./Eligibility.ts"
import * as Estimate from "./Estimate.ts"
import * as RecipientHours from "./RecipientHours.ts"

/**
 * What a create reports: whether the batch fits before `completeBy` (always
 * when there is none), when it should finish, and by how much it misses.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Feasibility = Schema.Struct({
  feasible: Schema.Boolean,
  completeBy: Schema.NullOr(Schema.String),
  /** ISO 8601 UTC; null when the batch could not finish within a year. */
  estimatedFinish: Schema.NullOr(Schema.String),
  /** Contacts still waiting at `completeBy`, on the estimate. */
  shortfallContacts: Schema.Int,
  /** Seconds past `completeBy` the batch should finish; null when feasible or never finishing. */
  shortfallSeconds: Schema.NullOr(Schema.Number)
})
export type Feasibility = typeof Feasibility.Type

/**
 * The settings that bear on when a batch could finish: those a validation
 * takes to estimate feasibility.
 *
 * @since 0.1.0
 * @category models
 */
export const settingKeys = [
  "completeBy",
  "concurrentCallLimit",
  "timezone",
  "callingWindow",
  "callingWindows",
  "workingDays",
  "maxCallsPerDay",
  "scheduledStartTime",
  "recipientLocalHours",
  "blackoutDates",
  "holidays"
] as const

/**
 * @since 0.1.0
 * @category models
 */
export interface Input {
  readonly batch: Batch
  readonly schedule: CallingWindow.Compiled
  readonly phones: ReadonlyArray<string>
  /** When calling may begin: the scheduled start or now. */
  readonly start: number
  readonly averageCallSeconds: number
  readonly attemptsPerContact?: number | undefined
  readonly dialOverheadSeconds?: number | undefined
  readonly policies?: ReadonlyArray<Eligibility.Policy> | undefined
}

const slotMillis = 15 * 60_000
const horizonMillis = 366 * 86_400_000

interface Group {
  readonly contact: Contact.Contact
  /** Line-seconds of work left. */
  remaining: number
}

/** Contacts grouped by the zones (and so the hours and holidays) they are judged in. */
const groupsOf = (batch: Batch, phones: ReadonlyArray<string>, lineSeconds: number): Array<Group> => {
  const contactFor = (phone: string) =>
    Contact.fresh({ id: "estimate", batchId: batch.id, maxAttempts: 1 }, {
      row: 0,
      phone,
      numberValidated: true,
      name: null,
      externalId: null,
      customFields: {}
    })
  if (batch.recipientLocalHours === null && batch.holidays?.zone !== "recipient") {
    // Judged in the batch's zone: one group, its work added up contact by contact as the zones' groups are.
    if (phones.length === 0) return []
    const group = { contact: contactFor(phones[0]!), remaining: lineSeconds }
    for (let i = 1; i < phones.length; i++) group.remaining += lineSeconds
    return [group]
  }
  const groups = new Map<string, Group>()
  for (const phone of phones) {
    const key = RecipientHours.zonesFor(phone, batch.timezone).join("&")
    const group = groups.get(key)
    if (group === undefined) groups.set(key, { contact: contactFor(phone), remaining: lineSeconds })
    else group.remaining += lineSeconds
  }
  return [...groups.values()]
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const estimate = (input: Input): Feasibility => {
  const { batch, schedule } = input
  const policies = input.policies ?? Eligibility.builtIn
  const attempts = input.attemptsPerContact ?? Estimate.defaults.attemptsPerContact
  const lineSeconds = input.averageCallSeconds + attempts * (input.dialOverheadSeconds ?? Estimate.defaults.dialOverheadSeconds)
  const groups = groupsOf(batch, input.phones, lineSeconds)
  const deadline = batch.completeBy === null ? undefined : DateTime.toEpochMillis(batch.completeBy)
  const lines = Math.max(1, batch.concurrentCallLimit)
  let at = input.start
  let day = ""
  let callsToday = 0
  let remainingAtDeadline: number | undefined
  let finish: number | undefined
  while (at <= input.start + horizonMillis) {
    const open = groups.filter((group) => group.remaining > 0)
    if (open.length === 0) {
      finish = at
      break
    }
    if (deadline !== undefined && remainingAtDeadline === undefined && at >= deadline) remainingAtDeadline = leftOf(groups)
    const date = CallingWindow.localDate(schedule, at)
    if (date !== day) {
      day = date
      callsToday = 0
    }
    const view: Eligibility.BatchView = { batch, schedule, now: at, callsToday }
    const ready = open.filter((group) => Eligibility.decideInPlace(policies, view, group.contact) === undefined)
    if (ready.length === 0) {
      // Nothing may dial now: on to the earliest instant a group may.
      const next = Math.min(...open.map((group) => Eligibility.nextContactDial(policies, view, group.contact)))
      at = next > at ? next : at + slotMillis
      continue
    }
    let capacity = lines * slotMillis / 1000
    if (batch.maxCallsPerDay !== null) capacity = Math.min(capacity, Math.max(0, batch.maxCallsPerDay - callsToday) / attempts * lineSeconds)
    const used = share(ready, capacity)
    callsToday += used / lineSeconds * attempts
    if (open.every((group) => group.remaining <= 0)) {
      // The last slot's work over the lines, but a call is never shorter than itself.
      finish = at + Math.ceil(Math.max(used / lines, Math.min(lineSeconds, used))) * 1000
      break
    }
    at += slotMillis
  }
  const feasible = deadline === undefined || (finish !== undefined && finish <= deadline)
  if (deadline !== undefined && remainingAtDeadline === undefined && !feasible) remainingAtDeadline = leftOf(groups)
  return {
    feasible,
    completeBy: deadline === undefined ? null : new Date(deadline).toISOString(),
    estimatedFinish: finish === undefined ? null : new Date(finish).toISOString(),
    shortfallContacts: feasible ? 0 : Math.ceil((remainingAtDeadline ?? 0) / lineSeconds - 1e-9),
    shortfallSeconds: feasible || finish === undefined || deadline === undefined ? null : Math.ceil((finish - deadline) / 1000)
  }
}

const leftOf = (groups: ReadonlyArray<Group>): number => groups.reduce((sum, group) => sum + Math.max(0, group.remaining), 0)

/** Hands `capacity` line-seconds out evenly over `groups`, a group's unused share to the others; the total used. */
const share = (groups: ReadonlyArray<Group>, capacity: number): number => {
  const waiting = [...groups].sort((a, b) => a.remaining - b.remaining)
  let left = capacity
  for (const [i, group] of waiting.entries()) {
    const portion = Math.min(group.remaining, left / (waiting.length - i))
    group.remaining -= portion
    left -= portion
  }
  return capacity - left
}
