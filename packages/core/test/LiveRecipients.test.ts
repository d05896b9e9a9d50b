/**
 * Recipients of a live batch (issue 16): contacts added while a batch runs
 * are dialed by its dispatcher without anything else waking it, a batch
 * whose contacts were all called completes again once the new ones are, and
 * a removed contact is never dialed. JSON custom fields keep their types in
 * storage and reach the agent as text.
 */
import { assert, describe, it } from "@effect/vitest"
import { advance, allContacts, layer as engine, organizationId, rows, settle, untilFinished } from "@outdial/testing/TestEngine"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import * as BatchStore from "../src/BatchStore.ts"
import * as ContactImport from "../src/ContactImport.ts"
import * as Engine from "../src/Engine.ts"
import * as MemoryBatchStore from "../src/MemoryBatchStore.ts"
import * as SimulatedTelephony from "../src/SimulatedTelephony.ts"

const monday = Date.UTC(2026, 10, 23, 9, 0)
const minuteCalls = { outcomes: { completed: 1 }, ringSeconds: 0, talkSeconds: 60 }

describe("recipients of a live batch", () => {
  it.effect("a running batch dials the contacts added while it runs", () =>
    // The clock is set before the engine starts: moving it far ahead afterwards replays every hourly prune.
    Effect.andThen(TestClock.setTime(monday), Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const created = yield* outdial.createBatch(organizationId, {
        name: "Growing",
        agentId: "agent_sales",
        concurrentCallLimit: 2,
        contacts: rows(2)
      })
      yield* settle
      yield* advance("30 seconds")
      const running = yield* outdial.getBatch(organizationId, created.batchJobId)
      assert.strictEqual(running.status, "running")
      assert.strictEqual(running.progress.statusBreakdown.dialing, 2)

      const added = yield* outdial.addContacts(organizationId, created.batchJobId, { _tag: "Rows", rows: rows(3, 100) })
      assert.deepStrictEqual([added.added, added.totalContacts], [3, 5])
      const grown = yield* outdial.getBatch(organizationId, created.batchJobId)
      assert.strictEqual(grown.totalContacts, 5)
      assert.strictEqual(grown.progress.statusBreakdown.pending, 3)
      // The estimate follows the contacts stored.
      assert.notStrictEqual(grown.estimatedCost, created.estimatedCost)

      const done = yield* untilFinished(created.batchJobId)
      assert.strictEqual(done.status, "completed")
      const final = yield* outdial.getBatch(organizationId, created.batchJobId)
      assert.strictEqual(final.progress.successfulCalls, 5)
      const calls = yield* (yield* SimulatedTelephony.SimulatedTelephony).calls
      assert.strictEqual(new Set(calls.map((call) => call.request.contactId)).size, 5)
    }).pipe(Effect.provide(engine({ telephony: minuteCalls })))))

  it.effect("contacts added between the dispatcher's last count and its completion keep the batch running", () => {
    // A host's add slips in just before the dispatcher completes the batch: the store refuses the
    // completion, and the runner dials the newcomer.
    const base = MemoryBatchStore.make()
    let slipped = false
    const store = Layer.succeed(BatchStore.BatchStore)({
      ...base,
      updateBatch: (batchId, expected, action, patch, options) =>
        Effect.gen(function*() {
          if (options?.unlessContactsLeft === true && !slipped) {
            slipped = true
            const late = yield* ContactImport.validateRows(rows(1, 200), {}).pipe(Effect.orDie)
            yield* base.addContacts(batchId, late.accepted, DateTime.makeUnsafe(monday)).pipe(Effect.orDie)
          }
          return yield* base.updateBatch(batchId, expected, action, patch, options)
        })
    })
    return Effect.andThen(TestClock.setTime(monday), Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const created = yield* outdial.createBatch(organizationId, { name: "Last one", agentId: "agent_sales", contacts: rows(1) })
      const done = yield* untilFinished(created.batchJobId)
      assert.isTrue(slipped)
      assert.strictEqual(done.status, "completed")
      const final = yield* outdial.getBatch(organizationId, created.batchJobId)
      assert.deepStrictEqual([final.totalContacts, final.progress.successfulCalls], [2, 2])
      const refused = yield* Effect.flip(outdial.addContacts(organizationId, created.batchJobId, { _tag: "Rows", rows: rows(1, 300) }))
      assert.strictEqual(refused._tag, "InvalidTransition")
      assert.match(refused.message, /^Cannot add contacts to a batch that is completed/)
    }).pipe(Effect.provide(engine({ telephony: minuteCalls, store }))))
  })

  it.effect("a contact removed from a running batch before its turn is never dialed", () =>
    Effect.andThen(TestClock.setTime(monday), Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const created = yield* outdial.createBatch(organizationId, {
        name: "Trimmed",
        agentId: "agent_sales",
        concurrentCallLimit: 1,
        contacts: rows(3)
      })
      yield* settle
      yield* advance("10 seconds")
      const [first, , last] = yield* allContacts(created.batchJobId)
      assert.strictEqual(first!.status, "dialing")
      const inFlight = yield* Effect.flip(outdial.removeContact(organizationId, created.batchJobId, first!.id))
      assert.strictEqual(inFlight._tag, "InvalidTransition")
      assert.match(inFlight.message, /^Cannot remove a contact that is dialing: its call is in flight/)
      yield* outdial.removeContact(organizationId, created.batchJobId, last!.id)
      assert.strictEqual((yield* untilFinished(created.batchJobId)).status, "completed")
      const calls = yield* (yield* SimulatedTelephony.SimulatedTelephony).calls
      assert.notInclude(calls.map((call) => call.request.contactId), last!.id)
      assert.strictEqual((yield* outdial.getBatch(organizationId, created.batchJobId)).totalContacts, 2)
    }).pipe(Effect.provide(engine({ telephony: minuteCalls })))))

  it.effect("JSON custom fields keep their types in storage and reach the agent as text", () =>
    Effect.andThen(TestClock.setTime(monday), Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const created = yield* outdial.createBatch(organizationId, {
        name: "Typed",
        agentId: "agent_sales",
        contacts: [{ phone: "+4915120000001", seats: 3, vip: true, note: null, plan: "Pro" }]
      })
      const details = yield* outdial.getBatch(organizationId, created.batchJobId)
      assert.deepStrictEqual(details.contacts[0]!.customFields, { seats: 3, vip: true, note: null, plan: "Pro" })
      assert.isTrue(details.contacts[0]!.numberValidated)
      yield* untilFinished(created.batchJobId)
      const calls = yield* (yield* SimulatedTelephony.SimulatedTelephony).calls
      assert.deepStrictEqual(calls[0]!.request.dynamicVariables, { seats: "3", vip: "true", plan: "Pro" })
    }).pipe(Effect.provide(engine({ telephony: minuteCalls })))))
})
