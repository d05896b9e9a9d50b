/**
 * One error envelope for every route, `{ "error": { "code", "message",
 * "details" } }`, and the one place a failure becomes an HTTP status: the
 * engine's typed errors by core's `httpStatus` table, and the few failures
 * only the transport sees (malformed JSON, no organization, no such route).
 *
 * @since 0.1.0
 */
import { OutdialError } from "@outdial/core"
import * as Cause from "effect/Cause"
import type { Response } from "express"

/**
 * Codes only the transport produces.
 *
 * @since 0.1.0
 * @category models
 */
export type TransportCode = "unauthorized" | "not_found" | "internal_error"

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorBody {
  readonly error: {
    readonly code: OutdialError.ErrorCode | TransportCode
    readonly message: string
    readonly details: Readonly<Record<string, unknown>> | null
  }
}

/**
 * A failure the transport raises itself, with its status.
 *
 * @since 0.1.0
 * @category models
 */
export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: OutdialError.ErrorCode | TransportCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> | null = null
  ) {
    super(message)
  }
}

const isOutdialError = (error: unknown): error is OutdialError.OutdialError =>
  typeof error === "object" && error !== null && "code" in error &&
  typeof (error as { code: unknown }).code === "string" &&
  Object.hasOwn(OutdialError.httpStatus, (error as { code: string }).code)

// Fields of a tagged error worth showing a client; the rest is machinery.
const detailsOf = (error: OutdialError.OutdialError): Record<string, unknown> | null => {
  const { _tag, code: _code, message: _message, cause: _cause, stack: _stack, details, ...rest } = error as unknown as
    & Record<string, unknown>
    & { details?: Record<string, unknown> }
  const merged = { ...rest, ...(details ?? {}) }
  return Object.keys(merged).length === 0 ? null : merged
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  readonly status: number
  readonly body: ErrorBody
}

/**
 * The status and body of any failure.
 *
 * @since 0.1.0
 * @category mapping
 */
export const fromUnknown = (error: unknown): Failure => {
  if (error instanceof HttpFailure) {
    return { status: error.status, body: { error: { code: error.code, message: error.message, details: error.details } } }
  }
  if (isOutdialError(error)) {
    // A store failure is ours, not the client's: its cause (and the driver's words) stay in the logs.
    if (error.code === "store_error") {
      return { status: 500, body: { error: { code: error.code, message: storeFailureMessage, details: null } } }
    }
    return {
      status: OutdialError.httpStatus[error.code],
      body: { error: { code: error.code, message: error.message, details: detailsOf(error) } }
    }
  }
  const status = clientErrorStatus(error)
  if (status !== undefined) {
    const code = clientErrorCodes[status] ?? "validation_error"
    return { status, body: { error: { code, message: clientErrorMessage(status, error), details: null } } }
  }
  return {
    status: 500,
    body: { error: { code: "internal_error", message: "The server could not complete the request", details: null } }
  }
}

const clientErrorCodes: Readonly<Record<number, OutdialError.ErrorCode | TransportCode>> = {
  404: "not_found",
  413: "file_too_large",
  415: "unsupported_file_type"
}

const storeFailureMessage = "The batch store could not complete the request; try again shortly"

/**
 * The 4xx status Express or its body parsers put on an error they raised for
 * the request itself (a malformed path, a body too large, an unknown
 * charset, a bad gzip stream).
 */
const clientErrorStatus = (error: unknown): number | undefined => {
  if (error instanceof URIError) return 400
  if (typeof error !== "object" || error === null) return undefined
  const status = (error as { status?: unknown; statusCode?: unknown }).status ??
    (error as { statusCode?: unknown }).statusCode
  return typeof status === "number" && status >= 400 && status < 500 ? status : undefined
}

// What such an error says, in our words: theirs may quote the input or name internals.
const clientErrorMessage = (status: number, error: unknown): string => {
  if (error instanceof URIError) return "The path is not valid: it holds a malformed percent-escape"
  switch (status) {
    case 413:
      return "The request body is too large"
    case 415:
      return "The request body's content type or charset is not supported"
    default:
      return `The request could not be read (${(error as { type?: unknown }).type ?? "malformed"})`
  }
}

/**
 * The failure a cause carries: its typed error, or the defect.
 *
 * @since 0.1.0
 * @category mapping
 */
export const fromCause = (cause: Cause.Cause<unknown>): Failure => {
  const found = Cause.findErrorOption(cause)
  return fromUnknown(found._tag === "Some" ? found.value : Cause.squash(cause))
}

/**
 * @since 0.1.0
 * @category responses
 */
export const send = (response: Response, failure: Failure): void => {
  if (response.headersSent) {
    response.end()
    return
  }
  response.status(failure.status).json(failure.body)
}
