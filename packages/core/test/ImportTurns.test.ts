/**
 * Contact lists take turns: with `maxConcurrentImports` at 1, a second
 * create does not start reading its file while the first is still parsing,
 * and both are stored once the first ends.
 */
import { assert, describe, it } from "@effect/vitest"
import { layer as engine, organizationId } from "@outdial/testing/TestEngine"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Engine from "../src/Engine.ts"

const text = (value: string) => new TextEncoder().encode(value)

describe("contact imports take turns", () => {
  it.live("a second upload is not read while the first is parsing", () =>
    Effect.gen(function*() {
      const outdial = yield* Engine.Engine
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      let secondPulled = false
      const slow = async function*() {
        yield text("phone\n+4915120000001\n")
        await released
        yield text("+4915120000002\n")
      }
      const watched = async function*() {
        secondPulled = true
        yield text("phone\n+4915120000003\n")
      }
      const create = (name: string, content: AsyncIterable<Uint8Array>) =>
        outdial.createBatch(organizationId, { name, agentId: "agent_sales", draft: true }, {
          _tag: "File",
          file: { content, filename: `${name}.csv` }
        })
      const first = yield* Effect.forkChild(create("first", slow()))
      const second = yield* Effect.forkChild(create("second", watched()))
      yield* Effect.sleep("50 millis")
      assert.isFalse(secondPulled, "the second file waits for the first import's turn")
      release()
      const [a, b] = [yield* Fiber.join(first), yield* Fiber.join(second)]
      assert.isTrue(secondPulled)
      assert.deepStrictEqual([a.acceptedContacts, b.acceptedContacts], [2, 1])
    }).pipe(Effect.provide(engine({ config: { maxConcurrentImports: 1 } }))))
})
