import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as InputGuard from "../src/InputGuard.ts"
import { InvalidInput } from "../src/OutdialError.ts"

/**
 * The walk as it was written first (a record and a closure per object), kept
 * as the reference: the leaner walk must find the same first problem, at the
 * same path, in any value.
 */
const reference = (value: unknown, root: ReadonlyArray<string | number> = []): InvalidInput | undefined => {
  interface Place {
    readonly parent: Place | undefined
    readonly key: string | number
    readonly depth: number
  }
  const refuse = (path: ReadonlyArray<string | number>, problem: string) => {
    const field = path.join(".")
    return new InvalidInput({
      code: "validation_error",
      ...(field === "" ? {} : { field }),
      message: `${field === "" ? "The request" : field} ${problem}`
    })
  }
  const pathTo = (place: Place | undefined, key?: string | number) => {
    const keys: Array<string | number> = key === undefined ? [] : [key]
    for (let at = place; at !== undefined; at = at.parent) keys.push(at.key)
    return [...root, ...keys.reverse()]
  }
  if (typeof value === "string") return value.includes("\u0000") ? refuse(root, "contains a NUL character") : undefined
  const stack: Array<{ readonly value: unknown; readonly place: Place | undefined }> = [{ value, place: undefined }]
  while (stack.length > 0) {
    const { place, value: current } = stack.pop()!
    if (typeof current !== "object" || current === null) continue
    const depth = place?.depth ?? 0
    if (depth >= InputGuard.maxDepth) return refuse(pathTo(place), `is nested deeper than ${InputGuard.maxDepth} levels`)
    const visit = (child: unknown, key: string | number) => {
      if (typeof child === "string") return child.includes("\u0000") ? refuse(pathTo(place, key), "contains a NUL character") : undefined
      if (typeof child === "object" && child !== null) stack.push({ value: child, place: { parent: place, key, depth: depth + 1 } })
      return undefined
    }
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const refused = visit(current[i], i)
        if (refused !== undefined) return refused
      }
      continue
    }
    for (const key of Object.keys(current)) {
      if (key.includes("\u0000")) return refuse(pathTo(place), "has a key with a NUL character")
      if (InputGuard.forbiddenKeys.has(key)) return refuse(pathTo(place, key), "is not an allowed key")
      const refused = visit((current as Record<string, unknown>)[key], key)
      if (refused !== undefined) return refused
    }
  }
  return undefined
}

const text = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("a\u0000b", "\u0000", "+4915120000000"))
const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom("phone", "name", "__proto__", "k\u0000", "0"))

// Values of every JSON kind, with hostile strings and keys here and there.
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    text,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    // `Object.fromEntries` defines `__proto__` as an own key, as `JSON.parse` does.
    fc.array(fc.tuple(key, tie("value")), { maxLength: 4 }).map((entries) => Object.fromEntries(entries))
  )
}))

/** `inner` under `levels` arrays or objects: values near the nesting limit. */
const nested = fc.tuple(value, fc.integer({ min: 0, max: 40 }), fc.boolean()).map(([inner, levels, arrays]) => {
  let at = inner
  for (let i = 0; i < levels; i++) at = arrays ? [at] : { contacts: at }
  return at
})

const same = (actual: InvalidInput | undefined, expected: InvalidInput | undefined) =>
  assert.deepStrictEqual(
    actual === undefined ? undefined : { field: actual.field, message: actual.message, code: actual.code },
    expected === undefined ? undefined : { field: expected.field, message: expected.message, code: expected.code }
  )

describe("InputGuard", () => {
  it("finds the same first problem as the reference walk, at the same path", () => {
    fc.assert(
      fc.property(fc.oneof(value, nested), fc.constantFrom<ReadonlyArray<string | number>>([], ["contacts"]), (input, root) => {
        same(InputGuard.check(input, root), reference(input, root))
      }),
      { numRuns: 5_000 }
    )
  })

  it("names where each problem is", () => {
    const contacts = [{ phone: "+1" }, { phone: "+2", extra: { deep: "a\u0000" } }]
    assert.strictEqual(InputGuard.check({ contacts })?.message, "contacts.1.extra.deep contains a NUL character")
    assert.strictEqual(InputGuard.check(JSON.parse(`{"a":[{"__proto__":1}]}`))?.field, "a.0.__proto__")
    let deep: unknown = "x"
    for (let i = 0; i < 40; i++) deep = [deep]
    assert.strictEqual(InputGuard.check(deep, ["contacts"])?.message, `contacts${".0".repeat(32)} is nested deeper than 32 levels`)
    assert.isUndefined(InputGuard.check({ contacts }.contacts.slice(0, 1)))
  })
})
