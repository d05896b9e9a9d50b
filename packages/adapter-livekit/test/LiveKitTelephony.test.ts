import { AgentRequests, LiveKitTelephony, SipOutcome } from "@outdial/adapter-livekit"
import { Telephony } from "@outdial/core"
import { TelephonySuite } from "@outdial/testing"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as FakeLiveKit from "./FakeLiveKit.ts"

const options = (fake: FakeLiveKit.FakeLiveKit, overrides: Partial<LiveKitTelephony.Options> = {}): LiveKitTelephony.Options => ({
  url: fake.url.replace(/^http/, "ws"),
  apiKey: FakeLiveKit.apiKey,
  apiSecret: Redacted.make(FakeLiveKit.apiSecret),
  outboundTrunkId: FakeLiveKit.trunkId,
  agentName: "outbound-caller",
  ringingTimeoutSeconds: 1,
  pollIntervalMillis: 60_000,
  roomCleanupDelayMillis: 50,
  ...overrides
})

let attempt = 0
const request = (to: string): Telephony.DialRequest => {
  attempt++
  return {
    attemptId: `batch_lk_c${attempt}_1`,
    organizationId: "org_acme",
    batchId: "batch_lk",
    contactId: `c${attempt}`,
    attemptNumber: 1,
    agentId: "agent_sales",
    callerNumberId: "num_1",
    callerNumber: "+12025550100",
    to,
    contactName: "Ada Lovelace",
    dynamicVariables: { plan: "pro", renewal_date: "2027-02-11" }
  }
}

