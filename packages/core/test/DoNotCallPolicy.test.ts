/**
 * The do-not-call link answers the same whether its list is in this process
 * (asked in place, `listedNow`) or behind a lookup (`matching`, as the
 * PostgreSQL list is), and a list that cannot be read defers the contacts.
 */
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Contact from "../src/Contact.ts"
import * as DoNotCall from "../src/DoNotCall.ts"
import type * as Eligibility from "../src/Eligibility.ts"
import { StoreError } from "../src/OutdialError.ts"

const organizationId = "org_policy"
const now = Date.UTC(2026, 11, 2, 10, 0)
// `forContacts` reads only the batch's organization and the time.
const view = { batch: { organizationId }, now } as unknown as Eligibility.BatchView
const contacts = ["+4915120000001", "+4915120000002", "+4915120000003"].map((phone, i) =>
  Contact.fresh({ id: `c${i + 1}`, batchId: "batch_policy", maxAttempts: 3 }, {
    row: i + 1,
    phone,
    numberValidated: true,
    name: null,
    externalId: null,
    customFields: {}
  })
)

const listWith = (numbers: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const list = DoNotCall.makeMemory()
    yield* list.add(organizationId, numbers.map((number) => ({
      number,
      source: "import",
      expiresAt: null,
      createdAt: DateTime.makeUnsafe(now)
    })))
    return list
  })

/** The list without its in-place answer: the link must ask it through `matching`. */
const behindLookup = (list: DoNotCall.DoNotCall["Service"]): DoNotCall.DoNotCall["Service"] => ({ ...list, listedNow: undefined })

const tags = (verdicts: ReadonlyArray<Eligibility.Verdict>) => verdicts.map((verdict) => verdict._tag)

describe("DoNotCall.policy", () => {
  it.effect("answers in place for a list in this process, and the same through a lookup", () =>
    Effect.gen(function*() {
      const list = yield* listWith([contacts[1]!.phone])
      const inPlace = DoNotCall.policy(list).forContacts!(view, contacts)
      // Already done: the dispatcher goes on without running an effect.
      assert.isTrue(Exit.isExit(inPlace) && Exit.isSuccess(inPlace))
      const looked = yield* DoNotCall.policy(behindLookup(list)).forContacts!(view, contacts)
      assert.deepStrictEqual(tags(yield* inPlace), ["Dial", "Skip", "Dial"])
      assert.deepStrictEqual(yield* inPlace, looked)
    }))

  it.effect("defers every contact when the list cannot be read", () =>
    Effect.gen(function*() {
      const list = yield* listWith([])
      const failing = { ...behindLookup(list), matching: () => Effect.fail(new StoreError({ message: "connection lost" })) }
      const verdicts = yield* DoNotCall.policy(failing).forContacts!(view, contacts)
      assert.deepStrictEqual(tags(verdicts), ["Defer", "Defer", "Defer"])
      assert.deepStrictEqual(verdicts.map((verdict) => verdict._tag === "Defer" ? verdict.until : undefined), [now + 30_000, now + 30_000, now + 30_000])
    }))
})
