/**
 * One pass over a running batch: how many calls to place now and when to
 * look again. Out of credits pauses the batch; a batch-wide hold (closed
 * window, daily cap) rests it until the hold lifts, giving the lease up when
 * nothing needs guarding; otherwise it keeps `min(limit, dialable)` calls in
 * flight, asks the contact links about each, and completes the batch once
 * every contact is final.
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Batch from "../../Batch.ts"
import * as CallLimits from "../../CallLimits.ts"
import * as CallingWindow from "../../CallingWindow.ts"
import * as Contact from "../../Contact.ts"
import * as Eligibility from "../../Eligibility.ts"
import * as EngineMetrics from "../../EngineMetrics.ts"
import * as Estimate from "../../Estimate.ts"
import { InvalidTransition } from "../../OutdialError.ts"
import { thenNow } from "../thenNow.ts"
import { continued, rest } from "./alarm.ts"
import { dialAll, dialWithin } from "./calls.ts"
import { type Dialing, type DispatchContext, moveBatch, publishContact, type Registry, type Runner, utcAt } from "./context.ts"
import { renew, renewAt, takeOver } from "./lease.ts"

const waitingStatuses: ReadonlyArray<Contact.ContactStatus> = Contact.statuses.filter((status) => !Contact.isFinal(status))

const noExclusions: ReadonlySet<string> = new Set()

const isRemoval = (error: { readonly _tag: string }): boolean =>
  error instanceof InvalidTransition && Contact.isRemoved(error)

/**
 * How soon a step held back by the organization's calls in flight looks
 * again: those calls may belong to other batches or processes, whose ends
 * send no signal here.
 */
const throttledPollMillis = 1_000

const estimateCompletion = (context: DispatchContext, runner: Runner, dialing: Dialing, now: number) =>
  Effect.gen(function*() {
    const batch = runner.batch!
    const { pace } = runner
    const breakdown = yield* context.store.statusBreakdown(batch.id)
    const remaining = waitingStatuses.reduce((sum, status) => sum + breakdown[status], 0)
    const durationSeconds = Estimate.durationSecondsOf({
      contacts: remaining,
      concurrentCallLimit: batch.concurrentCallLimit,
      openMinutesPerWeek: CallingWindow.openMinutesPerWeek(dialing.schedule),
      averageCallSeconds: pace.talkSamples >= 20 ? pace.talkSeconds / pace.talkSamples : context.config.averageCallSeconds,
      attemptsPerContact: 1
    })
    const from = CallingWindow.nextOpening(dialing.schedule, now)
    pace.nextEstimateAt = now + context.config.estimateIntervalMillis
    yield* moveBatch(context, runner, ["running"], "estimate", {
      estimatedCompletionTime: DateTime.makeUnsafe(from + durationSeconds * 1000)
    }, now)
  })

/** Whether every contact is final; if so the batch completes. */
const completeIfDone = (context: DispatchContext, runner: Runner, now: number) =>
  Effect.gen(function*() {
    const breakdown = yield* context.store.statusBreakdown(runner.batchId)
    if (waitingStatuses.some((status) => breakdown[status] > 0)) return false
    const at = utcAt(now)
    yield* moveBatch(context, runner, Batch.sourcesOf("complete"), "complete", {
      status: "completed",
      completedAt: at,
      estimatedCompletionTime: at,
      statusReason: null
    }, now, { unlessContactsLeft: true })
    // Contacts added since the count keep the batch running: look again.
    return runner.batch?.status === "completed"
  })

type Pick = { readonly contact: Contact.Contact; readonly decision: Contact.Decision }

/** The step's contacts, all dialed with one decision shared by them. */
const dialedAs = (contacts: ReadonlyArray<Contact.Contact>, decision: Contact.Decision): Array<Pick> =>
  contacts.map((contact) => ({ contact, decision }))

/**
 * Asks the contact links about the step's contacts together (one lookup per
 * link and step): those to dial are returned in order, the others' decisions
 * (skip, defer) stored at once, side by side on a shared store, where each is
 * a round trip; in turn in memory.
 */
