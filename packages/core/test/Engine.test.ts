import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import * as BatchQueries from "../src/BatchQueries.ts"
import * as CallerRotation from "../src/CallerRotation.ts"
import * as Dispatcher from "../src/Dispatcher.ts"
import * as Engine from "../src/Engine.ts"
import * as SimulatedTelephony from "../src/SimulatedTelephony.ts"
import { layer as engine, organizationId, otherOrganizationId, rows } from "@outdial/testing/TestEngine"

const monday = Date.UTC(2026, 10, 23, 9, 0)

const run = <A, E>(body: Effect.Effect<A, E, Engine.Engine | Dispatcher.Dispatcher | SimulatedTelephony.SimulatedTelephony>) =>
  Effect.andThen(
    TestClock.setTime(monday),
    Effect.provide(body, engine({ telephony: { outcomes: { completed: 1 }, ringSeconds: 0, talkSeconds: 30 } }))
  )

const draft = (input: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const outdial = yield* Engine.Engine
    return yield* outdial.createBatch(organizationId, { name: "Draft", agentId: "agent_sales", draft: true, ...input })
  })

const codeOf = (error: unknown) => (error as { code?: string }).code

describe("Engine", () => {
  it.effect("creates a draft without contacts, edits it, adds and removes contacts, then schedules it", () =>
    run(Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const created = yield* draft()
      assert.strictEqual(created.status, "draft")
      assert.strictEqual(created.acceptedContacts, 0)

      const empty = yield* Effect.flip(outdial.schedule(organizationId, created.batchJobId))
      // A lifecycle refusal that says why (issue 16): not a bad request.
      assert.strictEqual(codeOf(empty), "invalid_state_transition")
      assert.strictEqual(empty.message, "Cannot schedule a batch that is draft: it has no contacts yet")

      const edited = yield* outdial.updateDraft(organizationId, created.batchJobId, {
        name: "Renewals",
        concurrentCallLimit: 10,
        maxAttempts: 5,
        retryDelay: { default: "PT1H", busy: 300 },
        callingWindow: { start: "09:00", end: "17:00" },
        timezone: "Europe/Berlin",
        phoneNumberIds: ["num_2"]
      })
      assert.strictEqual(edited.name, "Renewals")
      assert.strictEqual(edited.concurrentCallLimit, 10)
      assert.deepStrictEqual(edited.retryPolicy.retryDelayByOutcome, { busy: 300 })
      assert.deepStrictEqual(edited.retryPolicy.retryDelaySeconds, [3600])
      assert.strictEqual(edited.retryPolicy.maxAttempts, 5)
      assert.deepStrictEqual(edited.phoneNumberIds, ["num_2"])
      assert.strictEqual(edited.timezone, "Europe/Berlin")

      const badEdit = yield* Effect.flip(outdial.updateDraft(organizationId, created.batchJobId, { concurrentCallLimit: 101 }))
      assert.strictEqual(codeOf(badEdit), "validation_error")
      assert.match(badEdit.message, /concurrentCallLimit/)

      const added = yield* outdial.addContacts(organizationId, created.batchJobId, {
        _tag: "Rows",
        rows: [...rows(3), { phone: "not a number" }, { ...rows(1)[0], externalId: "crm-1" }]
      })
      assert.strictEqual(added.added, 4)
      assert.strictEqual(added.rejectedContacts, 1)
      assert.strictEqual(added.totalContacts, 4)
      // The same externalId again is skipped: appending is safe to retry.
      const again = yield* outdial.addContacts(organizationId, created.batchJobId, {
        _tag: "Rows",
        rows: [{ phone: rows(1, 50)[0]!.phone, externalId: "crm-1" }]
      })
      assert.deepStrictEqual([again.added, again.skipped], [0, 1])

      const read = yield* outdial.getBatch(organizationId, created.batchJobId)
      yield* outdial.removeContact(organizationId, created.batchJobId, read.contacts[0]!.contactId)
      const missing = yield* Effect.flip(outdial.removeContact(organizationId, created.batchJobId, "contact_missing"))
      assert.strictEqual(missing._tag, "ContactNotFound")

      const scheduled = yield* outdial.schedule(organizationId, created.batchJobId, { scheduledStartTime: "2026-11-24T09:00" })
      assert.strictEqual(scheduled.status, "scheduled")
      assert.strictEqual(scheduled.scheduledStartTime, "2026-11-24T08:00:00.000Z")
      assert.strictEqual(scheduled.totalContacts, 3)

      const late = yield* Effect.flip(outdial.updateDraft(organizationId, created.batchJobId, { name: "Too late" }))
      assert.strictEqual(late._tag, "InvalidTransition")
      assert.strictEqual(late.message, "Cannot update a batch that is scheduled")
      // Issue 16: recipients still change once the batch is scheduled, not once it is final.
      const lateAdd = yield* outdial.addContacts(organizationId, created.batchJobId, { _tag: "Rows", rows: rows(1, 60) })
      assert.deepStrictEqual([lateAdd.added, lateAdd.totalContacts], [1, 4])
      yield* outdial.cancel(organizationId, created.batchJobId)
      const finalAdd = yield* Effect.flip(outdial.addContacts(organizationId, created.batchJobId, { _tag: "Rows", rows: rows(1, 70) }))
      assert.strictEqual(finalAdd._tag, "InvalidTransition")
      assert.strictEqual(finalAdd.message, "Cannot add contacts to a batch that is cancelled")
    })))

  it.effect("reads a batch with progress, timing and a page of contacts, and refuses bad page parameters", () =>
    run(Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const created = yield* outdial.createBatch(organizationId, { name: "Reads", agentId: "agent_sales", contacts: rows(120) })
      yield* (yield* Dispatcher.Dispatcher).settled
      yield* TestClock.adjust("5 minutes")
      // A query string is decoded at the edge, with the same Schema the engine checks typed queries with.
      const fromUrl = (query: Record<string, string>) =>
        Effect.flatMap(BatchQueries.decodeContactsQuery(query), (decoded) => outdial.getBatch(organizationId, created.batchJobId, decoded))
      const page = yield* fromUrl({ contactsPage: "2", contactsPageSize: "50" })
      assert.strictEqual(page.contacts.length, 50)
      assert.strictEqual(page.contacts[0]!.row, 51)
      assert.strictEqual(page.contactsTotal, 120)
      assert.isTrue(page.contactsHasMore)
      assert.strictEqual(page.progress.totalContacts, 120)
      assert.strictEqual(page.progress.successfulCalls + page.progress.statusBreakdown.pending + page.progress.statusBreakdown.dialing, 120)
      assert.isNotNull(page.timing.actualStartTime)
      assert.isNotNull(page.timing.estimatedCompletionTime)

      const completed = yield* outdial.getBatch(organizationId, created.batchJobId, { contactStatus: "completed", contactsPageSize: 500 })
      assert.isTrue(completed.contacts.every((c) => c.status === "completed" && c.attemptCount === 1 && c.roomName !== null))
      assert.strictEqual(completed.contactsTotal, completed.progress.successfulCalls)

      const errors = yield* Effect.all([
        Effect.flip(fromUrl({ contactStatus: "happy" })),
        Effect.flip(outdial.getBatch(organizationId, created.batchJobId, { contactsPage: 0 })),
        Effect.flip(fromUrl({ contactsPage: "two" })),
        Effect.flip(outdial.getBatch(organizationId, created.batchJobId, { contactsPageSize: 501 })),
        Effect.flip(fromUrl({ contactsPageSize: "0" })),
        Effect.flip(outdial.getBatch(organizationId, created.batchJobId, { contactStatus: "happy" as never }))
      ])
      assert.deepStrictEqual(errors.map(codeOf), [
        "invalid_contact_status",
        "invalid_page",
        "invalid_page",
        "invalid_page_size",
        "invalid_page_size",
        "invalid_contact_status"
      ])
      yield* TestClock.adjust("1 hour")
      const done = yield* outdial.getBatch(organizationId, created.batchJobId)
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.timing.estimatedCompletionTime, done.timing.completedAt)
    })))

  it.effect("lists batches with filters and pagination, newest first", () =>
    run(Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      for (let i = 0; i < 3; i++) {
        yield* draft({ name: `Draft ${i}` })
        yield* TestClock.adjust("1 second")
      }
      yield* outdial.createBatch(organizationId, { name: "Live", fromPhoneNumberId: "num_1", contacts: rows(2) })
      const all = yield* outdial.listBatches(organizationId, { limit: 2 })
      assert.deepStrictEqual(all.batches.map((b) => b.name), ["Live", "Draft 2"])
      assert.deepStrictEqual(all.pagination, { total: 4, limit: 2, offset: 0, hasMore: true })
      const drafts = yield* Effect.flatMap(BatchQueries.decodeListQuery({ status: "draft", offset: "1" }), (query) => outdial.listBatches(organizationId, query))
      assert.deepStrictEqual(drafts.batches.map((b) => b.name), ["Draft 1", "Draft 0"])
      const byAgent = yield* outdial.listBatches(organizationId, { agentId: "agent_bare" })
      assert.strictEqual(byAgent.pagination.total, 0)
      const errors = yield* Effect.all([
        Effect.flip(BatchQueries.decodeListQuery({ status: "sleeping" })),
        Effect.flip(outdial.listBatches(organizationId, { limit: 101 })),
        Effect.flip(outdial.listBatches(organizationId, { offset: -1 }))
      ])
      assert.deepStrictEqual(errors.map((e) => [codeOf(e), (e as { field?: string }).field]), [
        ["validation_error", "status"],
        ["validation_error", "limit"],
        ["validation_error", "offset"]
      ])
    })))

  it.effect("refuses agents and caller numbers that cannot call, storing nothing", () =>
    run(Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const attempts = yield* Effect.all([
        Effect.flip(outdial.createBatch(organizationId, { name: "x", agentId: "agent_missing", contacts: rows(1) })),
        Effect.flip(outdial.createBatch(organizationId, { name: "x", agentId: "agent_draft", contacts: rows(1) })),
        Effect.flip(outdial.createBatch(organizationId, { name: "x", agentId: "agent_bare", contacts: rows(1) })),
        Effect.flip(outdial.createBatch(organizationId, { name: "x", agentId: "agent_sales", fromPhoneNumberId: "num_inbound", contacts: rows(1) })),
        Effect.flip(outdial.createBatch(organizationId, { name: "x", fromPhoneNumberId: "num_other", contacts: rows(1) })),
        Effect.flip(outdial.createBatch(organizationId, { name: "x", contacts: rows(1) })),
        Effect.flip(outdial.createBatch(organizationId, { name: "", agentId: "agent_sales", contacts: rows(1) })),
        Effect.flip(outdial.createBatch(organizationId, { name: "x", agentId: "agent_sales", contacts: [{ phone: "123" }] })),
        Effect.flip(outdial.createBatch(organizationId, { name: "x", agentId: "agent_sales", contacts: [{ name: "no phone" }] })),
        Effect.flip(outdial.createBatch(organizationId, { name: "x", agentId: "agent_sales", retryDelay: "P1M", contacts: rows(1) }))
      ])
      assert.deepStrictEqual(attempts.map(codeOf), [
        "no_outbound_agent",
        "no_outbound_agent",
        "no_caller_number",
        "no_caller_number",
        "no_caller_number",
        "no_outbound_agent",
        "validation_error",
        "no_valid_contacts",
        "missing_phone_column",
        "validation_error"
      ])
      assert.strictEqual((yield* outdial.listBatches(organizationId)).pagination.total, 0)
    })))

  it.effect("keeps organizations apart: another tenant's batch does not exist", () =>
    run(Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const created = yield* draft({ contacts: rows(2) })
      const id = created.batchJobId
      const attempts = yield* Effect.all([
        Effect.flip(outdial.getBatch(otherOrganizationId, id)),
        Effect.flip(outdial.updateDraft(otherOrganizationId, id, { name: "mine" })),
        Effect.flip(outdial.addContacts(otherOrganizationId, id, { _tag: "Rows", rows: rows(1) })),
        Effect.flip(outdial.removeContact(otherOrganizationId, id, "c1")),
        Effect.flip(outdial.schedule(otherOrganizationId, id)),
        Effect.flip(outdial.pause(otherOrganizationId, id)),
        Effect.flip(outdial.resume(otherOrganizationId, id)),
        Effect.flip(outdial.cancel(otherOrganizationId, id)),
        Effect.flip(outdial.retry(otherOrganizationId, id)),
        Effect.flip(outdial.deleteBatch(otherOrganizationId, id))
      ])
      assert.deepStrictEqual(attempts.map((e) => e._tag), Array(10).fill("BatchNotFound"))
      assert.strictEqual((yield* outdial.listBatches(otherOrganizationId)).pagination.total, 0)
    })))

  it.effect("deletes a batch that is not running, and replays an idempotent create", () =>
    run(Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      const key = { key: "key-1", fingerprint: "body-a" }
      const first = yield* outdial.createBatch(organizationId, { name: "Once", agentId: "agent_sales", contacts: rows(2) }, undefined, key)
      const replay = yield* outdial.createBatch(organizationId, { name: "Once", agentId: "agent_sales", contacts: rows(2) }, undefined, key)
      assert.strictEqual(replay.batchJobId, first.batchJobId)
      const reused = yield* Effect.flip(
        outdial.createBatch(organizationId, { name: "Other", agentId: "agent_sales", contacts: rows(2) }, undefined, { key: "key-1", fingerprint: "body-b" })
      )
      assert.strictEqual(reused._tag, "IdempotencyKeyReused")
      // A failed create releases its key: the corrected request may use it.
      yield* Effect.flip(outdial.createBatch(organizationId, { name: "" }, undefined, { key: "key-2", fingerprint: "bad" }))
      const fixed = yield* outdial.createBatch(organizationId, { name: "Fixed", agentId: "agent_sales", contacts: rows(1) }, undefined, { key: "key-2", fingerprint: "good" })
      assert.strictEqual(fixed.status, "pending")

      yield* (yield* Dispatcher.Dispatcher).settled
      const running = yield* Effect.flip(outdial.deleteBatch(organizationId, first.batchJobId))
      assert.strictEqual(running._tag, "InvalidTransition")
      yield* outdial.cancel(organizationId, first.batchJobId)
      yield* TestClock.adjust("1 minute")
      yield* outdial.deleteBatch(organizationId, first.batchJobId)
      const gone = yield* Effect.flip(outdial.getBatch(organizationId, first.batchJobId))
      assert.strictEqual(gone._tag, "BatchNotFound")
    })))
})

describe("CallerRotation", () => {
  const numbers = ["a", "b", "c"]
  it("sequential keeps a contact on the same number at every attempt", () => {
    const pick = CallerRotation.make("sequential", numbers, Math.random)
    assert.deepStrictEqual([2, 3, 4, 2, 3].map(pick), ["c", "a", "b", "c", "a"])
  })
  it("round_robin takes the next number for each call", () => {
    const pick = CallerRotation.make("round_robin", numbers, Math.random)
    assert.deepStrictEqual([7, 7, 7, 7].map(pick), ["a", "b", "c", "a"])
  })
  it("random draws from the given source", () => {
    const draws = [0.1, 0.5, 0.99]
    const pick = CallerRotation.make("random", numbers, () => draws.shift()!)
    assert.deepStrictEqual([1, 1, 1].map(pick), ["a", "b", "c"])
  })
})
