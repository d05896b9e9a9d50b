/**
 * A host's options: a calling window required on every batch, and strict
 * validation (one rejected row refuses the whole list) by default or per
 * request.
 */
import { assert, describe, it } from "@effect/vitest"
import { layer as engine, organizationId, phones } from "@outdial/testing/TestEngine"
import * as Effect from "effect/Effect"
import * as Engine from "../src/Engine.ts"

const [first, second] = phones(2, 500)
const contacts = [{ phone: first }, { phone: "12345" }, { phone: second }]

describe("host options", () => {
  it.effect("a required calling window refuses a batch without one, on create and on edit", () =>
    Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const refused = yield* Effect.flip(outdial.createBatch(organizationId, { name: "No window", agentId: "agent_sales", draft: true }))
      assert.strictEqual(refused._tag, "InvalidInput")
      assert.strictEqual((refused as { code: string }).code, "invalid_calling_window")
      const created = yield* outdial.createBatch(organizationId, {
        name: "Window",
        agentId: "agent_sales",
        draft: true,
        callingWindow: { start: "09:00", end: "17:00" }
      })
      const edit = yield* Effect.flip(outdial.updateDraft(organizationId, created.batchJobId, { callingWindows: [] }))
      assert.strictEqual((edit as { code: string }).code, "invalid_calling_window")
    }).pipe(Effect.provide(engine({ config: { requireCallingWindow: true } }))))

  it.effect("strict validation refuses the whole list when a row is rejected, as the host's default or per request", () =>
    Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const refused = yield* Effect.flip(outdial.createBatch(organizationId, { name: "Strict", agentId: "agent_sales", draft: true, contacts }))
      assert.strictEqual((refused as { code: string }).code, "validation_error")
      assert.strictEqual(refused.message, "1 of 3 rows were rejected; strict validation stores none of them")
      assert.deepStrictEqual((refused as { details?: { errorGroups: unknown } }).details?.errorGroups, [
        { code: "invalid_phone_format", message: "Not a phone number", count: 1, rows: [2] }
      ])
      assert.strictEqual((yield* outdial.listBatches(organizationId)).batches.length, 0)
      const lenient = yield* outdial.createBatch(organizationId, { name: "Lenient", agentId: "agent_sales", draft: true, contacts, strictValidation: false })
      assert.deepStrictEqual([lenient.acceptedContacts, lenient.rejectedContacts], [2, 1])
      const added = yield* Effect.flip(outdial.addContacts(organizationId, lenient.batchJobId, { _tag: "Rows", rows: contacts }))
      assert.strictEqual((added as { code: string }).code, "validation_error")
    }).pipe(Effect.provide(engine({ config: { strictValidation: true } }))))
})
