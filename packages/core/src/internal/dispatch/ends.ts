/**
 * How a call's end leaves its contact: retried when (the retry policy's
 * delay, then the first instant every link answered in place allows), called
 * back when the recipient asked, or done.
 */
import * as DateTime from "effect/DateTime"
import type { AttemptEnd } from "../../BatchStore.ts"
import type { CallOutcome } from "../../CallOutcome.ts"
import * as CallingWindow from "../../CallingWindow.ts"
import type { Contact } from "../../Contact.ts"
import * as Eligibility from "../../Eligibility.ts"
import * as RetryPolicy from "../../RetryPolicy.ts"
import { callbackAtOf, type CallResult } from "../../Telephony.ts"
import { type Dialing, type DispatchContext, type Runner, utcAt } from "./context.ts"

/**
 * When a contact whose call ended at `now` with `outcome` is dialed again,
 * or `undefined` when it is not: the policy's delay, then the first instant
 * the batch-wide policies let the batch dial.
 */
export const nextRetryAt = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  contact: Contact,
  outcome: CallOutcome,
  now: number
): number | undefined => {
  const batch = runner.batch!
  if (!RetryPolicy.shouldRetry(batch.retryPolicy, outcome, contact.attemptCount, contact.maxAttempts)) return undefined
  return eligibleFrom(context, runner, dialing, contact, now + RetryPolicy.delayAfter(batch.retryPolicy, outcome, contact.attemptCount) * 1000, now)
}

/**
 * The first instant from `due` at which every link answered in place lets the
 * contact be dialed; `undefined` past the horizon (it could never come).
 */
const eligibleFrom = (context: DispatchContext, runner: Runner, dialing: Dialing, contact: Contact, due: number, now: number) => {
  const batch = runner.batch!
  const { localDate, callsToday } = runner.pace
  const view: Eligibility.BatchView = {
    batch,
    schedule: dialing.schedule,
    now: due,
    callsToday: 0,
    organizationBlackoutDates: context.config.organizationBlackoutDates(batch.organizationId)
  }
  const at = Eligibility.nextContactDial(dialing.policies, view, contact, (at) =>
    // Attempts of today count against today's cap; a later day starts afresh.
    CallingWindow.localDate(dialing.schedule, at) === localDate ? callsToday : 0)
  return at <= now + retryHorizonMillis ? at : undefined
}

/**
 * The record of a call's end (`endedAt` is `now`), with how it leaves the
 * contact: its status, when it is dialed again, and whether the attempt
 * counts. A callback the recipient asked for comes first: the contact waits
 * for it (every policy applied) whatever the outcome and the attempts left,
 * and the attempt is refunded; otherwise the retry policy decides. Every end
 * has one shape, built here field by field: one per call, and a spread of
 * ends of several shapes was a visible share of recording it.
 */
export const endOf = (
  context: DispatchContext,
  runner: Runner,
  dialing: Dialing,
  contact: Contact,
  attemptId: string,
  result: CallResult,
  now: number
): AttemptEnd => {
  const endedAt = utcAt(now)
  // Asked never to be called again: no retry and no callback.
  if (result.optOut === true) {
    return { attemptId, result, endedAt, status: result.outcome, nextRetryAt: null, decision: null, refundAttempt: false }
  }
  const callback = callbackAtOf(result)
  const callbackDue = callback === undefined
    ? undefined
    : eligibleFrom(context, runner, dialing, contact, Math.max(callback, now), now)
  if (callback !== undefined && callbackDue !== undefined) {
    const until = DateTime.makeUnsafe(callbackDue)
    return {
      attemptId,
      result,
      endedAt,
      status: "queued",
      nextRetryAt: until,
      decision: {
        kind: "defer",
        policy: "callback",
        reason: `callback requested for ${new Date(callback).toISOString()}` +
          (callbackDue > Math.max(callback, now) ? `; first allowed ${new Date(callbackDue).toISOString()}` : ""),
        at: endedAt,
        until
      },
      refundAttempt: true
    }
  }
  const retryAt = nextRetryAt(context, runner, dialing, contact, result.outcome, now)
  return {
    attemptId,
    result,
    endedAt,
    status: retryAt === undefined ? result.outcome : "queued",
    nextRetryAt: retryAt === undefined ? null : DateTime.makeUnsafe(retryAt),
    decision: null,
    refundAttempt: false
  }
}

/** Further away than this a retry is no retry; it also keeps every time well inside a date's range. */
const retryHorizonMillis = 400 * 86_400_000

