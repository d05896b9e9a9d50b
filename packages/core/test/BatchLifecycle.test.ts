import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Result from "effect/Result"
import * as Batch from "../src/Batch.ts"
import * as BatchLifecycle from "../src/BatchLifecycle.ts"

const at = DateTime.makeUnsafe(Date.UTC(2026, 2, 27, 8, 0))

const batchIn = (status: Batch.BatchStatus, overrides: Partial<Batch.Batch> = {}): Batch.Batch => ({
  ...Batch.make({
    id: "batch_1",
    organizationId: "org",
    status,
    settings: { ...Batch.defaultSettings, name: "Plans", agentId: "agent", phoneNumberIds: ["num_1"] },
    totalContacts: 3,
    estimate: { estimatedDuration: "about 1 minute", estimatedCost: "$0.10" },
    at
  }),
  ...overrides
})

const outcome = (result: Result.Result<BatchLifecycle.Patch, { readonly _tag: string; readonly code?: string }>) =>
  Result.isSuccess(result) ? result.success : (result.failure.code ?? result.failure._tag)

describe("BatchLifecycle.plan", () => {
  const started = DateTime.makeUnsafe(Date.UTC(2026, 2, 27, 7, 0))
  const later = DateTime.makeUnsafe(Date.UTC(2026, 2, 28, 7, 0))
  const table: ReadonlyArray<readonly [string, Batch.Batch, BatchLifecycle.Request, unknown]> = [
    ["pause a running batch", batchIn("running"), { action: "pause" }, { status: "paused", statusReason: "paused by request" }],
    ["pause a draft", batchIn("draft"), { action: "pause" }, "invalid_state_transition"],
    ["resume a batch that had started", batchIn("paused", { actualStartTime: started }), { action: "resume" }, { status: "running", statusReason: null }],
    ["resume a batch due at a time", batchIn("paused", { scheduledStartTime: later }), { action: "resume" }, { status: "scheduled", statusReason: null }],
    ["resume a batch due at once", batchIn("paused"), { action: "resume" }, { status: "pending", statusReason: null }],
    ["resume a running batch", batchIn("running"), { action: "resume" }, "invalid_state_transition"],
    ["cancel a scheduled batch", batchIn("scheduled"), { action: "cancel" }, { status: "cancelled", completedAt: at, statusReason: "cancelled by request" }],
    ["cancel a completed batch", batchIn("completed"), { action: "cancel" }, "invalid_state_transition"],
    ["retry a completed batch", batchIn("completed"), { action: "retry" }, { status: "running", completedAt: null, statusReason: null }],
    ["retry a running batch", batchIn("running"), { action: "retry" }, "invalid_state_transition"],
    ["retry a cancelled batch", batchIn("cancelled"), { action: "retry" }, { status: "running", completedAt: null, statusReason: null }],
    ["retry a failed batch", batchIn("failed"), { action: "retry" }, { status: "running", completedAt: null, statusReason: null }],
    ["schedule a draft now", batchIn("draft"), { action: "schedule" }, { status: "pending", scheduledStartTime: null }],
    ["schedule a draft later", batchIn("draft"), { action: "schedule", scheduledStartTime: "2026-03-28T07:00:00Z" }, { status: "scheduled", scheduledStartTime: later }],
    ["schedule a draft in the past", batchIn("draft"), { action: "schedule", scheduledStartTime: "2026-03-26T07:00:00Z" }, "past_scheduled_time"],
    ["schedule an empty draft", batchIn("draft", { totalContacts: 0 }), { action: "schedule", scheduledStartTime: "2026-03-26T07:00:00Z" }, "invalid_state_transition"],
    ["schedule a running batch", batchIn("running"), { action: "schedule" }, "invalid_state_transition"]
  ]
  for (const [name, batch, request, expected] of table) {
    it(name, () => assert.deepStrictEqual(outcome(BatchLifecycle.plan(batch, request, at)), expected))
  }

  it("an update writes the settings and the new estimate, only of a draft", () => {
    const settings = Batch.applySettings(Batch.settingsOf(batchIn("draft")), { name: "Renamed", defaultCountry: "de" }, {})
    const estimate = { estimatedDuration: "about 2 minutes", estimatedCost: "$0.20" }
    assert.deepStrictEqual(
      outcome(BatchLifecycle.plan(batchIn("draft"), { action: "update", settings, estimate }, at)),
      { ...settings, ...estimate }
    )
    assert.strictEqual(settings.name, "Renamed")
    assert.strictEqual(settings.defaultCountry, "DE")
    assert.strictEqual(outcome(BatchLifecycle.plan(batchIn("pending"), { action: "update", settings, estimate }, at)), "invalid_state_transition")
  })
})

describe("Batch", () => {
  it("derives the statuses the dispatcher watches and each action's sources from the machine", () => {
    assert.deepStrictEqual([...Batch.dispatchable].sort(), ["pending", "running", "scheduled"])
    assert.deepStrictEqual([...Batch.sourcesOf("fail")].sort(), ["draft", "paused", "pending", "running", "scheduled"])
    assert.deepStrictEqual(Batch.sourcesOf("retry"), ["completed", "cancelled", "failed"])
  })
})
