/**
 * Searching a batch's contacts by name or number, one rule for every store:
 *
 * - a **name** matches when it contains the search, ignoring case
 *   (`"ann"` finds "Joanna");
 * - a **number** matches on digits, for a search written like a phone
 *   number (digits, spaces, `+ - ( ) .` and nothing else): formatting is
 *   ignored, so `"415-55"` finds every number whose digits contain `41555`,
 *   and a search starting with `+` is a prefix of the number's digits
 *   (`"+1 415"` finds +1415…, not +4415…).
 *
 * Either match counts. Every character is literal: `%`, `_`, `\` and quotes
 * are searched for as they are (a SQL store escapes them), and a NUL
 * character, a blank search or one over 100 characters is refused.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { Contact } from "./Contact.ts"
import * as InputGuard from "./InputGuard.ts"

/**
 * The longest search accepted: longer than any name or number worth typing.
 *
 * @since 0.1.0
 * @category models
 */
export const maxLength = 100

/**
 * A search as a URL carries it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SearchText = Schema.String.check(
  Schema.isMaxLength(maxLength),
  Schema.makeFilter((text: string) => !InputGuard.hasNul(text) || "search must not contain a NUL character"),
  Schema.makeFilter((text: string) => text.trim() !== "" || "search must not be blank")
).annotate({
  description:
    "Contacts whose name contains this text (any case), or, written like a phone number, whose number's digits contain its digits (a leading `+`: start with them). Literal: `%` and `_` are not wildcards."
})

/**
 * A search as stores apply it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Search {
  /** The search as typed (trimmed), to show back and bind a cursor to. */
  readonly text: string
  /** Lower-cased, for the name's case-insensitive substring. */
  readonly lowered: string
  /** The search's digits when it is written like a phone number; `null` otherwise. */
  readonly digits: string | null
  /** The digits must start the number (the search began with `+`). */
  readonly prefix: boolean
}

const phoneLike = /^[\d\s+\-().]+$/

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (text: string): Search => {
  const trimmed = text.trim()
  const digits = phoneLike.test(trimmed) ? trimmed.replace(/\D/g, "") : ""
  return {
    text: trimmed,
    lowered: trimmed.toLowerCase(),
    digits: digits === "" ? null : digits,
    prefix: digits !== "" && trimmed.startsWith("+")
  }
}

/**
 * The digits of a stored number: E.164 (`+` and digits) or, when the row
 * opted out of validation, digits as written.
 *
 * @since 0.1.0
 * @category matching
 */
export const digitsOf = (phone: string): string => phone.startsWith("+") ? phone.slice(1) : phone

/**
 * Whether `contact` matches: the rule every store implements.
 *
 * @since 0.1.0
 * @category matching
 */
export const matches = (search: Search, contact: Pick<Contact, "name" | "phone">): boolean => {
  if (contact.name !== null && contact.name.toLowerCase().includes(search.lowered)) return true
  if (search.digits === null) return false
  const digits = digitsOf(contact.phone)
  return search.prefix ? digits.startsWith(search.digits) : digits.includes(search.digits)
}

/**
 * `text` as a literal inside a SQL `LIKE` pattern whose escape character is
 * a backslash: `%`, `_` and `\` lose their meaning.
 *
 * @since 0.1.0
 * @category matching
 */
export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`)
