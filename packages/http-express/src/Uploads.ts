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
import { createReadStream, createWriteStream, mkdtempSync, type ReadStream } from "node:fs"
import { rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import { InputGuard } from "@outdial/core"
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
  /** Where uploads are spooled; the system's temporary folder unless set. */
  readonly spoolDirectory?: string | undefined
  /** A body that sends nothing for this long is abandoned: 408, and its spool is removed. */
  readonly idleMillis?: number | undefined
}

const defaultIdleMillis = 30_000

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

const abandoned = () => new HttpFailure(400, "validation_error", "The request body was not received whole")
const idle = (millis: number) =>
  new HttpFailure(408, "validation_error", `The request body stalled for ${millis / 1000} s`, { idleMillis: millis })

/** A JSON value or form field as the engine may see it: no NUL, no prototype keys, no deep nesting. */
const guard = (value: unknown, root: ReadonlyArray<string>) => {
  const hostile = InputGuard.check(value, root)
  if (hostile !== undefined) throw new HttpFailure(400, "validation_error", hostile.message, hostile.field === undefined ? null : { field: hostile.field })
}

/**
 * Fails with `onIdle` when `reset` is not called for `millis`; `clear` stops it.
 */
const idleTimer = (millis: number, onIdle: () => void) => {
  let timer = setTimeout(onIdle, millis)
  return {
    reset: () => timer.refresh(),
    clear: () => clearTimeout(timer)
  }
}

const fileTooLarge = (limit: number) =>
  new HttpFailure(413, "file_too_large", `The upload is larger than ${limit} bytes`, { maxBytes: limit })

const readJson = async (request: Request, limits: Limits): Promise<Incoming> => {
  const limit = limits.maxJsonBytes
  const idleMillis = limits.idleMillis ?? defaultIdleMillis
  const chunks: Array<Buffer> = []
  let size = 0
  let stalled = false
  const timer = idleTimer(idleMillis, () => {
    stalled = true
    request.destroy()
  })
  try {
    for await (const chunk of request as AsyncIterable<Buffer>) {
      timer.reset()
      size += chunk.length
      if (size > limit) throw fileTooLarge(limit)
      chunks.push(chunk)
    }
  } catch (error) {
    if (error instanceof HttpFailure) throw error
    throw stalled ? idle(idleMillis) : abandoned()
  } finally {
    timer.clear()
  }
  return fromJsonText(Buffer.concat(chunks))
}

const noCleanup = async () => {}

/**
 * A JSON body's text as the engine's fields; an empty body is an empty object.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromJsonText = (raw: Buffer | string): Incoming => {
  const fingerprint = createHash("sha256").update(raw).digest("hex")
  const text = raw.toString()
  if (text.trim() === "") return { fields: {}, file: undefined, fingerprint, cleanup: noCleanup }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new HttpFailure(400, "validation_error", `The request body is not valid JSON: ${(error as Error).message}`)
  }
  return fromJsonValue(parsed, () => fingerprint)
}

/**
 * A parsed JSON body as the engine's fields: an object, or a bare array
 * taken as the list of contacts. It is checked before anything else touches
 * it (hashing included), so deep nesting cannot overflow the stack.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromJsonValue = (parsed: unknown, fingerprintOf: () => string): Incoming => {
  const fields = Array.isArray(parsed)
    ? { contacts: parsed }
    : typeof parsed === "object" && parsed !== null
    ? parsed as Record<string, unknown>
    : undefined
  if (fields === undefined) throw new HttpFailure(400, "validation_error", "The request body must be a JSON object")
  guard(fields, [])
  return { fields, file: undefined, fingerprint: fingerprintOf(), cleanup: noCleanup }
}

const readMultipart = (request: Request, limits: Limits): Promise<Incoming> =>
  new Promise((resolve, reject) => {
    const fields: Record<string, unknown> = {}
    const fieldHashes: Array<string> = []
    let file: SpooledFile | undefined
    let directory: string | undefined
    let pending: Promise<void> = Promise.resolve()
    let failed = false
    let settled = false
    // Aborts the spooling pipeline, which closes the part and the spool file's descriptor.
    const spooling = new AbortController()
    // Streams the engine opened on the spool: closed before the file goes.
    const readers = new Set<ReadStream>()
    const idleMillis = limits.idleMillis ?? defaultIdleMillis
    const cleanup = async () => {
      for (const reader of readers) reader.destroy()
      await Promise.all([...readers].map((reader) => reader.closed ? undefined : new Promise<void>((done) => reader.once("close", () => done()))))
      readers.clear()
      if (directory !== undefined) await rm(directory, { recursive: true, force: true })
    }
    const fail = (error: unknown) => {
      if (failed) return
      failed = true
      timer.clear()
      request.off("close", onClose)
      // Stop reading the rest of the upload; the response closes the connection.
      request.unpipe(busboy)
      request.resume()
      spooling.abort()
      pending.catch(() => {}).then(cleanup).finally(() => reject(error))
    }
    const timer = idleTimer(idleMillis, () => {
      fail(idle(idleMillis))
      request.destroy()
    })
    // The client went away before the body ended: nothing will finish the parse.
    const onClose = () => {
      if (!settled && !request.complete) fail(abandoned())
    }
    request.on("close", onClose)
    request.on("data", () => timer.reset())
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
      try {
        guard({ [name]: decoded }, [])
        if (InputGuard.forbiddenKeys.has(name)) {
          throw new HttpFailure(400, "validation_error", `${name} is not an allowed field name`, { field: name })
        }
      } catch (error) {
        return fail(error)
      }
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
      directory = mkdtempSync(join(limits.spoolDirectory ?? tmpdir(), "outdial-upload-"))
      const path = join(directory, "contacts")
      const count = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length
          hash.update(chunk)
          callback(null, chunk)
        }
      })
      pending = pipeline(stream, count, createWriteStream(path), { signal: spooling.signal }).then(() => {
        fieldHashes.push(`file=${info.filename}:${hash.digest("hex")}`)
        file = {
          path,
          filename: info.filename ?? "contacts",
          contentType: info.mimeType,
          bytes,
          // Opened only when read: a request refused before its file is read opens nothing.
          open: () => ({
            async *[Symbol.asyncIterator]() {
              const reader = createReadStream(path)
              readers.add(reader)
              try {
                yield* reader
              } finally {
                reader.destroy()
              }
            }
          })
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
        settled = true
        timer.clear()
        request.off("close", onClose)
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
    return readJson(request, limits)
  }
  request.resume()
  return Promise.reject(
    new HttpFailure(415, "unsupported_file_type", `Send JSON or multipart/form-data, not ${type}`, { contentType: type })
  )
}
