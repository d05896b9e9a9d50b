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
 * Longer than ~400 lines because the chain is one contract read together:
 * the verdicts, the built-in links and the functions that run them (for a
 * batch, a contact, a step's contacts, a retry's date) must agree on every
 * link's order and meaning, and a host writing a link reads them side by side.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { Batch } from "./Batch.ts"
import * as CallingWindow from "./CallingWindow.ts"
import * as Blackout from "./Blackout.ts"
import type { Contact, Decision } from "./Contact.ts"
import * as RecipientHours from "./RecipientHours.ts"

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
  /** The organization's blackout dates (`YYYY-MM-DD`, batch zone), from the host. */
  readonly organizationBlackoutDates?: ReadonlyArray<string> | undefined
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
   * A contact link that needs nothing but the view and the contact
   * (recipient-local hours, blackouts in the recipient's zone): answered in
   * place, and asked again when a retry or callback is dated, so the time a
   * user sees honours it too.
   */
  readonly holdContact?: ((view: BatchView, contact: Contact) => Verdict) | undefined
  /**
   * Whether the link has anything to judge in `batch` (a batch without
   * recipient hours has no use for their link); absent means always. The
   * dispatcher leaves the others out of the batch's chain and its reasons.
   */
  readonly appliesTo?: ((batch: Batch, organizationBlackoutDates: ReadonlyArray<string>) => boolean) | undefined
  /**
   * Judges a dispatch step's contacts at once, one verdict each in order: a
   * link that asks a store (a do-not-call list, the attempts of other
   * batches) makes one lookup per step instead of one per contact.
   */
  readonly forContacts?:
    | ((view: BatchView, contacts: ReadonlyArray<Contact>) => Effect.Effect<ReadonlyArray<Verdict>, never, R>)
    | undefined
}

/**
 * The links of `policies` that judge something in `batch`.
 *
 * @since 0.1.0
 * @category deciding
 */
export const applicable = <R>(
  policies: ReadonlyArray<Policy<R>>,
  batch: Batch,
  organizationBlackoutDates: ReadonlyArray<string> = []
): ReadonlyArray<Policy<R>> =>
  policies.filter((policy) => policy.appliesTo === undefined || policy.appliesTo(batch, organizationBlackoutDates))

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
 * No call outside the batch's `recipientLocalHours` in any zone the
 * recipient's number may ring in (`RecipientHours`): the contact waits until
 * every zone is inside them. Zones whose hours never overlap (a number
 * mapped to places half a world apart) can never be called lawfully: the
 * contact is skipped, saying so, rather than left waiting for ever.
 *
 * @since 0.1.0
 * @category policies
 */
export const recipientHours: Policy = {
  name: "recipient_hours",
  appliesTo: (batch) => batch.recipientLocalHours !== null,
  holdContact: ({ batch, now }, contact) => {
    const hours = batch.recipientLocalHours
    if (hours === null) return dial
    const zones = RecipientHours.zonesFor(contact.phone, batch.timezone)
    const opens = RecipientHours.nextOpening(hours, zones, now)
    if (opens === now) return dial
    if (opens === undefined) {
      return skip(`recipient hours ${hours.start}–${hours.end} never hold in all of ${zones.join(", ")} at once`)
    }
    return deferUntil(opens, () =>
      `outside recipient hours ${hours.start}–${hours.end} (${zones.join(", ")}); opens ${formatInstant(opens, zones[0]!)}`)
  }
}

/**
 * No call on a blackout date (the batch's or the organization's, in the
 * batch zone) or a public holiday (in the batch zone or the recipient's);
 * the contact waits for the next day that is not one (`Blackout`).
 *
 * @since 0.1.0
 * @category policies
 */
export const blackout: Policy = {
  name: "blackout",
  appliesTo: (batch, organizationBlackoutDates) =>
    batch.blackoutDates.length > 0 || batch.holidays !== null || organizationBlackoutDates.length > 0,
  forBatch: ({ batch, now, organizationBlackoutDates }) => {
    const dates = organizationBlackoutDates === undefined || organizationBlackoutDates.length === 0
      ? batch.blackoutDates
      : [...batch.blackoutDates, ...organizationBlackoutDates]
    const held = Blackout.batchHold({ dates: Blackout.dateSet(dates), calendar: batch.holidays }, batch.timezone, now)
    return held === undefined ? dial : deferUntil(held.until, () => `${held.reason}; resumes ${formatInstant(held.until, batch.timezone)}`)
  },
  holdContact: ({ batch, now }, contact) => {
    if (batch.holidays?.zone !== "recipient") return dial
    const zones = RecipientHours.zonesFor(contact.phone, batch.timezone)
    const held = Blackout.recipientHold(batch.holidays, contact.phone, zones, now)
    return held === undefined ? dial : deferUntil(held.until, () => `${held.reason}; resumes ${formatInstant(held.until, zones[0]!)}`)
  }
}

/**
 * The policies every batch passes, before those a host adds.
 *
 * @since 0.1.0
 * @category policies
 */
export const builtIn: ReadonlyArray<Policy> = [
  callingWindow,
  dailyCap,
  recipientHours,
  blackout
]

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
 * The first answer that is not *dial* of the batch-wide links, then of the
 * contact links answered in place (`holdContact`), with its policy.
 *
 * @since 0.1.0
 * @category deciding
 */
export const decideInPlace = <R>(
  policies: ReadonlyArray<Policy<R>>,
  view: BatchView,
  contact: Contact
): { readonly policy: string; readonly verdict: Verdict } | undefined => {
  const held = decideBatch(policies, view)
  if (held !== undefined) return held
  for (const policy of policies) {
    if (policy.holdContact === undefined) continue
    const verdict = policy.holdContact(view, contact)
    if (verdict._tag !== "Dial") return { policy: policy.name, verdict }
  }
  return undefined
}

