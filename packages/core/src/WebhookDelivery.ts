/**
 * Sending webhooks: every engine process turns recorded changes into
 * deliveries (`fanOut`) and sends the deliveries due, each claimed for a
 * while so that no two processes send one at the same moment and a process
 * that dies mid-send leaves it to another once its claim expires (at least
 * once: a receiver deduplicates on `webhook-id`).
 *
 * A try is signed per Standard Webhooks (the `standardwebhooks` package),
 * sent over kept-alive connections under a timeout, redirects not followed. A 2xx
 * delivers; a timeout, a network failure, a 5xx, 408 or 429 is retried with
 * exponential backoff and jitter (or after `Retry-After`) until the retry
 * period ends; any other answer fails the delivery at once. An endpoint
 * whose every try has failed for `disableAfterMillis` is disabled.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { lookup } from "node:dns/promises"
import { Agent as HttpAgent, request as httpRequest } from "node:http"
import { Agent as HttpsAgent, request as httpsRequest } from "node:https"
import { Webhook } from "standardwebhooks"
import type { BatchStore } from "./BatchStore.ts"
import * as EngineMetrics from "./EngineMetrics.ts"
import { isIpLiteral, isLocalName, isPrivateAddress } from "./internal/privateAddress.ts"
import * as WebhookPayload from "./WebhookPayload.ts"
import type { WebhookSettings } from "./WebhookSettings.ts"
import type { ClaimedDelivery, DeliveryStatus, TryResult, WebhookStore } from "./WebhookStore.ts"

/**
 * What a receiver answered, or why it did not.
 *
 * @since 0.1.0
 * @category models
 */
