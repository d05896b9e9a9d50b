/**
 * A body a host's own middleware already read: behind a global
 * `express.json()` (or `express.raw`/`express.text` for JSON) the request
 * stream is consumed before the router sees it, so the router takes what the
 * parser left on `request.body` instead of reading an empty stream.
 *
 * @since 0.1.0
 */
import type { Request } from "express"
import { createHash } from "node:crypto"
import { HttpFailure } from "./ErrorResponse.ts"
import * as Uploads from "./Uploads.ts"
import type { Incoming } from "./Uploads.ts"

/**
 * The body a host's parser left on the request, or `undefined` when the
 * stream is still unread (then `Uploads.read` reads it). A consumed stream
 * with nothing usable left fails with a 400 that says what to change.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromRequest = (request: Request): Incoming | undefined => {
  if (!request.readableEnded) return undefined
  const parsed: unknown = request.body
  if (Buffer.isBuffer(parsed) || typeof parsed === "string") return Uploads.fromJsonText(parsed)
  if (parsed === undefined) {
    throw new HttpFailure(
      400,
      "validation_error",
      "The request body was already read by another middleware and left nothing on request.body; " +
        "mount the Outdial router before body parsers, or parse JSON with express.json()"
    )
  }
  return Uploads.fromJsonValue(parsed, () => createHash("sha256").update(JSON.stringify(parsed)).digest("hex"))
}
