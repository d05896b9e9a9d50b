/**
 * The first row of each phone number seen, for duplicate detection over a
 * million-row import in a few tens of megabytes: an E.164 number has at most
 * 15 digits, so its digits fit a double exactly, and an open-addressing
 * table of doubles costs 12 bytes a slot (15 a number at the table's
 * fullest) where a `Map` of strings costs over a hundred.
 */
export interface NumberIndex {
  /** The row first holding `e164`, recording `row` for it when new. */
  readonly firstRow: (e164: string, row: number) => number | undefined
}

const empty = 0 // No E.164 number has the value 0.

/**
 * A number's key: the digits after its `+` as `Number` reads them (summed
 * digit by digit, no string cut out, while that is exact: at most 15
 * digits); a number kept as written (no `+`) is negative, led by a 1 so its
 * leading zeros count.
 */
export const keyOf = (e164: string): number => e164.charCodeAt(0) === 43 ? digitsOf(e164) : -Number(`1${e164}`)

const digitsOf = (e164: string): number => {
  if (e164.length < 2 || e164.length > 16) return Number(e164.slice(1))
  let value = 0
  for (let i = 1; i < e164.length; i++) {
    const digit = e164.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return Number(e164.slice(1))
    value = value * 10 + digit
  }
  return value
}

export const make = (initialCapacity = 1 << 14): NumberIndex => {
  let capacity = initialCapacity
  let keys = new Float64Array(capacity)
  let rows = new Int32Array(capacity)
  let size = 0

  const slotOf = (table: Float64Array, key: number, mask: number): number => {
    // Multiplicative hashing of the low and high parts of the number.
    let slot = (Math.imul((key % 4_294_967_296) | 0, 0x9e3779b1) ^ Math.imul((key / 4_294_967_296) | 0, 0x85ebca6b)) & mask
    while (table[slot] !== empty && table[slot] !== key) slot = (slot + 1) & mask
    return slot
  }

  const grow = () => {
    const oldKeys = keys
    const oldRows = rows
    capacity *= 2
    keys = new Float64Array(capacity)
    rows = new Int32Array(capacity)
    const mask = capacity - 1
    for (let i = 0; i < oldKeys.length; i++) {
      const key = oldKeys[i]!
      if (key === empty) continue
      const slot = slotOf(keys, key, mask)
      keys[slot] = key
      rows[slot] = oldRows[i]!
    }
  }

  return {
    firstRow: (e164, row) => {
      const key = keyOf(e164)
      const slot = slotOf(keys, key, capacity - 1)
      if (keys[slot] === key) return rows[slot]
      keys[slot] = key
      rows[slot] = row
      // Grown at 80 % full, not 50 %: linear probing over a well-mixed hash
      // still finds a slot in a few probes, and a million-row file's ~800,000
      // numbers fit 2^20 slots (12 MB) instead of 2^21 (25 MB, and 37 MB
      // while the old table awaits collection).
      if (++size * 5 > capacity * 4) grow()
      return undefined
    }
  }
}
