/**
 * A webhook receiver on loopback (a `node:http` server) for tests, benches
 * and the demo: it records every request with its Standard Webhooks
 * headers, answers what the test tells it to, can be stopped and started
 * again on the same port (a receiver that is down), and notes when two
 * requests of one message id were open at the same moment.
 *
 * @since 0.1.0
 */
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * @since 0.1.0
 * @category models
 */
export interface Received {
  readonly id: string
  readonly timestamp: string
  readonly signature: string
  readonly body: string
  readonly headers: Record<string, string>
}

/**
 * What to answer: a status, headers, and how long to wait before answering.
 *
 * @since 0.1.0
 * @category models
 */
export interface Answer {
  readonly status: number
  readonly headers?: Record<string, string> | undefined
  readonly delayMillis?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Receiver {
  readonly url: string
  /** Every request, in arrival order. */
  readonly received: Array<Received>
  /** Decides each answer; 204 unless replaced. */
  answer: (request: Received) => Answer
  /** Message ids that had two requests open at once. */
  readonly overlaps: Array<string>
  /** Closes the port (connections refused) until `start`. */
  readonly stop: () => Promise<void>
  readonly start: () => Promise<void>
  readonly close: () => Promise<void>
}

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

/**
 * Starts a receiver on 127.0.0.1 (on `port`, or any free one).
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (options: { readonly port?: number } = {}): Promise<Receiver> => {
  const open = new Map<string, number>()
  let server: Server | undefined
  let port = options.port ?? 0
  const receiver: Receiver = {
    url: "",
    received: [],
    answer: () => ({ status: 204 }),
    overlaps: [],
    stop: () => closeServer(),
    start: () => listen(),
    close: () => closeServer()
  }

  const handle = async (request: IncomingMessage, response: import("node:http").ServerResponse) => {
    const body = await readBody(request)
    const header = (name: string) => String(request.headers[name] ?? "")
    const received: Received = {
      id: header("webhook-id"),
      timestamp: header("webhook-timestamp"),
      signature: header("webhook-signature"),
      body,
      headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]))
    }
    const opened = (open.get(received.id) ?? 0) + 1
    open.set(received.id, opened)
    if (opened > 1) receiver.overlaps.push(received.id)
    receiver.received.push(received)
    const answer = receiver.answer(received)
    const reply = () => {
      open.set(received.id, (open.get(received.id) ?? 1) - 1)
      response.writeHead(answer.status, answer.headers ?? {})
      response.end()
    }
    if (answer.delayMillis !== undefined && answer.delayMillis > 0) setTimeout(reply, answer.delayMillis)
    else reply()
  }

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer((request, response) => void handle(request, response))
      // Node's default: a client keeps a connection for a little less than the server's keep-alive, so at
      // 1 s every request (the bench's too) paid a new connection, as few real receivers make it.
      next.keepAliveTimeout = 5_000
      next.once("error", reject)
      next.listen(port, "127.0.0.1", () => {
        port = (next.address() as AddressInfo).port
        ;(receiver as { url: string }).url = `http://127.0.0.1:${port}/hooks`
        server = next
        resolve()
      })
    })

  const closeServer = () =>
    new Promise<void>((resolve) => {
      const current = server
      server = undefined
      if (current === undefined) return resolve()
      current.close(() => resolve())
      current.closeAllConnections()
    })

  await listen()
  return receiver
}

/**
 * The messages received, parsed, each message id once (the first time).
 *
 * @since 0.1.0
 * @category reads
 */
export const messages = (receiver: Receiver): Array<{ readonly id: string; readonly type: string; readonly data: any }> => {
  const seen = new Set<string>()
  const result: Array<{ id: string; type: string; data: any }> = []
  for (const request of receiver.received) {
    if (seen.has(request.id)) continue
    seen.add(request.id)
    result.push(JSON.parse(request.body))
  }
  return result
}
