/**
 * A contact's history: every attempt (the caller number used, when it
 * started, was answered and ended, how it ended) and every eligibility
 * decision (dial, defer, skip) with its policy and reason, in order. This is
 * where caller-id rotation shows: each attempt names the number it used.
 *
 * A store keeps the decisions in the write that records each one (so the
 * history never disagrees with the contact), at most `decisionsKept` per
 * contact: a contact a policy keeps deferring (a closed window every night,
 * a host's check saying "not yet" at every pass) would otherwise grow
 * without bound, and the latest decisions are the ones a person asks about.
 * A store without the history (`BatchStore.contactHistory` is optional)
 * answers with what every store keeps: the last decision and open attempts,
 * marked incomplete (`ContactQueries`).
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import type * as Attempt from "./Attempt.ts"
import type { ContactHistory as StoredHistory } from "./BatchStore.ts"
import * as BatchView from "./BatchView.ts"
import { CallOutcome } from "./CallOutcome.ts"
import type * as Contact from "./Contact.ts"

/**
 * Decisions kept per contact, the latest.
 *
 * @since 0.1.0
 * @category models
 */
export const decisionsKept = 100

/**
 * What a store keeps of a contact's past, oldest first.
 *
 * @since 0.1.0
 * @category models
 */
export type History = StoredHistory

const Instant = Schema.String.annotate({ description: "ISO 8601, UTC" })
const NullableInstant = Schema.NullOr(Instant)

/**
 * One attempt as a client reads it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AttemptView = Schema.Struct({
  attemptId: Schema.String,
  attemptNumber: Schema.Int,
  state: Schema.Literals(["dialing", "finished"]),
  callerNumberId: Schema.String,
  callerNumber: Schema.NullOr(Schema.String).annotate({ description: "E.164 of the caller number, when the directory still knows it" }),
  startedAt: Instant,
  answeredAt: NullableInstant.annotate({ description: "The end less the talk time, for a call that was talked on" }),
  endedAt: NullableInstant,
  outcome: Schema.NullOr(CallOutcome),
  sipCode: Schema.NullOr(Schema.Int),
  duration: Schema.NullOr(Schema.Finite).annotate({ description: "Seconds of conversation after answer" }),
  failureReason: Schema.NullOr(Schema.String),
  providerCallId: Schema.NullOr(Schema.String).annotate({ description: "The provider's id of the call (the LiveKit room name)" })
})
export type AttemptView = typeof AttemptView.Type

/**
 * A contact with its whole history.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContactDetails = Schema.Struct({
  contact: BatchView.ContactView,
  attempts: Schema.Array(AttemptView),
  decisions: Schema.Array(BatchView.DecisionView).annotate({
    description: `Eligibility decisions, oldest first: the latest ${decisionsKept} are kept`
  }),
  historyComplete: Schema.Boolean.annotate({
    description: "false when the store keeps no history: then only the last decision and open attempts are listed"
  })
})
export type ContactDetails = typeof ContactDetails.Type

const iso = (time: DateTime.Utc | null) => time === null ? null : DateTime.formatIso(time)

/**
 * @since 0.1.0
 * @category mappers
 */
export const attemptView = (attempt: Attempt.Attempt, callerNumber: string | null): AttemptView => ({
  attemptId: attempt.id,
  attemptNumber: attempt.attemptNumber,
  state: attempt.state,
  callerNumberId: attempt.callerNumberId,
  callerNumber,
  startedAt: DateTime.formatIso(attempt.startedAt),
  answeredAt: attempt.endedAt !== null && attempt.duration !== null && attempt.duration > 0
    ? DateTime.formatIso(DateTime.makeUnsafe(DateTime.toEpochMillis(attempt.endedAt) - Math.round(attempt.duration * 1000)))
    : null,
  endedAt: iso(attempt.endedAt),
  outcome: attempt.outcome,
  sipCode: attempt.sipCode,
  duration: attempt.duration,
  failureReason: attempt.failureReason,
  providerCallId: attempt.roomName
})

/**
 * @since 0.1.0
 * @category mappers
 */
export const detailsOf = (
  contact: Contact.Contact,
  history: History & { readonly complete: boolean },
  callerNumbers: ReadonlyMap<string, string>,
  nextEligibleAt?: number | null
): ContactDetails => ({
  contact: BatchView.contactView(contact, nextEligibleAt),
  attempts: history.attempts.map((attempt) => attemptView(attempt, callerNumbers.get(attempt.callerNumberId) ?? null)),
  decisions: history.decisions.map(BatchView.decisionView),
  historyComplete: history.complete
})