/** A host's webhook endpoint: the raw body and header straight to the adapter. */
const webhookEndpoint = async (runtime: ManagedRuntime.ManagedRuntime<LiveKitTelephony.LiveKitWebhooks, never>) => {
  const verdicts: Array<number> = []
  const server: Server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", async () => {
      const verdict = await LiveKitTelephony.webhookHandler(runtime)(Buffer.concat(chunks).toString("utf8"), req.headers)
      const status = verdict === "accepted" ? 200 : 401
      verdicts.push(status)
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/livekit/webhook`,
    verdicts,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())))
  }
}

/** A fake LiveKit whose answered calls last `talkMs`, the adapter over it, and its webhooks delivered to the adapter. */
const connected = async (talkMs: number) => {
  const fake = await FakeLiveKit.start({ talkMs })
  const runtime = ManagedRuntime.make(LiveKitTelephony.layer(options(fake)))
  const endpoint = await webhookEndpoint(runtime)
  fake.webhookUrl = endpoint.url
  return { fake, runtime, endpoint }
}

const disconnect = async (
  endpoint: { readonly close: () => Promise<void> },
  runtime: { readonly dispose: () => Promise<void> },
  fake: FakeLiveKit.FakeLiveKit
) => {
  await endpoint.close()
  await runtime.dispose()
  await fake.close()
}

describe("SipOutcome", () => {
  const failure = (overrides: Partial<SipOutcome.Failure>): SipOutcome.Failure => ({
    sipCode: undefined,
    twirpCode: undefined,
    message: "",
    clientTimeout: false,
    network: false,
    ...overrides
  })
  const cases: Array<[string, Partial<SipOutcome.Failure>, string, number | null]> = [
    ["486 Busy Here", { sipCode: 486, twirpCode: "resource_exhausted" }, "busy", 486],
    ["600 Busy Everywhere", { sipCode: 600 }, "busy", 600],
    ["603 Decline", { sipCode: 603, twirpCode: "permission_denied" }, "busy", 603],
    ["603 blocked by the carrier", { sipCode: 603, message: "INVITE blocked by carrier: carrier blocked call (twilio error 32203)" }, "blocked", 603],
    ["607 Unwanted", { sipCode: 607 }, "blocked", 607],
    ["608 Rejected", { sipCode: 608 }, "blocked", 608],
    ["480 Temporarily Unavailable", { sipCode: 480, twirpCode: "resource_exhausted" }, "no_answer", 480],
    ["408 Request Timeout", { sipCode: 408 }, "no_answer", 408],
    ["487 Request Terminated", { sipCode: 487 }, "no_answer", 487],
    ["404 Not Found", { sipCode: 404, twirpCode: "not_found" }, "invalid_number", 404],
    ["410 Gone", { sipCode: 410 }, "invalid_number", 410],
    ["484 Address Incomplete", { sipCode: 484 }, "invalid_number", 484],
    ["604 Does Not Exist Anywhere", { sipCode: 604 }, "invalid_number", 604],
    ["403 Forbidden", { sipCode: 403 }, "carrier_error", 403],
    ["488 Not Acceptable Here", { sipCode: 488 }, "carrier_error", 488],
    ["503 Service Unavailable", { sipCode: 503 }, "carrier_error", 503],
    ["ringing timeout", { twirpCode: "canceled", message: "twirp error unknown: sip request timed out" }, "no_answer", null],
    ["ringing timeout race", { twirpCode: "failed_precondition", message: "twirp error unknown: context deadline exceeded" }, "no_answer", null],
    ["rang then stalled", { twirpCode: "canceled", message: "transaction failed to complete (2 intermediate responses)" }, "no_answer", null],
    ["carrier silent", { twirpCode: "canceled", message: "transaction failed to complete (0 intermediate responses)" }, "carrier_error", null],
    ["trunk auth", { twirpCode: "failed_precondition", message: "sip server required auth, but no username or password was provided" }, "carrier_error", null],
    ["callee refused", { twirpCode: "invalid_argument", message: "SipCallTo should be a phone number or SIP user, not a full SIP URI" }, "invalid_number", null],
    ["client timeout", { clientTimeout: true, message: "The operation was aborted due to timeout" }, "timeout", null],
    ["server budget", { twirpCode: "deadline_exceeded", message: "deadline exceeded" }, "timeout", null],
    ["unknown trunk", { twirpCode: "not_found", message: "requested sip trunk does not exist" }, "failed", null],
    ["no permission", { twirpCode: "unauthenticated", message: "permissions denied" }, "failed", null],
    ["rate limited, no SIP status", { twirpCode: "resource_exhausted", message: "rate limit" }, "failed", null],
    ["unreachable", { network: true, message: "fetch failed" }, "failed", null]
  ]
  for (const [name, given, outcome, sipCode] of cases) {
    it(`${name} → ${outcome}`, () => {
      const classified = SipOutcome.classify(failure(given))
      expect([classified.outcome, classified.sipCode]).toEqual([outcome, sipCode])
      expect(classified.failureReason.length).toBeGreaterThan(0)
    })
  }
})

describe("LiveKitTelephony against a fake LiveKit server", () => {
  let fake: FakeLiveKit.FakeLiveKit
  let runtime: ManagedRuntime.ManagedRuntime<Telephony.Telephony | LiveKitTelephony.LiveKitWebhooks, never>
  let endpoint: Awaited<ReturnType<typeof webhookEndpoint>>
  const dial = (to: string) => runtime.runPromise(Telephony.Telephony.use((t) => t.dial(request(to))))
  const lookup = (attemptId: string) => runtime.runPromise(Telephony.Telephony.use((t) => t.lookup(attemptId)))

  beforeAll(async () => {
    ;({ endpoint, fake, runtime } = await connected(120))
  })
  afterAll(() => disconnect(endpoint, runtime, fake))
  afterEach(() => {
    fake.duplicateWebhooks = false
  })

  it("places a call: room, agent dispatch with the contact's variables, SIP participant; ends on the webhook", async () => {
    const started = Date.now()
    const result = await dial("+12025550123")
    expect(result.outcome).toBe("completed")
    expect(result.sipCode).toBeNull()
    expect(result.roomName).toBe(`outdial-batch_lk_c${attempt}_1`)
    // Talked for the fake's 120 ms, measured from the answer; webhooks end it long before any poll.
    expect(result.duration).toBeGreaterThanOrEqual(0.1)
    expect(Date.now() - started).toBeLessThan(30_000)

    const room = result.roomName!
    const dispatch = fake.dispatches.find((d) => d.room === room)!
    expect(dispatch.agentName).toBe("outbound-caller")
    expect(JSON.parse(dispatch.metadata)).toMatchObject({
      attemptId: `batch_lk_c${attempt}_1`,
      batchId: "batch_lk",
      contactId: `c${attempt}`,
      phoneNumber: "+12025550123",
      contactName: "Ada Lovelace",
      dynamicVariables: { plan: "pro", renewal_date: "2027-02-11" }
    })
    const sent = fake.dials.find((d) => d.room === room)!.body
    expect(sent).toMatchObject({
      sipTrunkId: FakeLiveKit.trunkId,
      sipCallTo: "+12025550123",
      sipNumber: "+12025550100",
      participantIdentity: `pstn-batch_lk_c${attempt}_1`,
      waitUntilAnswered: true,
      ringingTimeout: "1s"
    })
    expect(fake.webhooksSent).toContain("participant_left")
    expect(endpoint.verdicts.every((status) => status === 200)).toBe(true)
  })

  it("reports an in-call opt-out the agent marked with the outdial.opt_out attribute, and none otherwise", async () => {
    const optedOut = await dial("+12025550321")
    expect(optedOut).toMatchObject({ outcome: "completed", optOut: true })
    const plain = await dial("+12025550322")
    expect(plain.outcome).toBe("completed")
    expect(plain).not.toHaveProperty("optOut")
  })

  it("maps each failure the server sends to its outcome, with the SIP code and the room", async () => {
    const expected: Array<[string, string, number | null]> = [
      ["+12025550486", "busy", 486],
      ["+12025550480", "no_answer", 480],
      ["+12025550603", "busy", 603],
      ["+12025550404", "invalid_number", 404],
      ["+12025550503", "carrier_error", 503],
      ["+12025551000", "no_answer", null]
    ]
    const results = await Promise.all(expected.map(([to]) => dial(to)))
    expect(results.map((r) => [r.outcome, r.sipCode])).toEqual(expected.map(([, outcome, code]) => [outcome, code]))
    for (const result of results) {
      expect(result.roomName).toMatch(/^outdial-batch_lk_c\d+_1$/)
      expect(result.duration).toBeNull()
      expect(result.failureReason).toBeTruthy()
    }
  })

  it("deletes each call's room once the call has ended", async () => {
    const result = await dial("+12025550124")
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(fake.deletedRooms).toContain(result.roomName)
    expect(fake.rooms.has(result.roomName!)).toBe(false)
  })

  it("ignores a repeated webhook and refuses a forged one or one with a Bearer prefix", async () => {
    fake.duplicateWebhooks = true
    const before = endpoint.verdicts.length
    expect((await dial("+12025550125")).outcome).toBe("completed")
    expect(endpoint.verdicts.slice(before).every((status) => status === 200)).toBe(true)

    const body = JSON.stringify({ id: "EV_forged", event: "room_finished", room: { name: "outdial-x" } })
    const forged = await fetch(endpoint.url, { method: "POST", body, headers: { authorization: "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl" } })
    expect(forged.status).toBe(401)
    const unsigned = await fetch(endpoint.url, { method: "POST", body })
    expect(unsigned.status).toBe(401)
  })

  it("tells what became of an attempt: never seen, going on, finished", async () => {
    expect(await lookup("batch_lk_c999_1")).toEqual({ _tag: "NotFound" })
    const next = `batch_lk_c${attempt + 1}_1`
    const call = dial("+12025550126")
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(await lookup(next)).toEqual({ _tag: "InProgress" })
    const result = await call
    expect(await lookup(next)).toEqual({ _tag: "Finished", result })
  })

  it("answers for calls another process placed, from the room LiveKit still has", async () => {
    const other = ManagedRuntime.make(LiveKitTelephony.layer(options(fake, { roomCleanupDelayMillis: 60_000 })))
    try {
      // Finished there: the result is in the room's metadata.
      const finished = await dial("+12025550486")
      expect(await other.runPromise(Telephony.Telephony.use((t) => t.lookup(`batch_lk_c${attempt}_1`))))
        .toEqual({ _tag: "Finished", result: finished })
      // Room created, dial never requested: not dialed, and the room goes.
      fake.rooms.set("outdial-batch_lk_c500_1", {
        sid: "RM_x",
        name: "outdial-batch_lk_c500_1",
        metadata: JSON.stringify({ outdial: { state: "created", attemptId: "batch_lk_c500_1" } }),
        createdAt: Date.now(),
        participants: new Map()
      })
      expect(await other.runPromise(Telephony.Telephony.use((t) => t.lookup("batch_lk_c500_1")))).toEqual({ _tag: "NotFound" })
      expect(fake.deletedRooms).toContain("outdial-batch_lk_c500_1")
      // Dial requested, call up: in progress; once gone, never redialed blindly.
      fake.rooms.set("outdial-batch_lk_c501_1", {
        sid: "RM_y",
        name: "outdial-batch_lk_c501_1",
        metadata: JSON.stringify({ outdial: { state: "calling", attemptId: "batch_lk_c501_1" } }),
        createdAt: Date.now(),
        participants: new Map([["pstn-batch_lk_c501_1", {
          sid: "PA_y",
          identity: "pstn-batch_lk_c501_1",
          joinedAtMs: Date.now() - 5_000,
          attributes: { "sip.callStatus": "active" }
        }]])
      })
      const lookupOther = () => other.runPromise(Telephony.Telephony.use((t) => t.lookup("batch_lk_c501_1")))
      expect(await lookupOther()).toEqual({ _tag: "InProgress" })
      await fake.hangUp("outdial-batch_lk_c501_1")
      fake.rooms.set("outdial-batch_lk_c501_1", {
        sid: "RM_y",
        name: "outdial-batch_lk_c501_1",
        metadata: JSON.stringify({ outdial: { state: "calling", attemptId: "batch_lk_c501_1" } }),
        createdAt: Date.now(),
        participants: new Map()
      })
      const ended = await lookupOther()
      expect(ended._tag).toBe("Finished")
      expect(ended._tag === "Finished" && ended.result.outcome).toBe("completed")
    } finally {
      await other.dispose()
    }
  })

  it("refuses to work with a wrong secret: the server checks the token", async () => {
    const wrong = ManagedRuntime.make(LiveKitTelephony.layer(options(fake, { apiSecret: Redacted.make("not-the-secret-at-all-no") })))
    try {
      const exit = await wrong.runPromiseExit(Telephony.Telephony.use((t) => t.dial(request("+12025550127"))))
      expect(exit._tag).toBe("Failure")
      expect(fake.refused).toContain("livekit.RoomService/CreateRoom")
    } finally {
      await wrong.dispose()
    }
  })
})

describe("without webhooks", () => {
  it("polls the room's participants to learn that the call ended", async () => {
    const fake = await FakeLiveKit.start({ talkMs: 100 })
    const runtime = ManagedRuntime.make(LiveKitTelephony.layer(options(fake, { webhooks: false, pollIntervalMillis: 40 })))
    try {
      const result = await runtime.runPromise(Telephony.Telephony.use((t) => t.dial(request("+12025550128"))))
      expect(result.outcome).toBe("completed")
      expect(fake.webhooksSent).toEqual([])
      expect(result.duration).toBeGreaterThanOrEqual(0.05)
    } finally {
      await runtime.dispose()
      await fake.close()
    }
  })
})

describe("layerConfig", () => {
  it("reads its settings from the config provider when built, the secret redacted", async () => {
    const fake = await FakeLiveKit.start({ talkMs: 30 })
    const provider = ConfigProvider.fromUnknown({
      LIVEKIT_URL: fake.url,
      LIVEKIT_API_KEY: FakeLiveKit.apiKey,
      LIVEKIT_API_SECRET: FakeLiveKit.apiSecret,
      LIVEKIT_SIP_TRUNK_ID: FakeLiveKit.trunkId,
      LIVEKIT_AGENT_NAME: "outbound-caller",
      LIVEKIT_RINGING_TIMEOUT: "1",
      LIVEKIT_WEBHOOKS: "false"
    })
    const layer = LiveKitTelephony.layerConfig({ pollIntervalMillis: 30, roomCleanupDelayMillis: 10 }).pipe(
      Layer.provide(ConfigProvider.layer(provider))
    )
    const runtime = ManagedRuntime.make(layer)
    try {
      const result = await runtime.runPromise(Telephony.Telephony.use((t) => t.dial(request("+12025550129"))))
      expect(result.outcome).toBe("completed")
    } finally {
      await runtime.dispose()
      await fake.close()
    }
    const missing = await Effect.runPromiseExit(
      Effect.scoped(Layer.build(LiveKitTelephony.layerConfig().pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({}))))))
    )
    expect(missing._tag).toBe("Failure")
  })
})

// The provider-agnostic Telephony contract against a fake LiveKit of its own,
// ending answered calls by polling; and the same adapter pointed at a closed port.
const fakeLayer = Layer.unwrap(
  Effect.acquireRelease(
    Effect.promise(() => FakeLiveKit.start({ talkMs: 50 })),
    (fake) => Effect.promise(() => fake.close())
  ).pipe(Effect.map((fake) => LiveKitTelephony.layer(options(fake, { webhooks: false, pollIntervalMillis: 50 }))))
)
TelephonySuite.run("LiveKitTelephony: Telephony conformance", fakeLayer, {
  unreachable: LiveKitTelephony.layer({
    url: "ws://127.0.0.1:9",
    apiKey: FakeLiveKit.apiKey,
    apiSecret: Redacted.make(FakeLiveKit.apiSecret),
    outboundTrunkId: FakeLiveKit.trunkId,
    agentName: "outbound-caller"
  })
})

describe("LiveKitTelephony: the agent's requests", () => {
  let fake: FakeLiveKit.FakeLiveKit
  let runtime: ManagedRuntime.ManagedRuntime<Telephony.Telephony | LiveKitTelephony.LiveKitWebhooks, never>
  let endpoint: Awaited<ReturnType<typeof webhookEndpoint>>

  beforeAll(async () => {
    // Calls last until the test hangs up.
    ;({ endpoint, fake, runtime } = await connected(600_000))
  })
  afterAll(() => disconnect(endpoint, runtime, fake))

  const answeredCall = async (to: string, attributes: Record<string, string>) => {
    const placed = runtime.runPromise(Telephony.Telephony.use((t) => t.dial(request(to))))
    const room = `outdial-batch_lk_c${attempt}_1`
    const identity = `pstn-batch_lk_c${attempt}_1`
    for (let i = 0; i < 400 && fake.rooms.get(room)?.participants.get(identity)?.attributes["sip.callStatus"] !== "active"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    Object.assign(fake.rooms.get(room)!.participants.get(identity)!.attributes, attributes)
    await fake.hangUp(room)
    return placed
  }

  it(`reads a callback request from the ${AgentRequests.callbackAtAttribute} attribute`, async () => {
    const result = await answeredCall("+12025550140", { [AgentRequests.callbackAtAttribute]: "2026-12-03T10:00:00-05:00" })
    expect(result).toMatchObject({ outcome: "completed", callbackAt: "2026-12-03T10:00:00-05:00" })
    const millis = await answeredCall("+12025550141", { [AgentRequests.callbackAtAttribute]: "1796310000000" })
    expect(millis.callbackAt).toBe(1796310000000)
  })

  it("ignores a callback attribute that names no instant, and a call without one has none", async () => {
    const garbled = await answeredCall("+12025550142", { [AgentRequests.callbackAtAttribute]: "tomorrow-ish" })
    expect(garbled.outcome).toBe("completed")
    expect(garbled).not.toHaveProperty("callbackAt")
    const plain = await answeredCall("+12025550143", {})
    expect(plain).not.toHaveProperty("callbackAt")
  })
})
