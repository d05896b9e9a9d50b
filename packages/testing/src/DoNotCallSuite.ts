/**
 * The conformance suite of the `DoNotCall` port: every implementation keeps
 * lists per organization, replaces an entry added again, lets expired entries
 * go unseen, answers a step's lookup for many numbers at once, and pages in
 * number order. Tests share one list, each in an organization of its own.
 *
 * ```ts
 * DoNotCallSuite.run("PgDoNotCall", PgStorage.layerEmbedded())
 * ```
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { DoNotCall, type Entry } from "@outdial/core/DoNotCall"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { after, baseTime, uniqueId } from "./StoreFixtures.ts"

const entry = (number: string, options: Partial<Entry> = {}): Entry => ({
  number,
  source: "manual",
  expiresAt: null,
  createdAt: baseTime,
  ...options
})

const numbers = (count: number) => Array.from({ length: count }, (_, i) => `+1202555${String(1000 + i)}`)

/**
 * @since 0.1.0
 * @category suite
 */
export const run = <E>(name: string, list: Layer.Layer<DoNotCall, E>): void =>
  layer(list, { timeout: "60 seconds" })(name, (it) => {
    it.effect("keeps each organization's numbers, replacing an entry added again", () =>
      Effect.gen(function*() {
        const dnc = yield* DoNotCall
        const org = uniqueId("org")
        const [a, b] = numbers(2)
        assert.strictEqual(yield* dnc.add(org, [entry(a!), entry(b!, { source: "import" })]), 2)
        yield* dnc.add(org, [entry(b!, { source: "opt_out" })])
        const found = yield* dnc.find(org, b!, baseTime)
        assert.strictEqual(found?.source, "opt_out")
        assert.isUndefined(yield* dnc.find(uniqueId("org"), a!, baseTime))
        assert.isTrue(yield* dnc.remove(org, a!))
        assert.isFalse(yield* dnc.remove(org, a!))
        assert.isUndefined(yield* dnc.find(org, a!, baseTime))
      }))

    it.effect("matching answers a step's numbers at once; an expired entry is not in force", () =>
      Effect.gen(function*() {
        const dnc = yield* DoNotCall
        const org = uniqueId("org")
        const all = numbers(6)
        yield* dnc.add(org, [entry(all[0]!), entry(all[2]!, { expiresAt: after(60) }), entry(all[4]!)])
        const now = yield* dnc.matching(org, all, baseTime)
        assert.deepStrictEqual([...now].sort(), [all[0], all[2], all[4]])
        const later = yield* dnc.matching(org, all, after(61))
        assert.deepStrictEqual([...later].sort(), [all[0], all[4]])
        assert.strictEqual((yield* dnc.matching(org, [], baseTime)).size, 0)
        assert.isUndefined(yield* dnc.find(org, all[2]!, after(60)))
      }))

    it.effect("pages in number order after a cursor, entries in force only", () =>
      Effect.gen(function*() {
        const dnc = yield* DoNotCall
        const org = uniqueId("org")
        const all = numbers(7)
        yield* dnc.add(org, [...all].reverse().map((number, i) => entry(number, i === 0 ? { expiresAt: after(1) } : {})))
        const seen: Array<string> = []
        let after_: string | undefined
        for (let pages = 0; pages < 10; pages++) {
          const page = yield* dnc.list(org, { after: after_, limit: 2, now: after(5) })
          seen.push(...page.items.map((item) => item.number))
          if (page.next === null) break
          after_ = page.next
        }
        assert.deepStrictEqual(seen, all.slice(0, 6))
        const first = (yield* dnc.list(org, { limit: 1, now: baseTime })).items[0]!
        assert.strictEqual(DateTime.formatIso(first.createdAt), DateTime.formatIso(baseTime))
      }))
  })
