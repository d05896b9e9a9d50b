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
 * The status and body of any failure.
 *
 * @since 0.1.0
 * @category mapping
 */
export const fromUnknown = (error: unknown): { readonly status: number; readonly body: ErrorBody } => {
  if (error instanceof HttpFailure) {
    return { status: error.status, body: { error: { code: error.code, message: error.message, details: error.details } } }
  }
  if (isOutdialError(error)) {
    // A store failure is ours, not the client's: its cause stays in the logs.
    const details = error.code === "store_error" ? null : detailsOf(error)
    return {
      status: OutdialError.httpStatus[error.code],
      body: { error: { code: error.code, message: error.message, details } }
    }
  }
  return {
    status: 500,
    body: { error: { code: "internal_error", message: "The server could not complete the request", details: null } }
  }
}

/**
 * The failure a cause carries: its typed error, or the defect.
 *
 * @since 0.1.0
 * @category mapping
 */
export const fromCause = (cause: Cause.Cause<unknown>): { readonly status: number; readonly body: ErrorBody } => {
  const found = Cause.findErrorOption(cause)
  return fromUnknown(found._tag === "Some" ? found.value : Cause.squash(cause))
}

/**
 * @since 0.1.0
 * @category responses
 */
export const send = (response: Response, failure: { readonly status: number; readonly body: ErrorBody }): void => {
  if (response.headersSent) {
    response.end()
    return
  }
  response.status(failure.status).json(failure.body)
}
