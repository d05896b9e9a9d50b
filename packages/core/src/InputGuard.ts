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

/**
 * The first problem of `value` as a typed `validation_error` naming where it
 * is, or `undefined` when it is fine. `root` prefixes the reported field.
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (value: unknown, root: ReadonlyArray<string | number> = []): InvalidInput | undefined => {
  const stack: Array<{ readonly value: unknown; readonly path: ReadonlyArray<string | number> }> = [{ value, path: root }]
  while (stack.length > 0) {
    const { path, value: current } = stack.pop()!
    if (typeof current === "string") {
      if (hasNul(current)) return refuse(path, "contains a NUL character")
      continue
    }
    if (typeof current !== "object" || current === null) continue
    if (path.length - root.length >= maxDepth) return refuse(path, `is nested deeper than ${maxDepth} levels`)
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) stack.push({ value: current[i], path: [...path, i] })
      continue
    }
    for (const key of Object.keys(current)) {
      if (hasNul(key)) return refuse(path, "has a key with a NUL character")
      if (forbiddenKeys.has(key)) return refuse([...path, key], "is not an allowed key")
      stack.push({ value: (current as Record<string, unknown>)[key], path: [...path, key] })
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
