/**
 * The shape every untrusted value must have before anything else looks at
 * it: no NUL characters (PostgreSQL refuses them in text, so they would
 * surface as a server error), no keys that reach an object's prototype, and
 * no nesting deeper than a contact list needs (recursive code further on —
 * schema decoding, `JSON.stringify`, a jsonb column — would overflow the
 * stack). One walk, without recursion, so a hostile value cannot overflow it.
 *
 * @since 0.1.0
 */
import { InvalidInput } from "./OutdialError.ts"

/**
 * Nesting a request may have: a body, its `contacts` array, a contact, a
 * custom field holding a small object.
 *
 * @since 0.1.0
 * @category configuration
 */
export const maxDepth = 32

/**
 * Keys that would change an object's prototype once copied by assignment.
 *
 * @since 0.1.0
 * @category configuration
 */
export const forbiddenKeys: ReadonlySet<string> = new Set(["__proto__"])

/**
 * @since 0.1.0
 * @category predicates
 */
export const hasNul = (text: string): boolean => text.includes("\u0000")

const pathOf = (path: ReadonlyArray<string | number>): string => path.join(".")

/** Where an object sits: its key under its parent's place. The path is spelled out only for a refusal. */
interface Place {
  readonly parent: Place | undefined
  readonly key: string | number
  readonly depth: number
}

/** The place of an object met under `parent` at `key`; the root (depth 0) has none. */
const placeAt = (parent: Place | undefined, key: string | number, depth: number): Place | undefined =>
  depth === 0 ? undefined : { parent, key, depth }

const pathTo = (root: ReadonlyArray<string | number>, place: Place | undefined, key?: string | number) => {
  const keys: Array<string | number> = key === undefined ? [] : [key]
  for (let at = place; at !== undefined; at = at.parent) keys.push(at.key)
  return [...root, ...keys.reverse()]
}

/**
 * The first problem of `value` as a typed `validation_error` naming where it
 * is, or `undefined` when it is fine. `root` prefixes the reported field.
 * Strings are checked where they are met and only objects wait on the stack,
 * each with its parent's place and its key: a contact list is mostly
 * strings, and a path per value was most of a large list's check. An
 * object's own place is made only when it has objects under it or is
 * refused, so a contact of plain values costs the walk nothing but its keys.
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (value: unknown, root: ReadonlyArray<string | number> = []): InvalidInput | undefined => {
  if (typeof value === "string") return hasNul(value) ? refuse(root, "contains a NUL character") : undefined
  // Objects waiting, as parallel stacks (no record per object): the value, its parent's place, its key, its depth.
  const values: Array<unknown> = [value]
  const parents: Array<Place | undefined> = [undefined]
  const keys: Array<string | number> = [""]
  const depths: Array<number> = [0]
  while (values.length > 0) {
    const current = values.pop()
    const parent = parents.pop()
    const key = keys.pop()!
    const depth = depths.pop()!
    if (typeof current !== "object" || current === null) continue
    // Made on first need (the root has none).
    let place: Place | undefined
    if (depth >= maxDepth) return refuse(pathTo(root, placeAt(parent, key, depth)), `is nested deeper than ${maxDepth} levels`)
    // An array's items by index, an object's values by key (its keys checked first): one loop for both.
    const names = Array.isArray(current) ? undefined : Object.keys(current)
    const count = names === undefined ? (current as ReadonlyArray<unknown>).length : names.length
    for (let k = 0; k < count; k++) {
      const name: string | number = names === undefined ? k : names[k]!
      if (typeof name === "string") {
        if (hasNul(name)) return refuse(pathTo(root, placeAt(parent, key, depth)), "has a key with a NUL character")
        if (forbiddenKeys.has(name)) return refuse(pathTo(root, placeAt(parent, key, depth), name), "is not an allowed key")
      }
      const child: unknown = (current as Record<string | number, unknown>)[name]
      if (typeof child === "string") {
        if (hasNul(child)) return refuse(pathTo(root, placeAt(parent, key, depth), name), "contains a NUL character")
      } else if (typeof child === "object" && child !== null) {
        values.push(child)
        parents.push(place ??= placeAt(parent, key, depth))
        keys.push(name)
        depths.push(depth + 1)
      }
    }
  }
  return undefined
}

const refuse = (path: ReadonlyArray<string | number>, problem: string) => {
  const field = pathOf(path)
  return new InvalidInput({
    code: "validation_error",
    ...(field === "" ? {} : { field }),
    message: `${field === "" ? "The request" : field} ${problem}`
  })
}

/**
 * Text a client sends as an id, a filter or a header value: a
 * `validation_error` for a NUL character or text longer than `maxLength`.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkText = (field: string, text: string, maxLength: number): InvalidInput | undefined =>
  hasNul(text)
    ? refuse([field], "contains a NUL character")
    : text.length > maxLength
    ? refuse([field], `is longer than ${maxLength} characters`)
    : undefined
