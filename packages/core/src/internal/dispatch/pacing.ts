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
import { rest } from "./alarm.ts"
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
  Effect.flatMap(Eligibility.decideContacts(dialing.policies, view, contacts, dialing.dialReason), (decisions) => {
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

/** One pass over a running batch: hold back, dial, complete or rest. */
export const runStep = (context: DispatchContext, registry: Registry, runner: Runner, batch: Batch.Batch, now: number) =>
  Effect.gen(function*() {
    const { credits, events, store } = context
    const { pace } = runner
    let dialing = runner.dialing
    if (dialing === undefined) {
      dialing = yield* takeOver(context, runner, batch, now)
      if (dialing === undefined) return "stop" as const
    } else if (now >= renewAt(context, dialing)) {
      dialing = yield* renew(context, runner, dialing, now)
      if (dialing === undefined) return "stop" as const
    }
    const renewBy = renewAt(context, dialing)

    if ((yield* credits.balance(batch.organizationId)) <= 0) {
      yield* moveBatch(context, runner, ["running"], "pause", {
        status: "paused",
        statusReason: "insufficient credits: add credits and resume the batch"
      }, now)
      return "continue" as const
    }
    // Estimated after this pass's dials, when it has any: a batch's first dial waits for no write that can wait.
    let estimateDue = now >= pace.nextEstimateAt

    const localDate = CallingWindow.localDate(dialing.schedule, now)
    if (localDate !== pace.localDate) {
      pace.localDate = localDate
      pace.callsToday = yield* store.attemptsOnDay(batch.id, localDate)
    }
    const view: Eligibility.BatchView = {
      batch,
      schedule: dialing.schedule,
      now,
      callsToday: pace.callsToday,
      organizationBlackoutDates: context.config.organizationBlackoutDates(batch.organizationId)
    }
    const held = Eligibility.decideBatch(dialing.policies, view)
    if (held !== undefined && held.verdict._tag !== "Dial") {
      if (estimateDue) yield* estimateCompletion(context, runner, dialing, now)
      if (runner.inFlight === 0 && (yield* completeIfDone(context, runner, now))) return "continue" as const
      const until = held.verdict._tag === "Defer" ? held.verdict.until : undefined
      const key = `${held.policy}:${until}`
      if (pace.lastDeferral !== key) {
        pace.lastDeferral = key
        const breakdown = yield* store.statusBreakdown(batch.id)
        yield* EngineMetrics.batchHeld(batch.id, { policy: held.policy, waiting: breakdown.pending + breakdown.queued })
        if (store.webhooks !== undefined) {
          // No stored change rides with a hold: it is recorded on its own.
          yield* store.webhooks.recordChange({
            kind: "deferred",
            organizationId: batch.organizationId,
            batchId: batch.id,
            policy: held.policy,
            reason: held.verdict.reason,
            until: until === undefined ? null : new Date(until).toISOString()
          })
        }
        yield* events.publish({
          _tag: "BatchDeferred",
          organizationId: batch.organizationId,
          batchId: batch.id,
          policy: held.policy,
          reason: held.verdict.reason,
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
    }
    if (pace.lastDeferral !== "") {
      pace.lastDeferral = ""
      yield* EngineMetrics.batchHeld(batch.id, undefined)
    }

    let budget = batch.concurrentCallLimit - runner.inFlight
    if (batch.maxCallsPerDay !== null) budget = Math.min(budget, batch.maxCallsPerDay - pace.callsToday)
    let dialed = 0
    if (budget > 0) {
      const contacts = yield* store.dialable(batch.id, utcAt(now), budget, noExclusions)
      // The contacts' decisions first (the contact links judge the step's contacts
      // together: one lookup per link and step), then the step's attempts begun with
      // one batched write: on a shared store one at a time, a step's round trips would
      // bound the whole batch's dial rate; in memory an effect per dial was most of its cost.
      const picks = dialing.contactPolicies
        ? yield* decideContacts(context, runner, dialing, view, contacts, now)
        : dialedAs(contacts, { kind: "dial", policy: "eligibility", reason: dialing.dialReason, at: utcAt(now) })
      const limits = CallLimits.dialLimitsOf(batch, context.config.organizationLimits(batch.organizationId))
      if (limits !== undefined) {
        // The organization's limits are counted by the store, across batches and processes.
        const paced = yield* dialWithin(context, runner, dialing, picks, limits, now)
        dialed += paced.placed
        if (paced.throttled > 0) {
          yield* rest(registry, runner, context.scope, Math.min(paced.retryAt ?? now + throttledPollMillis, renewBy))
          return "continue" as const
        }
      } else if (picks.length > 0) {
        yield* dialAll(context, runner, dialing, picks, now)
        dialed += picks.length
      }
      if (estimateDue) {
        estimateDue = false
        yield* estimateCompletion(context, runner, dialing, now)
      }
      if (contacts.length === budget) {
        // Every slot is taken and the day's cap is not reached: another pass now could only
        // rest, so rest at once until a call ends (half the passes of a busy batch).
        if (runner.inFlight >= batch.concurrentCallLimit && !(batch.maxCallsPerDay !== null && pace.callsToday >= batch.maxCallsPerDay)) {
          yield* rest(registry, runner, context.scope, renewBy)
        }
        return "continue" as const
      }
    }
    if (estimateDue) yield* estimateCompletion(context, runner, dialing, now)
    if (dialed === 0 && runner.inFlight === 0 && (yield* completeIfDone(context, runner, now))) return "continue" as const
    // Nothing more is due now: rest until a call ends, a retry comes due, or the lease needs renewing.
    const due = budget > 0 ? yield* store.nextDueAt(batch.id) : undefined
    yield* rest(registry, runner, context.scope, Math.min(due === undefined ? Number.POSITIVE_INFINITY : DateTime.toEpochMillis(due), renewBy))
    return "continue" as const
  })
