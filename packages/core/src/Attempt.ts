/**
 * An attempt is one dial of one contact. Its id is deterministic, so it is
 * the idempotency key towards the telephony provider (the LiveKit room name,
 * say): a process that recovers a half-finished dial asks the provider about
 * this id instead of dialing again.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { CallOutcome } from "./CallOutcome.ts"

/**
 * The id of attempt `attemptNumber` (from 1) of a contact.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeId = (batchId: string, contactId: string, attemptNumber: number): string =>
  `${batchId}_${contactId}_${attemptNumber}`

/**
 * @since 0.1.0
 * @category models
 */
export const AttemptState = Schema.Literals(["dialing", "finished"])
export type AttemptState = typeof AttemptState.Type

/**
 * @since 0.1.0
 * @category models
 */
export const Attempt = Schema.Struct({
  id: Schema.String,
  batchId: Schema.String,
  contactId: Schema.String,
  attemptNumber: Schema.Int,
  state: AttemptState,
  callerNumberId: Schema.String,
  startedAt: Schema.DateTimeUtc,
  endedAt: Schema.NullOr(Schema.DateTimeUtc),
  outcome: Schema.NullOr(CallOutcome),
  sipCode: Schema.NullOr(Schema.Int),
  duration: Schema.NullOr(Schema.Number),
  roomName: Schema.NullOr(Schema.String),
  failureReason: Schema.NullOr(Schema.String)
})
export type Attempt = typeof Attempt.Type

/**
 * An attempt as it is begun: dialing, nothing known of its end yet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const begun = (fields: {
  readonly id: string
  readonly batchId: string
  readonly contactId: string
  readonly attemptNumber: number
  readonly callerNumberId: string
  readonly startedAt: Attempt["startedAt"]
}): Attempt => ({
  // Field by field, not a spread: one per dial, and a spread plus new keys was a visible share of it.
  id: fields.id,
  batchId: fields.batchId,
  contactId: fields.contactId,
  attemptNumber: fields.attemptNumber,
  callerNumberId: fields.callerNumberId,
  startedAt: fields.startedAt,
  state: "dialing",
  endedAt: null,
  outcome: null,
  sipCode: null,
  duration: null,
  roomName: null,
  failureReason: null
})

/**
 * An attempt as it ends, field by field in the shape of `begun`: one per
 * call, and a spread copy cost several times as much.
 *
 * @since 0.1.0
 * @category constructors
 */
export const finished = (
  attempt: Attempt,
  end: Pick<Attempt, "endedAt" | "outcome" | "sipCode" | "duration" | "roomName" | "failureReason">
): Attempt => ({
  id: attempt.id,
  batchId: attempt.batchId,
  contactId: attempt.contactId,
  attemptNumber: attempt.attemptNumber,
  callerNumberId: attempt.callerNumberId,
  startedAt: attempt.startedAt,
  state: "finished",
  endedAt: end.endedAt,
  outcome: end.outcome,
  sipCode: end.sipCode,
  duration: end.duration,
  roomName: end.roomName,
  failureReason: end.failureReason
})