export type Response =
  | { readonly _tag: "Answered"; readonly status: number; readonly retryAfter: string | null }
  | { readonly _tag: "NoAnswer"; readonly error: string }
  | { readonly _tag: "Refused"; readonly error: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface Verdict {
  readonly status: DeliveryStatus
  readonly nextAttemptAt: number | null
  readonly error: string | null
}

/**
 * Whether a receiver's answer is worth trying again: timeouts and network
 * failures, 5xx, 408 and 429. Other 4xx (and redirects, never followed) say
 * the request itself is wrong.
 *
 * @since 0.1.0
 * @category policy
 */
export const isRetryable = (response: Response): boolean =>
  response._tag === "NoAnswer" ||
  (response._tag === "Answered" && (response.status >= 500 || response.status === 408 || response.status === 429))

/**
 * A `Retry-After` header as milliseconds from `now` (delay in seconds, or an
 * HTTP date); `undefined` when absent or unreadable.
 *
 * @since 0.1.0
 * @category policy
 */
export const retryAfterMillis = (header: string | null, now: number): number | undefined => {
  if (header === null) return undefined
  const trimmed = header.trim()
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * What a try's answer makes of the delivery: delivered, failed, or pending
 * until the next try. The `attempt`th retry waits `initialBackoffMillis ·
 * 2^(attempt-1)` (at most `maxBackoffMillis`), of which a random half is
 * jitter, so receivers coming back are not hit by every sender at once; a
 * `Retry-After` sets the wait instead (still at most `maxBackoffMillis`).
 * Past the retry period (from `firstDueAt`) the delivery fails.
 *
 * @since 0.1.0
 * @category policy
 */
export const verdictOf = (
  response: Response,
  attempt: number,
  firstDueAt: number,
  now: number,
  settings: WebhookSettings,
  random: () => number
): Verdict => {
  if (response._tag === "Answered" && response.status >= 200 && response.status < 300) {
    return { status: "delivered", nextAttemptAt: null, error: null }
  }
  const error = response._tag === "Answered" ? `HTTP ${response.status}` : response.error
  if (!isRetryable(response)) return { status: "failed", nextAttemptAt: null, error }
  const backoff = Math.min(settings.initialBackoffMillis * 2 ** Math.min(attempt - 1, 30), settings.maxBackoffMillis)
  const asked = response._tag === "Answered" ? retryAfterMillis(response.retryAfter, now) : undefined
  const wait = asked !== undefined ? Math.min(asked, settings.maxBackoffMillis) : backoff / 2 + random() * backoff / 2
  const next = now + wait
  if (next > firstDueAt + settings.retryPeriodMillis) {
    return { status: "failed", nextAttemptAt: null, error: `${error}; gave up after ${attempt} tries` }
  }
  return { status: "pending", nextAttemptAt: next, error }
}

/** Why an address may not be sent to, or `undefined`. */
const addressProblem = async (url: URL): Promise<string | undefined> => {
  const host = url.hostname
  if (isLocalName(host) || isPrivateAddress(host)) return "the endpoint's address is in a private network"
  if (isIpLiteral(host)) return undefined
  const addresses = await lookup(host, { all: true })
  return addresses.some((address) => isPrivateAddress(address.address))
    ? "the endpoint's name resolves into a private network"
    : undefined
}

/**
 * Connections stay open between tries (as long as the receiver's keep-alive
 * allows): a TCP and TLS handshake per delivery costs more than the delivery.
 * Node's `http` client, not `fetch`: it sends a delivery for a third of the CPU.
 */
const agents: Record<string, HttpAgent> = {
  "http:": new HttpAgent({ keepAlive: true }),
  "https:": new HttpsAgent({ keepAlive: true })
}

/** A body beyond this is not read to the end: the connection is dropped instead of kept. */
const bodyLimit = 64 * 1024

class TimeoutError extends Error {
  override readonly name = "TimeoutError"
}

/** POSTs `body`; settles on the answer's status line, then reads the body away so the connection serves again. */
const post = (
  url: URL,
  body: string,
  headers: Record<string, string>,
  timeoutMillis: number,
  signal: AbortSignal
): Promise<Response> =>
  new Promise((resolve) => {
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, {
      method: "POST",
      agent: agents[url.protocol],
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) }
    })
    const timer = setTimeout(() => request.destroy(new TimeoutError()), timeoutMillis)
    const abort = () => request.destroy(new Error("interrupted"))
    signal.addEventListener("abort", abort, { once: true })
    const done = () => (clearTimeout(timer), signal.removeEventListener("abort", abort))
    request.on("error", (error: Error & { code?: string }) => {
      done()
      resolve({
        _tag: "NoAnswer",
        error: error instanceof TimeoutError ? `no answer within ${timeoutMillis} ms` : `request failed (${error.code ?? error.name})`
      })
    })
    request.once("response", (response) => {
      const retryAfter = response.headers["retry-after"]
      resolve({ _tag: "Answered", status: response.statusCode ?? 0, retryAfter: retryAfter ?? null })
      // Only the status counts: the body is read away, unless it is big, and must not hold the sender.
      let read = 0
      response.on("data", (chunk: Buffer) => {
        read += chunk.length
        if (read > bodyLimit) response.destroy()
      })
      response.once("end", done)
      response.once("close", done)
      response.on("error", () => {})
    })
    request.end(body)
  })

/**
 * One try of a claimed delivery: signed, sent, answered. Never fails: what
 * went wrong is the answer.
 *
 * @since 0.1.0
 * @category sending
 */
export const send = (claimed: ClaimedDelivery, settings: WebhookSettings, at: number): Effect.Effect<Response> =>
  Effect.promise(async (signal): Promise<Response> => {
    let url: URL
    let signature: string
    try {
      url = new URL(claimed.endpoint.url)
      if (!settings.allowPrivateNetworks) {
        const problem = await addressProblem(url)
        if (problem !== undefined) return { _tag: "Refused", error: problem }
      }
      signature = new Webhook(claimed.endpoint.secret).sign(claimed.messageId, new Date(at), claimed.payload)
    } catch (error) {
      return { _tag: "NoAnswer", error: `request failed (${(error as { code?: string }).code ?? (error as Error).name})` }
    }
    return post(url, claimed.payload, {
      "content-type": "application/json",
      "user-agent": "outdial-webhooks/1",
      "webhook-id": claimed.messageId,
      "webhook-timestamp": String(Math.floor(at / 1000)),
      "webhook-signature": signature
    }, settings.timeoutMillis, signal)
  })

/**
 * How long a claim lasts: a try ends by its timeout, so a claim outliving it
 * twice over (and some) is only ever taken over from a dead process.
 *
 * @since 0.1.0
 * @category sending
 */
export const claimMillis = (settings: WebhookSettings): number => settings.timeoutMillis * 2 + 5_000

