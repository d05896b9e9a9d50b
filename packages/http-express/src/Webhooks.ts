/**
 * A route for a telephony provider's webhooks (LiveKit's, say): the raw body
 * reaches the handler untouched, as signature checks need it.
 *
 * @since 0.1.0
 */
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from "express"
import * as ErrorResponse from "./ErrorResponse.ts"

/**
 * What a webhook handler answers: `accepted` (200), or `rejected` (401, a
 * forged or unsigned request).
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict = "accepted" | "rejected"

/**
 * A handler for `POST` requests carrying a provider's events.
 *
 * @since 0.1.0
 * @category constructors
 */
export const webhookRoute = (
  handler: (rawBody: string, headers: Request["headers"]) => Promise<Verdict>,
  options: { readonly maxBytes?: number | undefined } = {}
): ReadonlyArray<RequestHandler | ErrorRequestHandler> =>
  [
    express.text({ type: () => true, limit: options.maxBytes ?? 1024 * 1024 }),
    async (request: Request, response: Response) => {
      try {
        const verdict = await handler(typeof request.body === "string" ? request.body : "", request.headers)
        response.status(verdict === "accepted" ? 200 : 401).json({ ok: verdict === "accepted" })
      } catch (error) {
        answerFailure(response, error)
      }
    },
    // A body too large, in an unknown charset or badly compressed: the envelope, never Express's HTML page.
    (error: unknown, _request: Request, response: Response, _next: NextFunction) => answerFailure(response, error)
  ]

const answerFailure = (response: Response, error: unknown) => {
  const failure = ErrorResponse.fromUnknown(error)
  // A provider retries on 5xx: what failed here is ours, so it goes to the log with its cause.
  if (failure.status >= 500) console.error("outdial: webhook handler failed", error)
  ErrorResponse.send(response, failure)
}
