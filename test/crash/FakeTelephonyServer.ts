/**
 * A telephony provider on loopback for the crash test: it places every call
 * it is asked for (tens of milliseconds each), remembers it by attempt id
 * even when the dialer dies mid-call, answers lookups, and records what a
 * real provider's bill would show: duplicate dials and calls in flight.
 */
import { createHash } from "node:crypto"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"

export interface CallRecord {
  readonly attemptId: string
  readonly to: string
  state: "in_progress" | "finished"
  result: unknown
}

export interface FakeTelephonyServer {
  readonly url: string
  readonly calls: Map<string, CallRecord>
  readonly duplicates: Array<string>
  readonly maxInFlight: () => number
  readonly close: () => Promise<void>
}

const outcomeOf = (attemptId: string) => {
  const roll = createHash("sha1").update(attemptId).digest().readUInt32BE(0) % 100
  if (roll < 70) return { outcome: "completed", sipCode: null, duration: 31, roomName: attemptId, failureReason: null }
  if (roll < 90) return { outcome: "no_answer", sipCode: 480, duration: null, roomName: attemptId, failureReason: "no answer" }
  return { outcome: "busy", sipCode: 486, duration: null, roomName: attemptId, failureReason: "busy" }
}

export const start = async (): Promise<FakeTelephonyServer> => {
  const calls = new Map<string, CallRecord>()
  const duplicates: Array<string> = []
  let inFlight = 0
  let maxInFlight = 0
  const server: Server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { "content-type": "application/json" })
        response.end(JSON.stringify(body))
      }
      if (request.method === "POST" && request.url === "/dial") {
        const { attemptId, to } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { attemptId: string; to: string }
        if (calls.has(attemptId)) duplicates.push(attemptId)
        const record: CallRecord = { attemptId, to, state: "in_progress", result: null }
        calls.set(attemptId, record)
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        const duration = 20 + (createHash("sha1").update(`d${attemptId}`).digest().readUInt8(0) % 40)
        // The call goes on whether or not the dialer is still there to hear how it ended.
        setTimeout(() => {
          inFlight--
          record.state = "finished"
          record.result = outcomeOf(attemptId)
          if (!response.destroyed) reply(200, record.result)
        }, duration)
        return
      }
      const lookup = /^\/calls\/(.+)$/.exec(request.url ?? "")
      if (request.method === "GET" && lookup !== null) {
        const record = calls.get(decodeURIComponent(lookup[1]!))
        return reply(200, record === undefined ? { _tag: "NotFound" } : record.state === "in_progress"
          ? { _tag: "InProgress" }
          : { _tag: "Finished", result: record.result })
      }
      reply(404, { error: "not found" })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    duplicates,
    maxInFlight: () => maxInFlight,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve())))
  }
}