/**
 * What one pass did.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pass {
  readonly changes: number
  readonly sent: number
}

const fanOutChunk = 500

/**
 * One pass: every recorded change fanned out, then the deliveries due now
 * (up to `concurrency`) claimed and sent side by side.
 *
 * @since 0.1.0
 * @category sending
 */
export const pass = (
  webhooks: WebhookStore,
  options: { readonly ownerId: string; readonly settings: WebhookSettings; readonly random: () => number }
): Effect.Effect<Pass, import("./OutdialError.ts").StoreError> =>
  Effect.gen(function*() {
    const { settings } = options
    let changes = 0
    for (;;) {
      const at = DateTime.makeUnsafe(yield* Clock.currentTimeMillis)
      const taken = yield* webhooks.fanOut(fanOutChunk, at, (stored) => WebhookPayload.toMessage(stored, at))
      changes += taken
      if (taken < fanOutChunk) break
    }
    const now = yield* Clock.currentTimeMillis
    const claimed = yield* webhooks.claimDue({
      ownerId: options.ownerId,
      now: DateTime.makeUnsafe(now),
      leaseMillis: claimMillis(settings),
      limit: settings.concurrency
    })
    const results = yield* Effect.forEach(claimed, (delivery) =>
      Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const response = yield* send(delivery, settings, started)
        const ended = yield* Clock.currentTimeMillis
        const verdict = verdictOf(response, delivery.attempt, DateTime.toEpochMillis(delivery.createdAt), ended, settings, options.random)
        yield* EngineMetrics.webhookTried(verdict.status, ended - started)
        return {
          deliveryId: delivery.id,
          attempt: delivery.attempt,
          ownerId: options.ownerId,
          status: verdict.status,
          responseCode: response._tag === "Answered" ? response.status : null,
          latencyMillis: ended - started,
          error: verdict.error,
          nextAttemptAt: verdict.nextAttemptAt === null ? null : DateTime.makeUnsafe(verdict.nextAttemptAt),
          at: DateTime.makeUnsafe(ended),
          disableIfFailingSince: DateTime.makeUnsafe(ended - settings.disableAfterMillis),
          disableReason: `Disabled after failing for ${Math.round(settings.disableAfterMillis / 3_600_000)} h; last: ${verdict.error ?? "failure"}`
        } satisfies TryResult
      }).pipe(Effect.withSpan("outdial.webhook.deliver", {
        attributes: { "outdial.delivery.id": delivery.id, "outdial.message.id": delivery.messageId, "outdial.endpoint.id": delivery.endpoint.id }
      }, { captureStackTrace: false })), { concurrency: "unbounded" }) // a span per delivery: one call site, not worth a stack trace each
    // One write for the pass: a statement per delivery would take a pooled connection from dispatch each time.
    yield* webhooks.recordTries(results)
    return { changes, sent: claimed.length }
  })

/**
 * Waiting for work is on the timer, not the engine's `Clock`: what is due is
 * read on the `Clock` at each look, and a TestClock moved by days must not
 * replay a look per poll interval.
 */
const idle = (millis: number): Effect.Effect<void> =>
  Effect.promise((signal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, millis)
      signal.addEventListener("abort", () => (clearTimeout(timer), resolve()))
    })
  )

/**
 * Sends for the engine's lifetime: a pass, then another at once while
 * there was work, else after `pollIntervalMillis` (of real time). A failing store is
 * logged and tried again: webhooks never take the engine down.
 *
 * @since 0.1.0
 * @category sending
 */
export const run = (
  store: BatchStore["Service"],
  options: { readonly ownerId: string; readonly settings: WebhookSettings; readonly random: () => number }
): Effect.Effect<void> => {
  const webhooks = store.webhooks
  if (webhooks === undefined || !options.settings.enabled) return Effect.void
  const loop: Effect.Effect<never> = pass(webhooks, options).pipe(
    Effect.catchCause((cause) =>
      Effect.as(Effect.logWarning("outdial: could not send webhooks; trying again shortly", cause), { changes: 0, sent: 0 })
    ),
    Effect.flatMap((done) =>
      done.sent >= options.settings.concurrency || done.changes > 0 ? Effect.void : idle(options.settings.pollIntervalMillis)
    ),
    Effect.forever
  )
  return loop
}
