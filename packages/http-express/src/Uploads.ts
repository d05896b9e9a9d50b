/**
 * Request bodies: JSON, or multipart form data with one contact file. A file
 * is streamed to a temporary file while its size and hash are counted, so a
 * 50 MB upload never sits whole in memory and form fields may come before or
 * after it; the engine then reads it back as a stream.
 *
 * @since 0.1.0
 */
import Busboy from "busboy"
import type { Request } from "express"
import { createHash } from "node:crypto"
import { createReadStream, createWriteStream, mkdtempSync } from "node:fs"
import { rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import { HttpFailure } from "./ErrorResponse.ts"

/**
 * A contact file received and spooled to disk.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpooledFile {
  readonly path: string
  readonly filename: string
  readonly contentType: string
  readonly bytes: number
  /** A fresh stream of the file's bytes. */
  readonly open: () => AsyncIterable<Uint8Array>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Incoming {
  /** The JSON object, or the form fields decoded. */
  readonly fields: Record<string, unknown>
  readonly file: SpooledFile | undefined
  /** A hash of everything the client sent in the body, for idempotency keys. */
  readonly fingerprint: string
  /** Removes the spooled file; safe to call more than once. */
  readonly cleanup: () => Promise<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly maxFileBytes: number
  readonly maxJsonBytes: number
}

// Form fields whose values are text even when they look like numbers.
const textFields = new Set([
  "name",
  "description",
  "agentId",
  "fromPhoneNumberId",
  "defaultCountry",
  "scheduledStartTime",
  "timezone",
  "phoneRotationStrategy"
])

/**
 * A form field as a JSON client would have sent it: numbers, booleans,
 * arrays and objects arrive as text in a form, so text that parses as JSON
 * is taken as that value, except for fields that are text by nature.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeField = (name: string, value: string): unknown => {
  if (textFields.has(name)) return value
  const trimmed = value.trim()
  if (trimmed === "") return value
  try {
    return JSON.parse(trimmed)
  } catch {
    return value
  }
}

const fieldName = (name: string) => name.endsWith("[]") ? name.slice(0, -2) : name

const fileTooLarge = (limit: number) =>
  new HttpFailure(413, "file_too_large", `The upload is larger than ${limit} bytes`, { maxBytes: limit })

const readJson = async (request: Request, limit: number): Promise<Incoming> => {
  const chunks: Array<Buffer> = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw fileTooLarge(limit)
    chunks.push(chunk)
  }
  const raw = Buffer.concat(chunks)
  const fingerprint = createHash("sha256").update(raw).digest("hex")
  if (raw.length === 0) return { fields: {}, file: undefined, fingerprint, cleanup: async () => {} }
  let parsed: unknown
  try {
    parsed = JSON.parse(raw.toString("utf8"))
  } catch (error) {
    throw new HttpFailure(400, "validation_error", `The request body is not valid JSON: ${(error as Error).message}`)
  }
  // A bare array is a list of contacts.
  const fields = Array.isArray(parsed)
    ? { contacts: parsed }
    : typeof parsed === "object" && parsed !== null
    ? parsed as Record<string, unknown>
    : undefined
  if (fields === undefined) throw new HttpFailure(400, "validation_error", "The request body must be a JSON object")
  return { fields, file: undefined, fingerprint, cleanup: async () => {} }
}

const readMultipart = (request: Request, limits: Limits): Promise<Incoming> =>
  new Promise((resolve, reject) => {
    const fields: Record<string, unknown> = {}
    const fieldHashes: Array<string> = []
    let file: SpooledFile | undefined
    let directory: string | undefined
    let pending: Promise<void> = Promise.resolve()
    let failed = false
    const cleanup = async () => {
      if (directory !== undefined) await rm(directory, { recursive: true, force: true })
    }
    const fail = (error: unknown) => {
      if (failed) return
      failed = true
      // Stop reading the rest of the upload; the response closes the connection.
      request.unpipe(busboy)
      request.resume()
      cleanup().finally(() => reject(error))
    }
    let busboy: Busboy.Busboy
    try {
      busboy = Busboy({
        headers: request.headers,
        limits: { files: 1, fileSize: limits.maxFileBytes, fields: 200, fieldSize: 1024 * 1024 }
      })
    } catch (error) {
      reject(new HttpFailure(400, "validation_error", `Unreadable multipart body: ${(error as Error).message}`))
      return
    }
    busboy.on("field", (rawName, value) => {
      const name = fieldName(rawName)
      fieldHashes.push(`${rawName}=${value}`)
      const decoded = decodeField(name, value)
      const existing = fields[name]
      // A repeated field (`phoneNumberIds`, `phoneNumberIds[]`) is a list.
      fields[name] = existing === undefined
        ? (rawName.endsWith("[]") ? [decoded] : decoded)
        : Array.isArray(existing)
        ? [...existing, decoded]
        : [existing, decoded]
    })
    busboy.on("file", (_name, stream, info) => {
      if (file !== undefined) {
        stream.resume()
        return
      }
      const hash = createHash("sha256")
      let bytes = 0
      stream.on("limit", () => fail(fileTooLarge(limits.maxFileBytes)))
      // Created at once: the part's bytes start flowing as soon as it is consumed.
      directory = mkdtempSync(join(tmpdir(), "outdial-upload-"))
      const path = join(directory, "contacts")
      const count = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length
          hash.update(chunk)
          callback(null, chunk)
        }
      })
      pending = pipeline(stream, count, createWriteStream(path)).then(() => {
        fieldHashes.push(`file=${info.filename}:${hash.digest("hex")}`)
        file = {
          path,
          filename: info.filename ?? "contacts",
          contentType: info.mimeType,
          bytes,
          open: () => createReadStream(path)
        }
      })
      pending.catch(fail)
    })
    busboy.on("filesLimit", () => fail(new HttpFailure(400, "validation_error", "Send one contact file per request")))
    busboy.on("error", (error) =>
      fail(new HttpFailure(400, "validation_error", `Unreadable multipart body: ${(error as Error).message}`))
    )
    busboy.on("close", () => {
      pending.then(() => {
        if (failed) return
        const fingerprint = createHash("sha256").update(fieldHashes.sort().join("\n")).digest("hex")
        resolve({ fields, file, fingerprint, cleanup })
      }, fail)
    })
    request.pipe(busboy)
  })

/**
 * Reads a request body. No body reads as an empty object.
 *
 * @since 0.1.0
 * @category decoding
 */
export const read = (request: Request, limits: Limits): Promise<Incoming> => {
  const type = (request.headers["content-type"] ?? "").toLowerCase()
  if (type.startsWith("multipart/form-data")) return readMultipart(request, limits)
  if (type === "" || type.startsWith("application/json") || /^application\/[\w.+-]+\+json/.test(type)) {
    return readJson(request, limits.maxJsonBytes)
  }
  request.resume()
  return Promise.reject(
    new HttpFailure(415, "unsupported_file_type", `Send JSON or multipart/form-data, not ${type}`, { contentType: type })
  )
}