const decideContacts = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  view: Eligibility.BatchView,
  contacts: ReadonlyArray<Contact.Contact>,
  now: number
) =>
  // Decisions answered in place (every link in this process) are taken at once, not through an effect.
  thenNow(Eligibility.decideContactsNow(dialing.policies, view, contacts, dialing.dialReason), (decisions) => {
    const picks: Array<Pick> = []
    const held: Array<readonly [Contact.Contact, Contact.Decision]> = []
    contacts.forEach((contact, i) => {
      const decision = decisions[i]!
      if (decision.kind === "dial") picks.push({ contact, decision })
      else held.push([contact, decision])
    })
    if (held.length === 0) return Effect.succeed(picks)
    return Effect.as(
      Effect.forEach(held, ([contact, decision]) =>
        // A contact removed since it was read is not decided for, and the step goes on.
        context.store.decide(dialing.lease, contact.id, decision).pipe(
          Effect.catchIf(isRemoval, () => Effect.undefined),
          Effect.flatMap((decided) =>
            decided === undefined
              ? Effect.void
              : Effect.andThen(
                EngineMetrics.contactDecided(decision.kind, decision.policy),
                publishContact(context, runner, decided, null, now)
              )
          )
        ), { discard: true, concurrency: context.store.processLocal === true ? 1 : "unbounded" }),
      picks
    )
  })

const stopped = Effect.succeed("stop" as const)

/** The lease a pass dials under: the one held while fresh, else one taken or renewed (`undefined`: the runner stops). */
const leaseFor = (context: DispatchContext, runner: Runner, batch: Batch.Batch, now: number) => {
  const dialing = runner.dialing
  if (dialing === undefined) return takeOver(context, runner, batch, now)
  return now >= renewAt(context, dialing) ? renew(context, runner, dialing, now) : Effect.succeed(dialing)
}

/** The calls of the batch's local day so far, read again when the day changes. */
const countDay = (context: DispatchContext, runner: Runner, batch: Batch.Batch, dialing: Dialing, now: number) => {
  const { pace } = runner
  const localDate = CallingWindow.localDate(dialing.schedule, now)
  if (localDate === pace.localDate) return Effect.void
  pace.localDate = localDate
  return Effect.map(context.store.attemptsOnDay(batch.id, localDate), (count) => {
    pace.callsToday = count
  })
}

/**
 * One pass over a running batch: hold back, dial, complete or rest. Plain
 * effects, each answer already at hand (a lease held, credits without limit,
 * the same day, the links' verdicts in place) taken without a step of the
 * fiber: a busy batch passes once per burst of call ends.
 */
export const runStep = (
  context: DispatchContext,
  registry: Registry,
  runner: Runner,
  batch: Batch.Batch,
  now: number
): Effect.Effect<"continue" | "stop", unknown> =>
  thenNow(leaseFor(context, runner, batch, now), (dialing) =>
    dialing === undefined ? stopped : thenNow(context.credits.balance(batch.organizationId), (balance) =>
      balance <= 0
        ? Effect.as(
          moveBatch(context, runner, ["running"], "pause", {
            status: "paused",
            statusReason: "insufficient credits: add credits and resume the batch"
          }, now),
          "continue" as const
        )
        : thenNow(countDay(context, runner, batch, dialing, now), () => dialOrHold(context, registry, runner, batch, dialing, now))))

/** The batch-wide links first: a hold rests the batch, otherwise the pass dials. */
const dialOrHold = (context: DispatchContext, registry: Registry, runner: Runner, batch: Batch.Batch, dialing: Dialing, now: number) => {
  const { pace } = runner
  const view: Eligibility.BatchView = {
    batch,
    schedule: dialing.schedule,
    now,
    callsToday: pace.callsToday,
    organizationBlackoutDates: context.config.organizationBlackoutDates(batch.organizationId)
  }
  const held = Eligibility.decideBatch(dialing.policies, view)
  if (held !== undefined && held.verdict._tag !== "Dial") {
    return holdBatch(context, registry, runner, batch, dialing, held.policy, held.verdict, now)
  }
  if (pace.lastDeferral === "") return dialPass(context, registry, runner, batch, dialing, view, now)
  pace.lastDeferral = ""
  return Effect.andThen(
    EngineMetrics.batchHeld(batch.id, undefined),
    Effect.suspend(() => dialPass(context, registry, runner, batch, dialing, view, now))
  )
}

