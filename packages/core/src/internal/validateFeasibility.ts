/**
 * Feasibility for a validation: the settings a create would carry (its
 * deadline, concurrency, windows, recipient hours, blackouts), checked as a
 * create checks them, and the contacts the validation accepted, estimated
 * as a create would estimate them. Nothing is stored.
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Batch from "../Batch.ts"
import * as Feasibility from "../Feasibility.ts"
import type { InvalidInput } from "../OutdialError.ts"
import { decodeInput } from "./decodeInput.ts"
import { eligibilityOf } from "./eligibilityOptions.ts"
import { type EngineContext, now, schedulingOf, startTimeOf } from "./engineContext.ts"


const decodeSettings = decodeInput(Batch.BatchSettingsInput)

/** The estimate for `phones` under `raw` settings; none unless they give a `completeBy`. */
export const validateFeasibility = (
  context: EngineContext,
  raw: Readonly<Record<string, unknown>> | undefined,
  phones: ReadonlyArray<string>
): Effect.Effect<Feasibility.Feasibility | undefined, InvalidInput> =>
  Effect.gen(function*() {
    if (raw === undefined || raw.completeBy === undefined || raw.completeBy === null) return undefined
    const picked = Object.fromEntries(Feasibility.settingKeys.filter((key) => raw[key] !== undefined).map((key) => [key, raw[key]]))
    const input = yield* decodeSettings(picked)
    const at = yield* now
    const { callingWindows, schedule, timezone, workingDays } = yield* schedulingOf(input, Batch.defaultSettings)
    const scheduledStartTime = yield* Effect.fromResult(startTimeOf(input.scheduledStartTime, timezone, at))
    const settings = Batch.applySettings(Batch.defaultSettings, input, {
      timezone,
      callingWindows,
      workingDays,
      scheduledStartTime,
      ...(yield* eligibilityOf(input, timezone, at))
    })
    const batch = Batch.make({
      id: "validation",
      organizationId: "",
      status: "draft",
      settings,
      totalContacts: phones.length,
      estimate: { estimatedDuration: "", estimatedCost: "" },
      at
    })
    return Feasibility.estimate({
      batch,
      schedule,
      phones,
      start: DateTime.toEpochMillis(scheduledStartTime ?? at),
      averageCallSeconds: context.config.averageCallSeconds
    })
  })
