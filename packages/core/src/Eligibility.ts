/**
 * Why a contact is called, deferred or skipped. Before each dial the
 * dispatcher asks a chain of policies; each answers *dial*, *defer until T*
 * or *skip*, with a reason, and the first that does not say *dial* decides.
 *
 * A policy may judge the whole batch at once (the calling window and the
 * daily cap hold every contact back alike, so the dispatcher sleeps instead
 * of deciding a million contacts one by one) or each contact (a host's
 * pre-dial check, and later do-not-call lists, recipient-local hours,
 * frequency caps across batches, blackout dates). The answer is recorded on
 * the contact or published for the batch, so a user can see why.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type { Batch } from "./Batch.ts"
import * as CallingWindow from "./CallingWindow.ts"
import type { Contact, Decision } from "./Contact.ts"

/**
 * @since 0.1.0
 * @category models
 */
export type Verdict =
  | { readonly _tag: "Dial" }
  | { readonly _tag: "Defer"; readonly until: number; readonly reason: string }
  | { readonly _tag: "Skip"; readonly reason: string }

/**
 * @since 0.1.0
 * @category constructors
 */
export const dial: Verdict = { _tag: "Dial" }

/**
 * @since 0.1.0
 * @category constructors
 */
export const defer = (until: number, reason: string): Verdict => ({ _tag: "Defer", until, reason })

/**
 * @since 0.1.0
 * @category constructors
 */
export const skip = (reason: string): Verdict => ({ _tag: "Skip", reason })

/**
 * What a policy sees of the batch at the moment of deciding. Instants are
 * epoch milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchView {
  readonly batch: Batch
  readonly schedule: CallingWindow.Compiled
  readonly now: number
  /** Attempts begun on the batch-zone day of `now`. */
  readonly callsToday: number
}

/**
 * A link of the chain. `forBatch` holds back the whole batch; `forContact`
 * judges one contact and may ask the host or a remote service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy<R = never> {
  readonly name: string
  readonly forBatch?: ((view: BatchView) => Verdict) | undefined
  readonly forContact?: ((view: BatchView, contact: Contact) => Effect.Effect<Verdict, never, R>) | undefined
  /**
   * Judges a dispatch step's contacts at once, one verdict each in order: a
   * link that asks a store (a do-not-call list, the attempts of other
   * batches) makes one lookup per step instead of one per contact.
   */
  readonly forContacts?:
    | ((view: BatchView, contacts: ReadonlyArray<Contact>) => Effect.Effect<ReadonlyArray<Verdict>, never, R>)
    | undefined
}

const formatInstant = (millis: number, timeZone: string): string =>
  DateTime.formatIsoOffset(DateTime.makeZonedUnsafe(millis, { timeZone }))

// A deferral whose reason is written only when read: dating a retry asks the
// batch links at instants nobody sees the reason for, and formatting a zoned
// instant costs more than the decision itself.
const deferUntil = (until: number, reason: () => string): Verdict => {
  let text: string | undefined
  return {
    _tag: "Defer",
    until,
    get reason() {
      return text ??= reason()
    }
  }
}

/**
 * No call outside the batch's calling windows and working days. A closed
 * window defers until it next opens: contacts wait, they are never skipped.
 *
 * @since 0.1.0
 * @category policies
 */
export const callingWindow: Policy = {
  name: "calling_window",
  forBatch: ({ batch, now, schedule }) => {
    if (CallingWindow.isOpen(schedule, now)) return dial
    const opens = CallingWindow.nextOpening(schedule, now)
    return deferUntil(opens, () => `calling window closed; opens ${formatInstant(opens, batch.timezone)}`)
  }
}

/**
 * At most `maxCallsPerDay` attempts a calendar day in the batch time zone;
 * once reached, the batch waits for the window of the next day.
 *
 * @since 0.1.0
 * @category policies
 */
export const dailyCap: Policy = {
  name: "daily_cap",
  forBatch: ({ batch, callsToday, now, schedule }) => {
    const cap = batch.maxCallsPerDay
    if (cap === null || callsToday < cap) return dial
    const until = CallingWindow.nextOpening(schedule, CallingWindow.nextLocalMidnight(schedule, now))
    return deferUntil(until, () => `daily cap of ${cap} calls reached; resumes ${formatInstant(until, batch.timezone)}`)
  }
}

/**
 * A host's own check before each dial, e.g. its CRM saying the lead has
 * converted (skip) or asked to be called after lunch (defer).
 *
 * @since 0.1.0
 * @category policies
 */
export const preDialCheck = <R>(
  name: string,
  check: (contact: Contact, batch: Batch, now: number) => Effect.Effect<Verdict, never, R>
): Policy<R> => ({
  name,
  forContact: (view, contact) => check(contact, view.batch, view.now)
})

/**
 * The policies every batch passes, before those a host adds.
 *
 * @since 0.1.0
 * @category policies
 */
export const builtIn: ReadonlyArray<Policy> = [callingWindow, dailyCap]

/**
 * The first batch-wide answer that is not *dial*, with its policy.
 *
 * @since 0.1.0
 * @category deciding
 */