/** A batch-wide hold (closed window, daily cap): announced once, then the batch rests until it lifts. */
const holdBatch = (
  context: DispatchContext,
  registry: Registry,
  runner: Runner,
  batch: Batch.Batch,
  dialing: Dialing,
  policy: string,
  verdict: Exclude<Eligibility.Verdict, { readonly _tag: "Dial" }>,
  now: number
) =>
  Effect.gen(function*() {
    const { events, store } = context
    const { pace } = runner
    const renewBy = renewAt(context, dialing)
    if (now >= pace.nextEstimateAt) yield* estimateCompletion(context, runner, dialing, now)
    if (runner.inFlight === 0 && (yield* completeIfDone(context, runner, now))) return "continue" as const
    const until = verdict._tag === "Defer" ? verdict.until : undefined
    const key = `${policy}:${until}`
    if (pace.lastDeferral !== key) {
      pace.lastDeferral = key
      const breakdown = yield* store.statusBreakdown(batch.id)
      yield* EngineMetrics.batchHeld(batch.id, { policy, waiting: breakdown.pending + breakdown.queued })
      if (store.webhooks !== undefined) {
        // No stored change rides with a hold: it is recorded on its own.
        yield* store.webhooks.recordChange({
          kind: "deferred",
          organizationId: batch.organizationId,
          batchId: batch.id,
          policy,
          reason: verdict.reason,
          until: until === undefined ? null : new Date(until).toISOString()
        })
      }
      yield* events.publish({
        _tag: "BatchDeferred",
        organizationId: batch.organizationId,
        batchId: batch.id,
        policy,
        reason: verdict.reason,
        until: until === undefined ? null : DateTime.makeUnsafe(until),
        at: utcAt(now)
      })
      yield* estimateCompletion(context, runner, dialing, now)
    }
    const wakeAt = until ?? Number.POSITIVE_INFINITY
    if (runner.inFlight === 0 && wakeAt > renewBy) {
      // Nothing to guard for a while: give the lease up rather than renew it all night.
      yield* store.releaseLease(dialing.lease)
      runner.dialing = undefined
      yield* rest(registry, runner, context.scope, wakeAt)
    } else {
      yield* rest(registry, runner, context.scope, Math.min(wakeAt, renewBy))
    }
    return "continue" as const
  })

/**
 * Keeps `min(limit, dialable)` calls in flight: the contacts due, the contact
 * links' decisions on them together (one lookup per link and step), then the
 * step's attempts begun with one batched write: on a shared store one at a
 * time, a step's round trips would bound the whole batch's dial rate; in
 * memory an effect per dial was most of its cost.
 */
