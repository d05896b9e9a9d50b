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

const pathTo = (root: ReadonlyArray<string | number>, place: Place | undefined, key?: string | number) => {
  const keys: Array<string | number> = key === undefined ? [] : [key]
  for (let at = place; at !== undefined; at = at.parent) keys.push(at.key)
  return [...root, ...keys.reverse()]
}

/**
 * The first problem of `value` as a typed `validation_error` naming where it
 * is, or `undefined` when it is fine. `root` prefixes the reported field.
 * Strings are checked where they are met and only objects wait on the stack,
 * each with its place: a contact list is mostly strings, and a path per value
 * was most of a large list's check.
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (value: unknown, root: ReadonlyArray<string | number> = []): InvalidInput | undefined => {
  if (typeof value === "string") return hasNul(value) ? refuse(root, "contains a NUL character") : undefined
  const stack: Array<{ readonly value: unknown; readonly place: Place | undefined }> = [{ value, place: undefined }]
  while (stack.length > 0) {
    const { place, value: current } = stack.pop()!
    if (typeof current !== "object" || current === null) continue
    const depth = place?.depth ?? 0
    if (depth >= maxDepth) return refuse(pathTo(root, place), `is nested deeper than ${maxDepth} levels`)
    // A string is checked where it is met; an object waits on the stack with its place.
    const visit = (child: unknown, key: string | number) => {
      if (typeof child === "string") return hasNul(child) ? refuse(pathTo(root, place, key), "contains a NUL character") : undefined
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
      if (hasNul(key)) return refuse(pathTo(root, place), "has a key with a NUL character")
      if (forbiddenKeys.has(key)) return refuse(pathTo(root, place, key), "is not an allowed key")
      const refused = visit((current as Record<string, unknown>)[key], key)
      if (refused !== undefined) return refused
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
