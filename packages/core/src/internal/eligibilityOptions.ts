/**
 * The eligibility options of a create or a draft update, checked and
 * resolved: recipient-local hours (start before end), the holiday calendar
 * (a country and region `date-holidays` knows), the `completeBy` deadline
 * read in the batch's zone. Only those the request gives are returned.
 */
import * as Effect from "effect/Effect"
import * as DateTime from "effect/DateTime"
import * as Batch from "../Batch.ts"
import * as Blackout from "../Blackout.ts"
import type { InvalidInput } from "../OutdialError.ts"
import * as RecipientHours from "../RecipientHours.ts"
import { invalid } from "./engineContext.ts"

export const eligibilityOf = (
  input: Pick<Batch.BatchSettingsInput, "recipientLocalHours" | "holidays" | "completeBy">,
  timezone: string,
  at: DateTime.Utc
): Effect.Effect<Pick<Batch.Resolved, "recipientLocalHours" | "holidays" | "completeBy">, InvalidInput> =>
  Effect.gen(function*() {
    const resolved: { -readonly [K in "recipientLocalHours" | "holidays" | "completeBy"]?: Batch.Resolved[K] } = {}
    if (input.recipientLocalHours !== undefined) {
      resolved.recipientLocalHours = input.recipientLocalHours === null
        ? null
        : yield* Effect.fromResult(RecipientHours.check(input.recipientLocalHours))
    }
    if (input.holidays !== undefined) {
      resolved.holidays = input.holidays === null ? null : yield* Effect.fromResult(Blackout.checkCalendar(input.holidays))
    }
    if (input.completeBy !== undefined) {
      if (input.completeBy === null) {
        resolved.completeBy = null
      } else {
        const deadline = Batch.parseStartTime(input.completeBy, timezone)
        if (deadline._tag === "None") {
          return yield* invalid("validation_error", "completeBy", `completeBy "${input.completeBy}" is not an ISO 8601 date-time`)
        }
        if (DateTime.toEpochMillis(deadline.value) <= DateTime.toEpochMillis(at)) {
          return yield* invalid("validation_error", "completeBy", `completeBy ${DateTime.formatIso(deadline.value)} is in the past`)
        }
        resolved.completeBy = deadline.value
      }
    }
    return resolved
  })
