/**
 * Phone numbers as contact files carry them, checked and normalized to
 * E.164: formatting stripped, at least 7 digits, valid for their country
 * (libphonenumber) unless the row opts out, national numbers read in the
 * batch's default country, then checked against where the organization and
 * its caller numbers may call.
 *
 * Pure and allocation-light: an import validates a million rows through it.
 *
 * @since 0.1.0
 */
import { type CountryCode, parsePhoneNumberWithError, type PhoneNumber as LibPhoneNumber } from "libphonenumber-js"
import { parsePhoneNumberWithError as parseWithMetadata } from "libphonenumber-js/core"
import * as Schema from "effect/Schema"
import type { RowErrorCode } from "./OutdialError.ts"
import { fullMetadata } from "./internal/fullMetadata.ts"
import * as InternationalNumber from "./internal/internationalNumber.ts"

/**
 * libphonenumber's number types a destination policy may block.
 *
 * @since 0.1.0
 * @category models
 */
export const NumberType = Schema.Literals([
  "PREMIUM_RATE",
  "TOLL_FREE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
  "FIXED_LINE",
  "MOBILE",
  "FIXED_LINE_OR_MOBILE"
])
export type NumberType = typeof NumberType.Type

/**
 * Where calls may go, set per organization and per caller number.
 * Prefixes are written in E.164 (`+1900`).
 *
 * @since 0.1.0
 * @category models
 */
export const DestinationPolicy = Schema.Struct({
  allowedCountries: Schema.optionalKey(Schema.Array(Schema.String)),
  allowedPrefixes: Schema.optionalKey(Schema.Array(Schema.String)),
  blockedPrefixes: Schema.optionalKey(Schema.Array(Schema.String)),
  blockedNumberTypes: Schema.optionalKey(Schema.Array(NumberType))
})
export type DestinationPolicy = typeof DestinationPolicy.Type

/**
 * One policy from several (the organization's and each caller number's): a
 * number must satisfy all of them, so allow-lists intersect and block-lists
 * add up.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mergePolicies = (
  policies: ReadonlyArray<DestinationPolicy | undefined>
): DestinationPolicy | undefined => {
  const present = policies.filter((policy): policy is DestinationPolicy => policy !== undefined)
  if (present.length === 0) return undefined
  if (present.length === 1) return present[0]
  const intersect = (lists: ReadonlyArray<ReadonlyArray<string> | undefined>) => {
    const given = lists.filter((list): list is ReadonlyArray<string> => list !== undefined)
    if (given.length === 0) return undefined
    return given.reduce((kept, list) => kept.filter((item) => list.includes(item)))
  }
  const union = <A extends string>(lists: ReadonlyArray<ReadonlyArray<A> | undefined>) => {
    const all = [...new Set(lists.flatMap((list) => list ?? []))]
    return all.length === 0 ? undefined : all
  }
  const allowedCountries = intersect(present.map((p) => p.allowedCountries?.map((c) => c.toUpperCase())))
  const allowedPrefixes = intersect(present.map((p) => p.allowedPrefixes))
  const blockedPrefixes = union(present.map((p) => p.blockedPrefixes))
  const blockedNumberTypes = union(present.map((p) => p.blockedNumberTypes))
  return {
    ...(allowedCountries === undefined ? {} : { allowedCountries }),
    ...(allowedPrefixes === undefined ? {} : { allowedPrefixes }),
    ...(blockedPrefixes === undefined ? {} : { blockedPrefixes }),
    ...(blockedNumberTypes === undefined ? {} : { blockedNumberTypes })
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** ISO 3166 alpha-2 country that numbers without `+` are read in. */
  readonly defaultCountry?: string | null | undefined
  /** Keep any well-formed number, valid for its country or not; one without a country code (and no `defaultCountry`) as its digits, dialed as given. */
  readonly ignoreE164Validation?: boolean | undefined
  readonly policy?: DestinationPolicy | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type Validation =
  | {
    readonly ok: true
    readonly e164: string
    readonly country: string | undefined
    /** False when kept as written under `ignoreE164Validation`: not a valid number as far as anyone checked. */
    readonly validated: boolean
  }
  | { readonly ok: false; readonly code: RowErrorCode; readonly message: string }

const formatting = /[\s\-.()]/g
const wellFormed = /^\+?\d+$/

const reject = (code: RowErrorCode, message: string): Validation => ({ ok: false, code, message })

/** A number as libphonenumber read it; `lib`, its own object, when it did the reading. */
interface Parsed {
  readonly number: string
  readonly country: string | undefined
  readonly valid: boolean
  readonly lib?: LibPhoneNumber | undefined
}

