/**
 * A fast path for the commonest number in a contact list: one already
 * written as `+` and digits, of a calling code only one country uses. It
 * answers as libphonenumber's parse (`parsePhoneNumberWithError` with its
 * smaller metadata) and `isValid` would, from the same metadata, without
 * their per-call costs (argument normalizing, option objects spread twice,
 * a `Metadata` and a `RegExp` made afresh for each check): four fifths of a
 * large import's time went there.
 *
 * Only numbers whose parse takes no decision are answered: the calling code
 * found, its one country, which has no number types (validity is then its
 * national number pattern), no national prefix to strip (the country's
 * prefix pattern does not match the digits after the code). Any other number
 * (a shared calling code such as +1, a non-geographic one, a national prefix
 * written after the code, an unknown code) gets `undefined`, and the caller
 * asks libphonenumber itself. A property test holds this to the library.
 */
import { Metadata } from "libphonenumber-js/core"
import metadataJson from "libphonenumber-js/metadata.min.json"

/** What a parse of the number tells a validation. */
export interface Parsed {
  /** E.164, as libphonenumber writes it. */
  readonly number: string
  readonly country: string
  readonly valid: boolean
}

/** What the metadata says of one calling code, worked out on first use. */
interface Plan {
  readonly country: string
  /** `+`, the calling code and the country's national prefix pattern, anchored at the start; absent when it has none. */
  readonly nationalPrefix: RegExp | undefined
  /** `+`, the calling code and the national number pattern, anchored at both ends: validity, for a country without number types. */
  readonly valid: RegExp
}

// By calling code, as a number (a code never starts with 0, so 1 to 999 name each one once):
// its plan, `null` for a code this path leaves to the library, "none" for no such code.
const plans: Array<Plan | null | "none" | undefined> = new Array(1_000).fill(undefined)

const readPlan = (code: string): Plan | null | "none" => {
  const metadata = new Metadata(metadataJson) as unknown as MetadataReader
  if (!metadata.hasCallingCode(code)) return "none"
  const countries = metadata.getCountryCodesForCallingCode(code)
  if (countries === undefined || countries.length !== 1) return null
  const country = countries[0]!
  // The parse strips a national prefix with the calling code's plan, then judges the number with its country's.
  metadata.selectNumberingPlan(code)
  const prefix = metadata.numberingPlan.nationalPrefixForParsing()
  metadata.selectNumberingPlan(country)
  // With number types, validity is the type patterns' to say.
  if (metadata.numberingPlan.hasTypes()) return null
  // Matched against the whole text, the calling code written out: the same as the patterns against the national number.
  return {
    country,
    nationalPrefix: prefix ? new RegExp(`^\\+${code}(?:${prefix})`) : undefined,
    valid: new RegExp(`^\\+${code}(?:${metadata.numberingPlan.nationalNumberPattern()})$`)
  }
}

/** The part of libphonenumber's `Metadata` read here (its typings leave most of it out). */
interface MetadataReader {
  hasCallingCode(code: string): boolean | undefined
  getCountryCodesForCallingCode(code: string): ReadonlyArray<string> | undefined
  selectNumberingPlan(countryOrCallingCode: string): void
  readonly numberingPlan: {
    nationalPrefixForParsing(): string | undefined
    nationalNumberPattern(): string
    hasTypes(): boolean
  }
}

// libphonenumber's bounds on a national (significant) number.
const minNationalLength = 2
const maxNationalLength = 17

/**
 * `text` is `+` and digits (no other character), as a validation has
 * compacted it: libphonenumber's answer for it, or `undefined` when this path
 * leaves the number to the library. The national number is never cut out:
 * the plan's patterns carry the calling code and read the whole text.
 */
export const parse = (text: string): Parsed | undefined => {
  if (text.charCodeAt(0) !== 43) return undefined
  // As the library does: a calling code never starts with 0, and the shortest known one wins.
  if (text.charCodeAt(1) === 48) return undefined
  let code = 0
  for (let end = 2; end <= 4 && end <= text.length; end++) {
    const digit = text.charCodeAt(end - 1) - 48
    if (digit < 0 || digit > 9) return undefined
    code = code * 10 + digit
    let plan = plans[code]
    if (plan === undefined) plans[code] = plan = readPlan(String(code))
    if (plan === "none") continue
    if (plan === null) return undefined
    const national = text.length - end
    if (national < minNationalLength || national > maxNationalLength) return undefined
    if (plan.nationalPrefix !== undefined && plan.nationalPrefix.test(text)) return undefined
    return { number: text, country: plan.country, valid: plan.valid.test(text) }
  }
  return undefined
}
