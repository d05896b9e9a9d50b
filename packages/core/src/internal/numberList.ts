/**
 * One organization's do-not-call list in memory, sized for millions of
 * numbers: E.164 digits as doubles (15 digits fit exactly) in sorted typed
 * arrays beside their expiry, creation time and source, so a million
 * numbers are a few typed arrays rather than millions of objects for every
 * garbage collection to walk. Writes go to a small map first and are merged
 * into the arrays in one pass once it grows; a lookup checks the map, then
 * binary-searches the arrays.
 */
import * as DateTime from "effect/DateTime"

/** An entry as `DoNotCall.Entry` has it (kept here so the port and its list import nothing of each other). */
interface Entry {
  readonly number: string
  readonly source: string
  readonly expiresAt: DateTime.Utc | null
  readonly createdAt: DateTime.Utc
}

/** Writes kept aside before a merge into the arrays. */
const mergeEvery = 8_192

/** The key of an E.164 number, or `undefined` for text that is none (it is never listed). */
export const keyOf = (number: string): number | undefined =>
  number.length >= 3 && number.length <= 16 && number.charCodeAt(0) === 43 && number.charCodeAt(1) !== 48 &&
    /^\+\d+$/.test(number)
    ? Number(number.slice(1))
    : undefined

export interface NumberList {
  readonly set: (entry: Entry) => void
  readonly remove: (number: string) => boolean
  /** The entry of `number` in force at `now` (epoch millis). */
  readonly get: (number: string, now: number) => Entry | undefined
  /** Every entry in force at `now`, in number order (as text). */
  readonly sorted: (now: number) => ReadonlyArray<Entry>
  readonly size: () => number
}

export const make = (): NumberList => {
  let keys = new Float64Array(0)
  let expires = new Float64Array(0)
  let created = new Float64Array(0)
  let sourceIds = new Uint16Array(0)
  const sources: Array<string> = []
  const sourceIdOf = new Map<string, number>()
  // Written since the last merge: an entry, or `null` for a removal.
  const pending = new Map<number, Entry | null>()
  let ordered: Array<Entry> | undefined

  const find = (key: number): number => {
    let low = 0
    let high = keys.length - 1
    while (low <= high) {
      const mid = (low + high) >>> 1
      const at = keys[mid]!
      if (at === key) return mid
      if (at < key) low = mid + 1
      else high = mid - 1
    }
    return -1
  }
  const entryAt = (i: number): Entry => ({
    number: `+${keys[i]}`,
    source: sources[sourceIds[i]!]!,
    expiresAt: Number.isNaN(expires[i]!) ? null : DateTime.makeUnsafe(expires[i]!),
    createdAt: DateTime.makeUnsafe(created[i]!)
  })
  const sourceId = (source: string) => {
    let id = sourceIdOf.get(source)
    if (id === undefined) {
      id = sources.push(source) - 1
      sourceIdOf.set(source, id)
    }
    return id
  }
  const merge = () => {
    if (pending.size === 0) return
    const writes = [...pending].sort((a, b) => a[0] - b[0])
    const added = writes.filter(([key, entry]) => entry !== null && find(key) < 0).length
    const removed = writes.filter(([key, entry]) => entry === null && find(key) >= 0).length
    const size = keys.length + added - removed
    const next = { keys: new Float64Array(size), expires: new Float64Array(size), created: new Float64Array(size), sources: new Uint16Array(size) }
    let i = 0
    let w = 0
    let out = 0
    const put = (key: number, expiresAt: number, createdAt: number, source: number) => {
      next.keys[out] = key
      next.expires[out] = expiresAt
      next.created[out] = createdAt
      next.sources[out++] = source
    }
    while (i < keys.length || w < writes.length) {
      const write = writes[w]
      if (write === undefined || (i < keys.length && keys[i]! < write[0])) {
        put(keys[i]!, expires[i]!, created[i]!, sourceIds[i]!)
        i++
        continue
      }
      if (i < keys.length && keys[i] === write[0]) i++
      const entry = write[1]
      if (entry !== null) {
        put(write[0], entry.expiresAt === null ? Number.NaN : DateTime.toEpochMillis(entry.expiresAt), DateTime.toEpochMillis(entry.createdAt), sourceId(entry.source))
      }
      w++
    }
    keys = next.keys
    expires = next.expires
    created = next.created
    sourceIds = next.sources
    pending.clear()
  }
  const inForce = (entry: Entry, now: number) => entry.expiresAt === null || DateTime.toEpochMillis(entry.expiresAt) > now

  return {
    set: (entry) => {
      const key = keyOf(entry.number)
      if (key === undefined) return
      pending.set(key, entry)
      ordered = undefined
      if (pending.size >= mergeEvery) merge()
    },
    remove: (number) => {
      const key = keyOf(number)
      if (key === undefined) return false
      const listed = pending.has(key) ? pending.get(key) !== null : find(key) >= 0
      if (listed) {
        pending.set(key, null)
        ordered = undefined
        if (pending.size >= mergeEvery) merge()
      }
      return listed
    },
    get: (number, now) => {
      const key = keyOf(number)
      if (key === undefined) return undefined
      const written = pending.get(key)
      if (written !== undefined) return written !== null && inForce(written, now) ? written : undefined
      const i = find(key)
      if (i < 0) return undefined
      const expiry = expires[i]!
      return Number.isNaN(expiry) || expiry > now ? entryAt(i) : undefined
    },
    sorted: (now) => {
      merge()
      ordered ??= Array.from({ length: keys.length }, (_, i) => entryAt(i)).sort((a, b) => a.number < b.number ? -1 : a.number > b.number ? 1 : 0)
      return ordered.filter((entry) => inForce(entry, now))
    },
    size: () => {
      merge()
      return keys.length
    }
  }
}
