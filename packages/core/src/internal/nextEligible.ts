/**
 * When a waiting contact will really be dialed, as a page of contacts shows
 * it: its stored due time (a retry's, a deferral's, a callback's) moved on
 * past every link that can be answered without asking anyone — the batch's
 * calling windows and daily cap, recipient-local hours, blackouts — and past
 * a scheduled start. A host's own pre-dial checks are asked only at dial
 * time, so they cannot move it.
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Batch from "../Batch.ts"
import type { BatchStore } from "../BatchStore.ts"
import * as CallingWindow from "../CallingWindow.ts"
import type * as Contact from "../Contact.ts"
import * as Eligibility from "../Eligibility.ts"
import type { StoreError } from "../OutdialError.ts"

const waiting = (contact: Contact.Contact) => contact.status === "pending" || contact.status === "queued"

/**
 * A function from a contact of `batch` to the instant it is next dialed
 * (epoch ms), or `null` when it is due as soon as its batch dials, or does
 * not wait.
 */
export const make = (
  store: BatchStore["Service"],
  batch: Batch.Batch,
  organizationBlackoutDates: ReadonlyArray<string>
): Effect.Effect<(contact: Contact.Contact) => number | null, StoreError> =>
  Effect.gen(function*() {
    const stored = (contact: Contact.Contact) =>
      waiting(contact) && contact.nextRetryAt !== null ? DateTime.toEpochMillis(contact.nextRetryAt) : null
    const compiled = CallingWindow.compile({
      timeZone: batch.timezone,
      windows: batch.callingWindows,
      workingDays: batch.workingDays
    })
    // A batch that does not dial now (a draft, a paused one) dials nobody until someone acts: no time to show but the stored one.
    if (Result.isFailure(compiled) || !(batch.status === "scheduled" || Batch.dispatchable.includes(batch.status))) {
      return stored
    }
    const schedule = compiled.success
    const now = yield* DateTime.now.pipe(Effect.map(DateTime.toEpochMillis))
    const today = CallingWindow.localDate(schedule, now)
    const callsToday = yield* store.attemptsOnDay(batch.id, today)
    const policies = Eligibility.applicable(Eligibility.builtIn, batch, organizationBlackoutDates)
    const start = batch.status === "scheduled" && batch.scheduledStartTime !== null
      ? DateTime.toEpochMillis(batch.scheduledStartTime)
      : now
    return (contact) => {
      if (!waiting(contact)) return null
      const from = Math.max(now, start, stored(contact) ?? now)
      const view: Eligibility.BatchView = { batch, schedule, now: from, callsToday, organizationBlackoutDates }
      // Attempts of today count against today's cap; a later day starts afresh.
      const at = Eligibility.nextContactDial(policies, view, contact, (at) =>
        CallingWindow.localDate(schedule, at) === today ? callsToday : 0)
      return at > now ? at : null
    }
  })
