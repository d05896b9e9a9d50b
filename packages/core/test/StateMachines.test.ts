import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as Batch from "../src/Batch.ts"
import * as Contact from "../src/Contact.ts"

// Every (from, action, to) triple is walked: the table's edges must succeed,
// and every other triple must fail with an InvalidTransition naming the state.
const walk = <S extends string, A extends string>(
  name: string,
  states: ReadonlyArray<S>,
  actions: ReadonlyArray<A>,
  machine: {
    readonly edges: ReadonlyArray<{ action: A; from: ReadonlyArray<S>; to: ReadonlyArray<S> }>
    readonly transition: (from: S, action: A, to?: S) => Result.Result<S, { readonly from: string; message: string }>
  },
  expected: ReadonlyArray<readonly [S, A, S]>
) =>
  describe(`${name} state machine`, () => {
    const allowed = new Set(expected.map(([from, action, to]) => `${from} ${action} ${to}`))
    it("has exactly the expected edges", () => {
      const table = machine.edges.flatMap((edge) =>
        edge.from.flatMap((from) => edge.to.map((to) => `${from} ${edge.action} ${to}`))
      )
      assert.deepStrictEqual(new Set(table), allowed)
    })
    for (const from of states) {
      for (const action of actions) {
        for (const to of states) {
          const key = `${from} ${action} ${to}`
          it(`${allowed.has(key) ? "allows" : "forbids"} ${key}`, () => {
            const result = machine.transition(from, action, to)
            if (allowed.has(key)) {
              assert.deepStrictEqual(result, Result.succeed(to))
            } else {
              assert.isTrue(Result.isFailure(result))
              if (Result.isFailure(result)) {
                assert.strictEqual(result.failure.from, from)
                assert.include(result.failure.message, `that is ${from}`)
              }
            }
          })
        }
      }
    }
  })

const live = ["draft", "pending", "scheduled", "running", "paused"] as const
walk("batch", Batch.statuses, Batch.BatchAction.literals, Batch.machine, [
  ["draft", "update", "draft"],
  ["draft", "schedule", "pending"],
  ["draft", "schedule", "scheduled"],
  ["pending", "start", "running"],
  ["scheduled", "start", "running"],
  ["pending", "pause", "paused"],
  ["scheduled", "pause", "paused"],
  ["running", "pause", "paused"],
  ["paused", "resume", "pending"],
  ["paused", "resume", "scheduled"],
  ["paused", "resume", "running"],
  ["running", "complete", "completed"],
  ["completed", "retry", "running"],
  // Issue 16: a cancelled or failed batch can be run again over what it left undone.
  ["cancelled", "retry", "running"],
  ["failed", "retry", "running"],
  ...live.map((from) => [from, "cancel", "cancelled"] as const),
  ...live.map((from) => [from, "fail", "failed"] as const),
  // Issue 16: recipients change on any live batch, which keeps its status.
  ...live.map((from) => [from, "add contacts to", from] as const),
  ...live.map((from) => [from, "remove contacts from", from] as const)
])

const outcomes = ["completed", "no_answer", "busy", "timeout", "blocked", "invalid_number", "carrier_error", "failed"] as const
const retryable = ["no_answer", "busy", "timeout", "carrier_error", "failed"] as const
walk("contact", Contact.statuses, Contact.ContactAction.literals, Contact.machine, [
  ["pending", "dial", "dialing"],
  ["queued", "dial", "dialing"],
  ...outcomes.map((to) => ["dialing", "finish", to] as const),
  ["dialing", "requeue", "queued"],
  ["pending", "skip", "skipped"],
  ["queued", "skip", "skipped"],
  ["pending", "cancel", "cancelled"],
  ["queued", "cancel", "cancelled"],
  ["dialing", "cancel", "cancelled"],
  ...retryable.map((from) => [from, "retry", "queued"] as const)
])

describe("transitions without a target", () => {
  it("take the only target when there is one", () => {
    assert.deepStrictEqual(Batch.transition("running", "pause"), Result.succeed("paused"))
    assert.deepStrictEqual(Contact.transition("pending", "dial"), Result.succeed("dialing"))
  })
  it("fail when the action has several targets", () => {
    assert.isTrue(Result.isFailure(Batch.transition("draft", "schedule")))
  })
  it("say which state the batch is in", () => {
    const result = Batch.transition("completed", "pause")
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.strictEqual(result.failure.message, "Cannot pause a batch that is completed")
      assert.strictEqual(result.failure.code, "invalid_state_transition")
    }
  })
})

describe("final states", () => {
  it("batch", () => {
    assert.deepStrictEqual(Batch.statuses.filter(Batch.isFinal), ["completed", "cancelled", "failed"])
    assert.isFalse(Batch.isDeletable("running"))
    assert.isTrue(Batch.isDeletable("paused"))
  })
  it("contact", () => {
    assert.deepStrictEqual(Contact.statuses.filter((s) => !Contact.isFinal(s)), ["pending", "queued", "dialing"])
  })
})
