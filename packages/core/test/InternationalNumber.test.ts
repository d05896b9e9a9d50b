/**
 * The E.164 fast path answers exactly as libphonenumber does: for every
 * number it answers, the library's parse agrees on the number, the country
 * and validity; and `PhoneNumber.validate` with it says what it says with
 * the library alone, whatever the input.
 */
import { assert, describe, it, vi } from "@effect/vitest"
import * as fc from "fast-check"
import { parsePhoneNumberWithError } from "libphonenumber-js"
import examples from "libphonenumber-js/examples.mobile.json"
import metadata from "libphonenumber-js/metadata.min.json"
import * as InternationalNumber from "../src/internal/internationalNumber.ts"
import * as PhoneNumber from "../src/PhoneNumber.ts"

/** `PhoneNumber` as it was before the fast path: every number read by the library. */
const libraryOnly = async (): Promise<typeof PhoneNumber> => {
  vi.resetModules()
  vi.doMock("../src/internal/internationalNumber.ts", () => ({ parse: () => undefined }))
  try {
    return await import("../src/PhoneNumber.ts")
  } finally {
    vi.doUnmock("../src/internal/internationalNumber.ts")
    vi.resetModules()
  }
}

const callingCodes = [
  ...Object.keys(metadata.country_calling_codes),
  ...Object.keys((metadata as { nonGeographic?: Record<string, unknown> }).nonGeographic ?? {})
]
const exampleNumbers = Object.entries(examples as Record<string, string>).map(([country, national]) => {
  const codes = Object.entries(metadata.country_calling_codes as Record<string, ReadonlyArray<string>>)
    .find(([, countries]) => countries.includes(country))
  return { code: codes?.[0] ?? "1", national }
})

const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: min, maxLength: max })

/** An example mobile number with some digits changed, dropped or added: valid and invalid ones near the real shapes. */
const nearExample = fc.record({
  example: fc.constantFrom(...exampleNumbers),
  keep: fc.integer({ min: 0, max: 12 }),
  tail: digits(0, 6),
  prefix: fc.constantFrom("", "", "", "0", "00", "1", "8", "9")
}).map(({ example, keep, prefix, tail }) => {
  const national = example.national
  return `+${example.code}${prefix}${national.slice(0, Math.max(0, national.length - keep))}${tail}`
})

/** Any calling code (or none) with any digits. */
const anyCode = fc.record({
  code: fc.oneof(fc.constantFrom(...callingCodes), digits(1, 3)),
  national: digits(0, 16)
}).map(({ code, national }) => `+${code}${national}`)

const international = fc.oneof(nearExample, anyCode, digits(1, 18).map((d) => `+${d}`))

describe("InternationalNumber", () => {
  it("answers only as libphonenumber's parse and isValid do", () => {
    let answered = 0
    fc.assert(
      fc.property(international, (text) => {
        const fast = InternationalNumber.parse(text)
        if (fast === undefined) return
        answered++
        const lib = parsePhoneNumberWithError(text)
        assert.deepStrictEqual<InternationalNumber.Parsed>(fast, { number: lib.number, country: lib.country!, valid: lib.isValid() }, text)
      }),
      { numRuns: 20_000 }
    )
    // Most numbers take the fast path, or this test would prove little.
    assert.isAbove(answered, 5_000)
  })

  it("answers the E.164 numbers of a country with a calling code of its own, valid or not", () => {
    assert.deepStrictEqual(InternationalNumber.parse("+4915120000000"), { number: "+4915120000000", country: "DE", valid: true })
    assert.deepStrictEqual(InternationalNumber.parse("+33612345678"), { number: "+33612345678", country: "FR", valid: true })
    assert.deepStrictEqual(InternationalNumber.parse("+4912"), { number: "+4912", country: "DE", valid: false })
    // Left to the library: a shared calling code, a national prefix after the code, an unknown or a non-geographic code.
    assert.isUndefined(InternationalNumber.parse("+14155550100"))
    assert.isUndefined(InternationalNumber.parse("+49015120000000"))
    assert.isUndefined(InternationalNumber.parse("+99912345678"))
    assert.isUndefined(InternationalNumber.parse("+80012345678"))
    assert.isUndefined(InternationalNumber.parse("4915120000000"))
  })

  it("leaves every validation as the library alone gives it", async () => {
    const exact = await libraryOnly()
    // Numbers as contact files hold them: spaced, dashed, bracketed, with letters, with or without a +.
    const written = fc.record({
      number: fc.oneof(international, international.map((n) => n.slice(1)), fc.string(), fc.stringMatching(/^\+?[\d ()\-.a-z]{0,22}$/)),
      spaces: fc.array(fc.constantFrom(" ", "-", ".", "(", ")", "", "", ""), { maxLength: 22 }),
      pad: fc.constantFrom("", " ", "\t")
    }).map(({ number, pad, spaces }) => pad + [...number].map((c, i) => c + (spaces[i] ?? "")).join("") + pad)
    const options = fc.record({
      defaultCountry: fc.option(fc.constantFrom("DE", "US", "GB", "FR", "IN", "de", "ZZ"), { nil: undefined }),
      ignoreE164Validation: fc.boolean(),
      policy: fc.option(
        fc.record({
          allowedCountries: fc.option(fc.subarray(["DE", "US", "FR", "GB", "in"]), { nil: undefined }),
          blockedPrefixes: fc.option(fc.subarray(["+49151", "+1900", "+33"]), { nil: undefined }),
          blockedNumberTypes: fc.option(fc.subarray(["MOBILE", "PREMIUM_RATE", "TOLL_FREE"] as const), { nil: undefined })
        }, { requiredKeys: [] }),
        { nil: undefined }
      )
    }, { requiredKeys: [] })
    fc.assert(
      fc.property(written, options, (raw, opts) => {
        assert.deepStrictEqual(PhoneNumber.validate(raw, opts), exact.validate(raw, opts), JSON.stringify(raw))
      }),
      { numRuns: 20_000 }
    )
  })
})
