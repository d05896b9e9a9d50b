/**
 * What the router reads off a request: its idempotency key, its contacts,
 * path and query parameters given once, as text.
 */
import type { Engine } from "@outdial/core"
import { OutdialError } from "@outdial/core"
import * as Effect from "effect/Effect"
import type { Request } from "express"
import * as ErrorResponse from "../ErrorResponse.ts"
import type * as Uploads from "../Uploads.ts"

const idempotencyHeaders = ["idempotency-key", "x-idempotency-key"] as const

export const idempotencyOf = (request: Request, fingerprint: string): Engine.Idempotency | undefined => {
  for (const header of idempotencyHeaders) {
    const key = request.get(header)
    if (key !== undefined && key.trim() !== "") {
      // The key covers this route and body: the same key on another route is another request.
      return { key: key.trim(), fingerprint: `${request.method} ${request.route?.path ?? ""} ${fingerprint}` }
    }
  }
  return undefined
}

/** The contacts of a request: its file, or its JSON rows. */
export const contactsOf = (incoming: Uploads.Incoming): Engine.ContactsInput | undefined => {
  if (incoming.file !== undefined) {
    return {
      _tag: "File",
      file: { content: incoming.file.open(), filename: incoming.file.filename, contentType: incoming.file.contentType }
    }
  }
  const rows = incoming.fields.contacts
  return Array.isArray(rows) ? { _tag: "Rows", rows: rows as ReadonlyArray<Record<string, unknown>> } : undefined
}

/** The contacts an add needs: a file or a list of JSON rows; anything else is refused with why. */
export const requiredContacts = (incoming: Uploads.Incoming) => {
  const contacts = contactsOf(incoming)
  return contacts !== undefined ? Effect.succeed(contacts) : Effect.fail(
    new OutdialError.InvalidInput({
      code: "validation_error",
      field: "contacts",
      message: "Send `contacts` as a list of contact rows, or a contact file"
    })
  )
}

export const param = (request: Request, name: string): string => {
  const value = request.params[name]
  return Array.isArray(value) ? value.join("/") : value ?? ""
}

export const stringParam = (value: unknown): string | undefined => typeof value === "string" ? value : undefined

/** A query parameter given once, as text; a repeated or nested one is refused rather than guessed at. */
export const queryParam = (request: Request, name: string): string | undefined => {
  const value = request.query[name]
  if (value === undefined || typeof value === "string") return value
  throw new ErrorResponse.HttpFailure(400, "validation_error", `${name} must be given once, as text`, { field: name })
}
/** The query parameters `names`, each given once as text or absent. */
export const queryOf = (request: Request, names: ReadonlyArray<string>): Record<string, string | undefined> =>
  Object.fromEntries(names.map((name) => [name, queryParam(request, name)]))

// Anything else than text or null is still handed over as text, for the engine to refuse with a reason.
export const textOrNull = (value: unknown): string | null | undefined =>
  value === undefined || value === null || typeof value === "string" ? value : JSON.stringify(value)
