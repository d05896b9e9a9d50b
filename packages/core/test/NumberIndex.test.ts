import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NumberIndex from "../src/internal/numberIndex.ts"

// The index's key, as first written: the digits after `+` read by `Number`, or a number kept as written.
const reference = (e164: string) => e164.charCodeAt(0) === 43 ? Number(e164.slice(1)) : -Number(`1${e164}`)

const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: min, maxLength: max })

describe("NumberIndex", () => {
  it("keys a number by its value as Number reads it, long ones included", () => {
    fc.assert(
      fc.property(fc.oneof(digits(1, 22).map((d) => `+${d}`), digits(0, 16), fc.string({ maxLength: 18 })), (e164) => {
        assert.isTrue(Object.is(NumberIndex.keyOf(e164), reference(e164)), e164)
      }),
      { numRuns: 5_000 }
    )
  })

  it("tells a number's first row as a map keyed by its value does", () => {
    const number = fc.oneof(
      // Few digits, so numbers repeat; long ones, read past exactness; numbers kept as written.
      digits(1, 3).map((d) => `+4915${d}`),
      digits(1, 20).map((d) => `+${d}`),
      digits(7, 15)
      // 0 marks an empty slot, as it always has (a number of zeros kept as written is taken for one): left out.
    ).filter((e164) => reference(e164) !== 0)
    fc.assert(
      fc.property(fc.array(number, { maxLength: 300 }), (numbers) => {
        const index = NumberIndex.make(4)
        const rows = new Map<number, number>()
        numbers.forEach((e164, row) => {
          const key = reference(e164)
          const first = rows.get(key)
          if (first === undefined) rows.set(key, row)
          assert.strictEqual(index.firstRow(e164, row), first, e164)
        })
      }),
      { numRuns: 500 }
    )
  })
})