const parse = (
  text: string,
  country: CountryCode | undefined,
  maxMetadata: boolean
): Parsed | undefined => {
  // Most numbers arrive in E.164 form: answered as the library would, without its per-call costs.
  const known = country === undefined && !maxMetadata ? InternationalNumber.parse(text) : undefined
  if (known !== undefined) return known
  let lib: LibPhoneNumber
  try {
    if (!maxMetadata) lib = parsePhoneNumberWithError(text, country)
    else lib = country === undefined ? parseWithMetadata(text, fullMetadata()) : parseWithMetadata(text, country, fullMetadata())
  } catch {
    return undefined
  }
  return { number: lib.number, country: lib.country, valid: lib.isValid(), lib }
}

/**
 * Checks one number. Never throws.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (raw: unknown, options: Options = {}): Validation => {
  const input = raw === null || raw === undefined ? "" : String(raw).trim()
  if (input === "") return reject("missing_phone", "The phone number is missing")
  // Most numbers arrive bare: one test, nothing to strip.
  const bare = wellFormed.test(input)
  const compact = bare ? input : input.replace(formatting, "")
  if (!bare && !wellFormed.test(compact)) {
    return reject(
      "invalid_phone_format",
      `"${input}" is not a phone number: only digits, an optional leading +, spaces, dashes, dots and parentheses are allowed`
    )
  }
  const international = compact.startsWith("+")
  const digits = international ? compact.length - 1 : compact.length
  if (digits < 7) return reject("invalid_phone_format", `"${input}" has ${digits} digits; a phone number has at least 7`)
  if (digits > 15) return reject("invalid_phone_format", `"${input}" has ${digits} digits; E.164 allows at most 15`)
  const defaultCountry = options.defaultCountry?.toUpperCase() as CountryCode | undefined
  const policy = options.policy
  if (!international && defaultCountry === undefined) {
    // The flag means the host takes responsibility: the digits are kept as written and dialed as given.
    if (options.ignoreE164Validation) return withinPolicy(compact, undefined, undefined, policy, false)
    return reject(
      "invalid_phone_format",
      `"${input}" has no country code: write it with a leading + or set the batch's defaultCountry`
    )
  }
  const needsType = (policy?.blockedNumberTypes?.length ?? 0) > 0
  const parsed = parse(compact, international ? undefined : defaultCountry, needsType)
  let e164: string
  let country: string | undefined
  const validated = parsed !== undefined && parsed.valid
  if (!validated) {
    if (!options.ignoreE164Validation) {
      return reject(
        "invalid_number",
        international
          ? `${compact} is not a valid phone number for its country`
          : `"${input}" is not a valid phone number in ${defaultCountry}`
      )
    }
    // Kept as written, with the country code of the default country when it had none.
    e164 = parsed?.number ?? (international ? compact : `+${compact}`)
    country = parsed?.country
  } else {
    e164 = parsed.number
    country = parsed.country
  }
  return withinPolicy(e164, country, parsed?.lib, policy, validated)
}

/** A number the destination policy lets through, or why not. */
const withinPolicy = (
  e164: string,
  country: string | undefined,
  parsed: LibPhoneNumber | undefined,
  policy: DestinationPolicy | undefined,
  validated: boolean
): Validation => {
  if (policy === undefined) return { ok: true, e164, country, validated }
  if (policy.allowedCountries !== undefined && !policy.allowedCountries.some((c) => c.toUpperCase() === country)) {
    return reject(
      "unsupported_country",
      `${e164} is in ${country ?? "an unknown country"}; calls may go to ${policy.allowedCountries.join(", ") || "no country"}`
    )
  }
  const blocked = policy.blockedPrefixes?.find((prefix) => e164.startsWith(prefix))
  if (blocked !== undefined) return reject("blocked_prefix", `${e164} starts with the blocked prefix ${blocked}`)
  if (policy.allowedPrefixes !== undefined && !policy.allowedPrefixes.some((prefix) => e164.startsWith(prefix))) {
    return reject("blocked_prefix", `${e164} does not start with an allowed prefix (${policy.allowedPrefixes.join(", ")})`)
  }
  if ((policy.blockedNumberTypes?.length ?? 0) > 0 && parsed !== undefined) {
    const type = parsed.getType()
    if (type !== undefined && policy.blockedNumberTypes!.includes(type)) {
      return reject("blocked_number_type", `${e164} is a ${type.toLowerCase().replaceAll("_", " ")} number, which may not be called`)
    }
  }
  return { ok: true, e164, country, validated }
}