/**
 * `nextBatchDial` for one contact: the first instant from `view.now` at
 * which the batch-wide links and the contact links answered in place all
 * let it be dialed (its calling window, the recipient's hours in every zone
 * of the number, blackouts). A skip ends the search where it stands: the
 * contact is skipped when its turn comes.
 *
 * @since 0.1.0
 * @category deciding
 */
export const nextContactDial = <R>(
  policies: ReadonlyArray<Policy<R>>,
  view: BatchView,
  contact: Contact,
  callsOn: (at: number) => number = () => view.callsToday
): number => {
  let at = view.now
  // Links take turns moving the instant on (a window opening on a holiday, a recipient's
  // hours closing before the batch's window opens); each move is to an instant that link
  // accepts, so a few dozen rounds cover any real calendar.
  for (let round = 0; round < 64; round++) {
    const held = decideInPlace(policies, { ...view, now: at, callsToday: callsOn(at) }, contact)
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
      if (policy.holdContact !== undefined) {
        const verdict = policy.holdContact(view, contact)
        if (verdict._tag !== "Dial") return Effect.succeed(toDecision(policy.name, verdict, at))
      }
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
  policies.some((policy) =>
    policy.forContact !== undefined || policy.forContacts !== undefined || policy.holdContact !== undefined
  )

/** A step's contacts being decided (`decideContacts`). */
interface Deciding<R> {
  readonly policies: ReadonlyArray<Policy<R>>
  readonly view: BatchView
  readonly contacts: ReadonlyArray<Contact>
  readonly dialReason: string
  readonly at: DateTime.Utc
  readonly decisions: Array<Decision | undefined>
  /** The contacts no link held back yet, by index; every one of them while none is. */
  open: ReadonlyArray<number>
  /** Held back since `open` was last narrowed. */
  held: number
}

const stillOpen = (deciding: Deciding<unknown>): boolean => {
  if (deciding.held > 0) deciding.open = deciding.open.filter((i) => deciding.decisions[i] === undefined)
  deciding.held = 0
  return deciding.open.length > 0
}

const hold = (deciding: Deciding<unknown>, policy: string, i: number, verdict: Verdict) => {
  if (verdict._tag === "Dial") return
  deciding.decisions[i] = toDecision(policy, verdict, deciding.at)
  deciding.held++
}

/** A link's verdicts on the `open` contacts it was asked about, in order. */
const holdAll = (deciding: Deciding<unknown>, policy: string, open: ReadonlyArray<number>, verdicts: ReadonlyArray<Verdict>) =>
  open.forEach((i, k) => hold(deciding, policy, i, verdicts[k]!))

/**
 * The links in turn from `index`: those answering in place within one loop,
 * and only a link with a lookup of its own costs an effect (a step asks the
 * links every time it dials).
 */
const decideFrom = <R>(deciding: Deciding<R>, index: number): Effect.Effect<ReadonlyArray<Decision>, never, R> => {
  const { contacts, policies, view } = deciding
  for (let p = index; p < policies.length; p++) {
    const policy = policies[p]!
    if (!stillOpen(deciding)) break
    if (policy.holdContact !== undefined) {
      for (const i of deciding.open) hold(deciding, policy.name, i, policy.holdContact(view, contacts[i]!))
      if (!stillOpen(deciding)) break
    }
    const open = deciding.open
    const verdicts = policy.forContacts !== undefined
      ? policy.forContacts(view, open.length === contacts.length ? contacts : open.map((i) => contacts[i]!))
      : policy.forContact !== undefined
      ? Effect.forEach(open, (i) => policy.forContact!(view, contacts[i]!), { concurrency: "unbounded" })
      : undefined
    if (verdicts === undefined) continue
    // Verdicts answered in place (a list in this process) go on in this loop, without an effect.
    if (Exit.isExit(verdicts) && Exit.isSuccess(verdicts)) {
      holdAll(deciding, policy.name, open, verdicts.value as ReadonlyArray<Verdict>)
      continue
    }
    return Effect.flatMap(verdicts, (verdicts) => {
      holdAll(deciding, policy.name, open, verdicts)
      return decideFrom(deciding, p + 1)
    })
  }
  // One decision to dial, shared by the step's contacts dialed.
  const dialed: Decision = { kind: "dial", policy: "eligibility", reason: deciding.dialReason, at: deciding.at }
  return Effect.succeed(deciding.decisions.map((decision) => decision ?? dialed))
}

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
): Effect.Effect<ReadonlyArray<Decision>, never, R> => Effect.suspend(() => decideContactsNow(policies, view, contacts, dialReason))

/**
 * `decideContacts` with the links that answer in place asked at once: when
 * every link does, the decisions come back as an effect already succeeded
 * (the dispatcher reads them without a step of its fiber); a link with a
 * lookup of its own is asked when the effect runs.
 *
 * @since 0.1.0
 * @category deciding
 */
export const decideContactsNow = <R>(
  policies: ReadonlyArray<Policy<R>>,
  view: BatchView,
  contacts: ReadonlyArray<Contact>,
  dialReason: string
): Effect.Effect<ReadonlyArray<Decision>, never, R> =>
  decideFrom({
    policies,
    view,
    contacts,
    dialReason,
    at: DateTime.makeUnsafe(view.now),
    decisions: contacts.map(() => undefined),
    open: contacts.map((_, i) => i),
    held: 0
  }, 0)

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