const dialPass = (
  context: DispatchContext,
  registry: Registry,
  runner: Runner,
  batch: Batch.Batch,
  dialing: Dialing,
  view: Eligibility.BatchView,
  now: number
): Effect.Effect<"continue", unknown> => {
  const { pace } = runner
  // Estimated after this pass's dials, when it has any: a batch's first dial waits for no write that can wait.
  const estimateDue = now >= pace.nextEstimateAt
  let budget = batch.concurrentCallLimit - runner.inFlight
  if (batch.maxCallsPerDay !== null) budget = Math.min(budget, batch.maxCallsPerDay - pace.callsToday)
  if (budget <= 0) return settle(context, registry, runner, batch, dialing, { budget, dialed: 0, estimateDue }, now)
  return Effect.flatMap(context.store.dialable(batch.id, utcAt(now), budget, noExclusions), (contacts) =>
    thenNow(
      dialing.contactPolicies
        ? decideContacts(context, runner, dialing, view, contacts, now)
        : Effect.succeed(dialedAs(contacts, { kind: "dial", policy: "eligibility", reason: dialing.dialReason, at: utcAt(now) })),
      (picks): Effect.Effect<"continue", unknown> => {
        const limits = CallLimits.dialLimitsOf(batch, context.config.organizationLimits(batch.organizationId))
        if (limits === undefined) {
          const dialed = picks.length
          return thenNow(
            dialed > 0 ? dialAll(context, runner, dialing, picks, now) : Effect.void,
            () => afterDials(context, registry, runner, batch, dialing, { budget, found: contacts.length, dialed, estimateDue }, now)
          )
        }
        // The organization's limits are counted by the store, across batches and processes.
        return Effect.flatMap(dialWithin(context, runner, dialing, picks, limits, now), (paced) =>
          paced.throttled > 0
            ? rest(registry, runner, context.scope, Math.min(paced.retryAt ?? now + throttledPollMillis, renewAt(context, dialing)))
            : afterDials(context, registry, runner, batch, dialing, { budget, found: contacts.length, dialed: paced.placed, estimateDue }, now))
      }
    ))
}

/** After a pass's dials: the estimate when due; with every slot taken, a rest until a call ends. */
const afterDials = (
  context: DispatchContext,
  registry: Registry,
  runner: Runner,
  batch: Batch.Batch,
  dialing: Dialing,
  pass: { readonly budget: number; readonly found: number; readonly dialed: number; readonly estimateDue: boolean },
  now: number
): Effect.Effect<"continue", unknown> => {
  const { budget, dialed, estimateDue, found } = pass
  if (found < budget) {
    const settling = { budget, dialed, estimateDue: false }
    return estimateDue
      ? Effect.andThen(estimateCompletion(context, runner, dialing, now), settle(context, registry, runner, batch, dialing, settling, now))
      : settle(context, registry, runner, batch, dialing, settling, now)
  }
  // Read after the estimate, when there is one: calls may have ended meanwhile.
  return estimateDue
    ? Effect.andThen(
      estimateCompletion(context, runner, dialing, now),
      Effect.suspend(() => restIfFull(context, registry, runner, batch, dialing))
    )
    : restIfFull(context, registry, runner, batch, dialing)
}

/**
 * Every slot is taken and the day's cap is not reached: another pass now could
 * only rest, so rest at once until a call ends (half the passes of a busy batch).
 */
const restIfFull = (context: DispatchContext, registry: Registry, runner: Runner, batch: Batch.Batch, dialing: Dialing) =>
  runner.inFlight >= batch.concurrentCallLimit &&
    !(batch.maxCallsPerDay !== null && runner.pace.callsToday >= batch.maxCallsPerDay)
    ? rest(registry, runner, context.scope, renewAt(context, dialing))
    : continued

/**
 * A pass that found fewer contacts than slots: the batch completes once
 * every contact is final, otherwise it rests until a call ends, a retry
 * comes due, or the lease needs renewing.
 */
const settle = (
  context: DispatchContext,
  registry: Registry,
  runner: Runner,
  batch: Batch.Batch,
  dialing: Dialing,
  pass: { readonly budget: number; readonly dialed: number; readonly estimateDue: boolean },
  now: number
) =>
  Effect.gen(function*() {
    if (pass.estimateDue) yield* estimateCompletion(context, runner, dialing, now)
    if (pass.dialed === 0 && runner.inFlight === 0 && (yield* completeIfDone(context, runner, now))) return "continue" as const
    const due = pass.budget > 0 ? yield* context.store.nextDueAt(batch.id) : undefined
    yield* rest(
      registry,
      runner,
      context.scope,
      Math.min(due === undefined ? Number.POSITIVE_INFINITY : DateTime.toEpochMillis(due), renewAt(context, dialing))
    )
    return "continue" as const
  })
