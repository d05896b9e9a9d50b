/**
 * Requests to a test server as a client sends them, and the checks every
 * router test makes of an answer.
 */
import { expect } from "vitest"
import { organizationId } from "./server.ts"

export interface Reply {
  readonly status: number
  readonly body: any
  readonly headers: Headers
}

export interface CallOptions {
  readonly org?: string | null
  readonly json?: unknown
  readonly body?: string | FormData
  readonly headers?: Record<string, string>
  readonly url?: string
}

/** A caller of the API at `baseUrl()` (read at each call: the server starts in a hook). */
export const client = (baseUrl: () => string) =>
async (method: string, path: string, options: CallOptions = {}): Promise<Reply> => {
  const org = options.org === undefined ? organizationId : options.org
  const response = await fetch(`${options.url ?? baseUrl()}${path}`, {
    method,
    headers: {
      ...(org === null ? {} : { "x-organization-id": org }),
      ...(options.json === undefined ? {} : { "content-type": "application/json" }),
      ...options.headers
    },
    body: options.json === undefined ? options.body : JSON.stringify(options.json)
  })
  const text = await response.text()
  let body: unknown = text
  try {
    body = text === "" ? undefined : JSON.parse(text)
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, body, headers: response.headers }
}

/** The answer is the error envelope with this status and code. */
export const expectError = (reply: Reply, status: number, code: string) => {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code })
  expect(typeof reply.body.error.message).toBe("string")
  expect(reply.body.error).toHaveProperty("details")
}