export const decideBatch = <R>(
  policies: ReadonlyArray<Policy<R>>,
  view: BatchView
): { readonly policy: string; readonly verdict: Verdict } | undefined => {
  for (const policy of policies) {
    if (policy.forBatch === undefined) continue
    const verdict = policy.forBatch(view)
    if (verdict._tag !== "Dial") return { policy: policy.name, verdict }
  }
  return undefined
}

/**
 * The first instant from `view.now` at which the batch-wide links let the
 * batch dial: each deferral moves the instant on to its `until` and asks
 * again. The dispatcher dates a retry with it, so the time a user sees is
 * the time the call can really happen. `callsOn` gives the attempts already
 * begun on the batch-zone day of an instant (a later day starts at 0).
 *
 * @since 0.1.0
 * @category deciding
 */
export const nextBatchDial = <R>(
  policies: ReadonlyArray<Policy<R>>,
  view: BatchView,
  callsOn: (at: number) => number = () => view.callsToday
): number => {
  let at = view.now
  // Each link defers to an instant it would accept, so this settles in a step or two;
  // the bound only guards against a host's link that keeps deferring.
  for (let round = 0; round < 32; round++) {
    const held = decideBatch(policies, { ...view, now: at, callsToday: callsOn(at) })
    if (held === undefined || held.verdict._tag !== "Defer" || held.verdict.until <= at) return at
    at = held.verdict.until
  }
  return at
}

/**
 * Runs the contact links in order and turns the first answer that is not
 * *dial* (or the final *dial*) into the decision recorded on the contact.
 *
 * @since 0.1.0
 * @category deciding
 */
export const decideContact = <R>(
  policies: ReadonlyArray<Policy<R>>,
  view: BatchView,
  contact: Contact,
  dialReason: string
): Effect.Effect<Decision, never, R> => {
  const at = DateTime.makeUnsafe(view.now)
  const step = (index: number): Effect.Effect<Decision, never, R> => {
    for (let i = index; i < policies.length; i++) {
      const policy = policies[i]!
      const judged = policy.forContact !== undefined
        ? policy.forContact(view, contact)
        : policy.forContacts !== undefined
        ? Effect.map(policy.forContacts(view, [contact]), (verdicts) => verdicts[0]!)
        : undefined
      if (judged === undefined) continue
      return Effect.flatMap(judged, (verdict) =>
        verdict._tag === "Dial" ? step(i + 1) : Effect.succeed(toDecision(policy.name, verdict, at)))
    }
    return Effect.succeed({ kind: "dial", policy: "eligibility", reason: dialReason, at })
  }
  return step(0)
}

/**
 * Whether any link judges contacts one by one; when none does the dispatcher
 * skips the per-contact pass.
 *
 * @since 0.1.0
 * @category predicates
 */
export const hasContactPolicies = <R>(policies: ReadonlyArray<Policy<R>>): boolean =>
  policies.some((policy) => policy.forContact !== undefined || policy.forContacts !== undefined)

/**
 * `decideContact` for a step's contacts: each link, in order, judges the
 * contacts no earlier link held back (all at once with `forContacts`), so a
 * contact gets the same decision as alone, with one lookup per link and step.
 *
 * @since 0.1.0
 * @category deciding
 */
export const decideContacts = <R>(
  policies: ReadonlyArray<Policy<R>>,
  view: BatchView,
  contacts: ReadonlyArray<Contact>,
  dialReason: string
): Effect.Effect<ReadonlyArray<Decision>, never, R> =>
  Effect.gen(function*() {
    const at = DateTime.makeUnsafe(view.now)
    const decisions: Array<Decision | undefined> = contacts.map(() => undefined)
    for (const policy of policies) {
      const open = contacts.flatMap((_, i) => decisions[i] === undefined ? [i] : [])
      if (open.length === 0) break
      const verdicts = policy.forContacts !== undefined
        ? yield* policy.forContacts(view, open.map((i) => contacts[i]!))
        : policy.forContact !== undefined
        ? yield* Effect.forEach(open, (i) => policy.forContact!(view, contacts[i]!), { concurrency: "unbounded" })
        : undefined
      if (verdicts === undefined) continue
      open.forEach((i, k) => {
        const verdict = verdicts[k]!
        if (verdict._tag !== "Dial") decisions[i] = toDecision(policy.name, verdict, at)
      })
    }
    return decisions.map((decision) => decision ?? { kind: "dial" as const, policy: "eligibility", reason: dialReason, at })
  })

/**
 * The reason recorded on a dialed contact: every link it passed.
 *
 * @since 0.1.0
 * @category deciding
 */
export const dialReason = <R>(policies: ReadonlyArray<Policy<R>>): string =>
  `passed ${policies.map((policy) => policy.name).join(", ")}`

/**
 * @since 0.1.0
 * @category deciding
 */
export const toDecision = (policy: string, verdict: Verdict, at: DateTime.Utc): Decision => {
  switch (verdict._tag) {
    case "Dial":
      return { kind: "dial", policy, reason: "eligible", at }
    case "Defer":
      return { kind: "defer", policy, reason: verdict.reason, at, until: DateTime.makeUnsafe(verdict.until) }
    case "Skip":
      return { kind: "skip", policy, reason: verdict.reason, at }
  }
}
