/**
 * A host's own tests against the published `@outdial/testing`: the
 * conformance suites over its adapters, and a call policy on TestClock.
 */
import { assert, it } from "@effect/vitest"
import { Engine, MemoryBatchStore } from "@outdial/core"
import { BatchStoreSuite, TelephonySuite, TestEngine } from "@outdial/testing"
import * as Effect from "effect/Effect"
import { telephony } from "./telephony.js"

BatchStoreSuite.run("the host's store", MemoryBatchStore.layer, { scaleContacts: 100 })
TelephonySuite.run("the host's provider", telephony)

it.effect("a batch of ten finishes on TestClock", () =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const created = yield* engine.createBatch(TestEngine.organizationId, {
      name: "Policy check",
      agentId: TestEngine.agentId,
      contacts: TestEngine.rows(10)
    })
    const batch = yield* TestEngine.untilFinished(created.batchJobId)
    assert.strictEqual(batch.status, "completed")
    assert.strictEqual((yield* TestEngine.allContacts(batch.id)).length, 10)
  }).pipe(Effect.provide(TestEngine.layer({ telephony: { instant: true } }))))
