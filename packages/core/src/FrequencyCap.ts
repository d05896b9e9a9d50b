/**
 * Frequency caps across batches: at most `maxAttempts` attempts (and
 * `maxConnected` answered calls) to one number in any rolling period of
 * `periodHours`, counted over every batch and process of the organization.
 * A batch may set its own cap and the host one per organization; a number
 * must pass both. A capped contact is deferred to the exact instant the
 * oldest counted attempt leaves the period, never skipped.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type { FrequencyCap } from "./CallLimits.ts"
import type { Contact } from "./Contact.ts"
import * as Eligibility from "./Eligibility.ts"
import type { StoreError } from "./OutdialError.ts"


/**
 * The attempts begun to one number since some instant, as epoch millis in
 * ascending order: all of them (`starts`) and those answered (`connected`).
 *
 * @since 0.1.0
 * @category models
 */
export interface NumberHistory {
  readonly starts: ReadonlyArray<number>
  readonly connected: ReadonlyArray<number>
  /** Starts of attempts still going on: each may yet be answered. */
  readonly open?: ReadonlyArray<number> | undefined
}

/**
 * The store's lookup: the history since `since` of each of `numbers` that
 * has one, across every batch of the organization.
 *
 * @since 0.1.0
 * @category models
 */
export type HistoryLookup = (
  organizationId: string,
  numbers: ReadonlyArray<string>,
  since: DateTime.Utc
) => Effect.Effect<ReadonlyMap<string, NumberHistory>, StoreError>

const hourMillis = 3_600_000

/**
 * When `cap` next lets a number with `history` be dialed, at or after `now`:
 * `now` when it does already. With `count` of the period's times and a
 * limit `max`, the number waits for the `count - max + 1`-th oldest to leave
 * the period.
 *
 * @since 0.1.0
 * @category deciding
 */
export const allowedAt = (cap: FrequencyCap, history: NumberHistory, now: number): number => {
  const period = cap.periodHours * hourMillis
  const freeAt = (times: ReadonlyArray<number>, max: number | null | undefined) => {
    if (max === null || max === undefined) return now
    const recent = times.filter((at) => at > now - period)
    return recent.length < max ? now : recent[recent.length - max]! + period
  }
  return Math.max(freeAt(history.starts, cap.maxAttempts), freeAt(history.connected, cap.maxConnected))
}

/** How soon a number held back only by calls still going on is looked at again. */
const openCallRecheckMillis = 60_000

/**
 * `allowedAt` counting calls still going on as answered, since each may be:
 * a number held back only by them is looked at again shortly, once they
 * have likely ended, rather than a whole period later.
 *
 * @since 0.1.0
 * @category deciding
 */
export const allowedAtWithOpen = (cap: FrequencyCap, history: NumberHistory, now: number): number => {
  const open = history.open ?? []
  if (open.length === 0 || cap.maxConnected === null || cap.maxConnected === undefined) return allowedAt(cap, history, now)
  const counted = allowedAt(cap, { ...history, connected: [...history.connected, ...open].sort((a, b) => a - b) }, now)
  return counted <= now ? counted : Math.max(allowedAt(cap, history, now), Math.min(counted, now + openCallRecheckMillis))
}

const noHistory: NumberHistory = { starts: [], connected: [] }

/**
 * The eligibility link over the store's `lookup`: one lookup per dispatch
 * step for the numbers of its contacts. A contact let through counts at
 * once against the contacts after it in the step, so two rows of one number
 * never pass together. A history that cannot be read defers the step.
 *
 * @since 0.1.0
 * @category policies
 */
export const policy = (
  lookup: HistoryLookup,
  organizationCap: (organizationId: string) => FrequencyCap | undefined
): Eligibility.Policy => ({
  name: "frequency_cap",
  forContacts: (view, contacts) => {
    const batchCap = view.batch.frequencyCap ?? undefined
    const ownCap = organizationCap(view.batch.organizationId)
    // Asked on every dispatch step: without a cap, no arrays are built to find none.
    if (batchCap === undefined && ownCap === undefined) return Effect.succeed(contacts.map(() => Eligibility.dial))
    const caps = [batchCap, ownCap].filter((cap): cap is FrequencyCap => cap !== undefined)
    const period = Math.max(...caps.map((cap) => cap.periodHours)) * hourMillis
    const numbers = [...new Set(contacts.map((contact) => contact.phone))]
    return lookup(view.batch.organizationId, numbers, DateTime.makeUnsafe(view.now - period)).pipe(
      Effect.map((histories) => judge(caps, histories, contacts, view.now)),
      Effect.catchCause((cause) =>
        Effect.as(
          Effect.logWarning("outdial: could not read attempts per number for the frequency cap; deferring", cause),
          contacts.map(() => Eligibility.defer(view.now + 30_000, "attempts per number unavailable; checking again"))
        )
      )
    )
  }
})

const judge = (
  caps: ReadonlyArray<FrequencyCap>,
  histories: ReadonlyMap<string, NumberHistory>,
  contacts: ReadonlyArray<Contact>,
  now: number
): ReadonlyArray<Eligibility.Verdict> => {
  const passed = new Map<string, number>()
  return contacts.map((contact) => {
    const known = histories.get(contact.phone) ?? noHistory
    // Contacts let through earlier in the step are calls about to start: attempts that may be answered.
    const extra = Array<number>(passed.get(contact.phone) ?? 0).fill(now)
    const history = extra.length === 0
      ? known
      : { starts: [...known.starts, ...extra], connected: known.connected, open: [...(known.open ?? []), ...extra] }
    const until = Math.max(...caps.map((cap) => allowedAtWithOpen(cap, history, now)))
    if (until <= now) {
      passed.set(contact.phone, extra.length + 1)
      return Eligibility.dial
    }
    return Eligibility.defer(until, `frequency cap reached for this number; allowed again ${DateTime.formatIso(DateTime.makeUnsafe(until))}`)
  })
}
