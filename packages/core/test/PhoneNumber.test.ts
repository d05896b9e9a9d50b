import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { RowErrorCode } from "../src/OutdialError.ts"
import * as PhoneNumber from "../src/PhoneNumber.ts"

const e164 = /^\+[1-9]\d{6,14}$/

// Valid numbers of several countries, written in their canonical E.164 form.
const valid = fc.oneof(
  fc.integer({ min: 2_000_000, max: 9_999_999 }).map((n) => `+1415${n}`),
  fc.integer({ min: 10_000_000, max: 99_999_999 }).map((n) => `+49151${n}`),
  fc.integer({ min: 10_000_000, max: 99_999_999 }).map((n) => `+336${n}`),
  fc.integer({ min: 100_000, max: 999_999 }).map((n) => `+447911${n}`),
  fc.integer({ min: 10_000_000, max: 99_999_999 }).map((n) => `+614${n}`)
).filter((number) => PhoneNumber.validate(number).ok)

// Spaces, dashes, dots and parentheses between digits, as people write numbers.
const formatted = valid.chain((number) =>
  fc.array(fc.constantFrom(" ", "-", ".", "(", ")", ""), { minLength: number.length, maxLength: number.length }).map(
    (separators) => ({
      number,
      written: "+" + [...number.slice(1)].map((digit, i) => digit + separators[i]).join("")
    })
  )
)

const codes: ReadonlyArray<string> = RowErrorCode.literals

describe("PhoneNumber", () => {
  it("accepts only E.164 numbers that validate again to themselves", () => {
    fc.assert(
      fc.property(fc.oneof(valid, fc.string(), fc.stringMatching(/^\+?[\d ()-.]{0,20}$/)), (raw) => {
        const result = PhoneNumber.validate(raw)
        if (result.ok) {
          assert.match(result.e164, e164)
          assert.deepStrictEqual(PhoneNumber.validate(result.e164), result)
        }
      }),
      { numRuns: 2_000 }
    )
  })

  it("never throws, and refuses with a known code and a message", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" })),
        fc.option(fc.constantFrom("US", "DE", "IN", "GB", "ZZ", "us")),
        fc.boolean(),
        (raw, defaultCountry, ignoreE164Validation) => {
          const result = PhoneNumber.validate(raw, { defaultCountry, ignoreE164Validation })
          if (!result.ok) {
            assert.include(codes, result.code)
            assert.isAbove(result.message.length, 0)
          }
        }
      ),
      { numRuns: 2_000 }
    )
  })

  it("reads the same number through any formatting", () => {
    fc.assert(
      fc.property(formatted, ({ number, written }) => {
        const result = PhoneNumber.validate(written)
        assert.isTrue(result.ok && result.e164 === number, `${written} → ${JSON.stringify(result)}`)
      }),
      { numRuns: 500 }
    )
  })

  it("reads a national number in the default country, and refuses it without one", () => {
    assert.deepStrictEqual(PhoneNumber.validate("(202) 555-0143", { defaultCountry: "US" }), {
      ok: true,
      e164: "+12025550143",
      country: "US",
      validated: true
    })
    assert.deepStrictEqual(PhoneNumber.validate("0151 23456789", { defaultCountry: "de" }), {
      ok: true,
      e164: "+4915123456789",
      country: "DE",
      validated: true
    })
    const refused = PhoneNumber.validate("2025550143")
    assert.isTrue(!refused.ok && refused.code === "invalid_phone_format" && /defaultCountry/.test(refused.message))
  })

  it("names each reason for refusing", () => {
    const codeOf = (raw: unknown, options?: PhoneNumber.Options) => {
      const result = PhoneNumber.validate(raw, options)
      return result.ok ? "ok" : result.code
    }
    assert.strictEqual(codeOf(""), "missing_phone")
    assert.strictEqual(codeOf(null), "missing_phone")
    assert.strictEqual(codeOf("555-CALL-NOW"), "invalid_phone_format")
    assert.strictEqual(codeOf("+1 23"), "invalid_phone_format")
    assert.strictEqual(codeOf("+1234567890123456"), "invalid_phone_format")
    assert.strictEqual(codeOf("+99912345678"), "invalid_number")
    assert.strictEqual(codeOf("+99912345678", { ignoreE164Validation: true }), "ok")
    assert.strictEqual(codeOf("+442071838750", { policy: { allowedCountries: ["US"] } }), "unsupported_country")
    assert.strictEqual(codeOf("+12025550143", { policy: { blockedPrefixes: ["+1202"] } }), "blocked_prefix")
    assert.strictEqual(codeOf("+12025550143", { policy: { allowedPrefixes: ["+1415"] } }), "blocked_prefix")
    assert.strictEqual(codeOf("+19005550100", { policy: { blockedNumberTypes: ["PREMIUM_RATE"] } }), "blocked_number_type")
    assert.strictEqual(codeOf("+14155550100", { policy: { blockedNumberTypes: ["PREMIUM_RATE"] } }), "ok")
  })

  it("merges policies: allow-lists intersect, block-lists add up", () => {
    assert.isUndefined(PhoneNumber.mergePolicies([undefined, undefined]))
    assert.deepStrictEqual(
      PhoneNumber.mergePolicies([
        { allowedCountries: ["US", "ca"], blockedPrefixes: ["+1900"] },
        { allowedCountries: ["CA", "GB"], blockedPrefixes: ["+1976"], blockedNumberTypes: ["PREMIUM_RATE"] },
        undefined
      ]),
      { allowedCountries: ["CA"], blockedPrefixes: ["+1900", "+1976"], blockedNumberTypes: ["PREMIUM_RATE"] }
    )
  })
})
