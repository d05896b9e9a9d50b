/**
 * A LiveKit server at the protocol level, for tests: the Twirp JSON
 * endpoints `livekit-server-sdk` calls for outbound SIP (RoomService
 * CreateRoom / DeleteRoom / ListRooms / ListParticipants /
 * UpdateRoomMetadata / RemoveParticipant, AgentDispatchService
 * CreateDispatch, SIP CreateSIPParticipant), checking the SDK's JWT with the
 * API secret and the grants each method needs, answering each dialed number
 * with the real server's error shapes, and sending signed webhooks as
 * LiveKit does. Shapes follow the research notes on livekit-server-sdk 2.19
 * (`shared/research/livekit-wire-protocol.md`).
 */
import { AccessToken } from "livekit-server-sdk"
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export const apiKey = "APIfake"
export const apiSecret = "fake-secret-with-enough-length-for-hs256"
export const trunkId = "ST_outbound"

/** How a dialed number answers. */
export type Scenario =
  | { readonly kind: "answer"; readonly talkMs: number }
  | { readonly kind: "sip"; readonly code: number; readonly reason: string }
  | { readonly kind: "ring-out" }
  | { readonly kind: "never-answer-the-request" }
  | { readonly kind: "no-sip-node" }

/** Numbers by their last digits, as the tests dial them. */
export const scenarioOf = (to: string, talkMs: number): Scenario => {
  if (to.endsWith("486")) return { kind: "sip", code: 486, reason: "Busy Here" }
  if (to.endsWith("480")) return { kind: "sip", code: 480, reason: "Temporarily Unavailable" }
  if (to.endsWith("603")) return { kind: "sip", code: 603, reason: "Decline" }
  if (to.endsWith("404")) return { kind: "sip", code: 404, reason: "Not Found" }
  if (to.endsWith("503")) return { kind: "sip", code: 503, reason: "Service Unavailable" }
  if (to.endsWith("607")) return { kind: "sip", code: 607, reason: "Unwanted" }
  if (to.endsWith("777")) return { kind: "no-sip-node" }
  if (to.endsWith("000")) return { kind: "ring-out" }
  if (to.endsWith("999")) return { kind: "never-answer-the-request" }
  return { kind: "answer", talkMs }
}

const httpOf: Record<string, number> = {
  canceled: 408,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  unavailable: 503
}

const sipTwirpCode = (code: number): string =>
  ({
    400: "invalid_argument",
    403: "permission_denied",
    404: "not_found",
    408: "deadline_exceeded",
    480: "resource_exhausted",
    486: "resource_exhausted",
    487: "aborted",
    600: "resource_exhausted",
    603: "permission_denied",
    607: "permission_denied",
    604: "not_found"
  } as Record<number, string>)[code] ?? (code < 500 ? "invalid_argument" : code < 600 ? "failed_precondition" : "invalid_argument")

interface Participant {
  readonly sid: string
  readonly identity: string
  readonly joinedAtMs: number
  attributes: Record<string, string>
}

interface Room {
  readonly sid: string
  readonly name: string
  metadata: string
  readonly createdAt: number
  readonly participants: Map<string, Participant>
}

export interface Dial {
  readonly to: string
  readonly room: string
  readonly body: Record<string, any>
}

export interface FakeLiveKit {
  readonly url: string
  readonly rooms: Map<string, Room>
  readonly dials: Array<Dial>
  readonly dispatches: Array<{ readonly room: string; readonly agentName: string; readonly metadata: string }>
  readonly deletedRooms: Array<string>
  /** Requests refused for their token or grants, by method. */
  readonly refused: Array<string>
  /** Where webhooks go; none are sent while unset. */
  webhookUrl: string | undefined
  /** Sends every webhook twice, as LiveKit's retries can. */
  duplicateWebhooks: boolean
  readonly webhooksSent: Array<string>
  /** Ends an answered call now, as the callee hanging up: the SIP participant leaves. */
  readonly hangUp: (room: string) => Promise<void>
  readonly close: () => Promise<void>
}

const id = (prefix: string) => `${prefix}_${randomBytes(6).toString("hex")}`

/** HS256 JWT check as LiveKit's auth middleware does it; the payload, or why not. */
const verify = (token: string): { readonly claims?: Record<string, any>; readonly error?: string } => {
  const parts = token.split(".")
  if (parts.length !== 3) return { error: "invalid authorization token" }
  const [header, payload, signature] = parts as [string, string, string]
  const expected = createHmac("sha256", apiSecret).update(`${header}.${payload}`).digest()
  const given = Buffer.from(signature, "base64url")
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { error: "invalid authorization token" }
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, any>
  if (JSON.parse(Buffer.from(header, "base64url").toString("utf8")).alg !== "HS256") return { error: "invalid authorization token" }
  if (claims.iss !== apiKey) return { error: "invalid authorization token: unknown API key" }
  if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) return { error: "invalid authorization token: expired" }
  return { claims }
}

/** The grant each method needs, as the SDK sends them and LiveKit checks them. */
const allowed = (method: string, claims: Record<string, any>, body: Record<string, any>): boolean => {
  const video = claims.video ?? {}
  switch (method) {
    case "livekit.SIP/CreateSIPParticipant":
      return claims.sip?.call === true
    case "livekit.RoomService/CreateRoom":
    case "livekit.RoomService/DeleteRoom":
      return video.roomCreate === true
    case "livekit.RoomService/ListRooms":
      return video.roomList === true
    case "livekit.RoomService/ListParticipants":
    case "livekit.RoomService/RemoveParticipant":
    case "livekit.RoomService/UpdateRoomMetadata":
    case "livekit.AgentDispatchService/CreateDispatch":
      return video.roomAdmin === true && video.room === (body.room ?? body.roomName)
    default:
      return false
  }
}

export const start = async (options: { readonly talkMs?: number; readonly answerDelayMs?: number } = {}): Promise<FakeLiveKit> => {
  const talkMs = options.talkMs ?? 60
  const answerDelayMs = options.answerDelayMs ?? 20
  const rooms = new Map<string, Room>()
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      run()
    }, ms)
    timers.add(timer)
  }
  const sleep = (ms: number) => new Promise<void>((resolve) => later(ms, resolve))

  const fake: FakeLiveKit = {
    url: "",
    rooms,
    dials: [],
    dispatches: [],
    deletedRooms: [],
    refused: [],
    webhookUrl: undefined,
    duplicateWebhooks: false,
    webhooksSent: [],
    // The agent stays in the room: it finishes when the host deletes it (or LiveKit's empty timeout would).
    hangUp: (room) => leave(room, "CLIENT_INITIATED"),
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }

  const sendWebhook = async (event: Record<string, unknown>) => {
    const url = fake.webhookUrl
    if (url === undefined) return
    const body = JSON.stringify({ id: id("EV"), createdAt: String(Math.floor(Date.now() / 1000)), ...event })
    const token = new AccessToken(apiKey, apiSecret, { ttl: "5m" })
    token.sha256 = createHash("sha256").update(body).digest("base64")
    const jwt = await token.toJwt()
    for (let i = 0; i < (fake.duplicateWebhooks ? 2 : 1); i++) {
      fake.webhooksSent.push(event.event as string)
      await fetch(url, {
        method: "POST",
        body,
        headers: { authorization: jwt, "content-type": "application/webhook+json", "user-agent": "LiveKit" }
      }).catch(() => undefined)
    }
  }

  const leave = async (roomName: string, reason: string) => {
    const room = rooms.get(roomName)
    if (room === undefined) return
    for (const participant of [...room.participants.values()]) {
      room.participants.delete(participant.identity)
      await sendWebhook({
        event: "participant_left",
        room: { sid: room.sid, name: room.name },
        participant: {
          sid: participant.sid,
          identity: participant.identity,
          kind: "SIP",
          state: "DISCONNECTED",
          joinedAtMs: String(participant.joinedAtMs),
          attributes: { ...participant.attributes, "sip.callStatus": "hangup" },
          disconnectReason: reason
        }
      })
    }
  }

  const finishRoom = async (roomName: string) => {
    const room = rooms.get(roomName)
    if (room === undefined) return
    rooms.delete(roomName)
    await sendWebhook({ event: "room_finished", room: { sid: room.sid, name: room.name } })
  }

  const json = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { "Content-Type": "application/json" })
    response.end(JSON.stringify(body))
  }
  // Byte-exact content type: the SDK reads twirp errors only under `application/json`.
  const twirp = (response: ServerResponse, code: string, msg: string, meta?: Record<string, string>) =>
    json(response, httpOf[code] ?? 500, meta === undefined ? { code, msg } : { code, msg, meta })

  const roomJson = (room: Room) => ({
    sid: room.sid,
    name: room.name,
    metadata: room.metadata,
    creation_time: String(Math.floor(room.createdAt / 1000)),
    num_participants: room.participants.size
  })
  const participantJson = (p: Participant) => ({
    sid: p.sid,
    identity: p.identity,
    state: "ACTIVE",
    kind: "SIP",
    joined_at: String(Math.floor(p.joinedAtMs / 1000)),
    joined_at_ms: String(p.joinedAtMs),
    attributes: p.attributes
  })

  const handlers: Record<string, (body: Record<string, any>, response: ServerResponse) => Promise<void> | void> = {
    "livekit.RoomService/CreateRoom": (body, response) => {
      const existing = rooms.get(body.name)
      const room = existing ??
        { sid: id("RM"), name: body.name, metadata: body.metadata ?? "", createdAt: Date.now(), participants: new Map() }
      rooms.set(room.name, room)
      json(response, 200, roomJson(room))
    },
    "livekit.RoomService/DeleteRoom": async (body, response) => {
      if (!rooms.has(body.room)) return twirp(response, "not_found", "requested room does not exist")
      fake.deletedRooms.push(body.room)
      json(response, 200, {})
      await leave(body.room, "ROOM_DELETED")
      await finishRoom(body.room)
    },
    "livekit.RoomService/ListRooms": (body, response) => {
      const names: Array<string> = body.names ?? []
      json(response, 200, { rooms: [...rooms.values()].filter((r) => names.length === 0 || names.includes(r.name)).map(roomJson) })
    },
    "livekit.RoomService/ListParticipants": (body, response) => {
      const room = rooms.get(body.room)
      if (room === undefined) return twirp(response, "not_found", "requested room does not exist")
      json(response, 200, { participants: [...room.participants.values()].map(participantJson) })
    },
    "livekit.RoomService/UpdateRoomMetadata": (body, response) => {
      const room = rooms.get(body.room)
      if (room === undefined) return twirp(response, "not_found", "requested room does not exist")
      room.metadata = body.metadata ?? ""
      json(response, 200, roomJson(room))
    },
    "livekit.RoomService/RemoveParticipant": async (body, response) => {
      const room = rooms.get(body.room)
      if (room?.participants.has(body.identity) !== true) return twirp(response, "not_found", "participant does not exist")
      json(response, 200, {})
      const participant = room.participants.get(body.identity)!
      room.participants.delete(body.identity)
      await sendWebhook({
        event: "participant_left",
        room: { sid: room.sid, name: room.name },
        participant: { sid: participant.sid, identity: participant.identity, kind: "SIP", disconnectReason: "PARTICIPANT_REMOVED" }
      })
    },
    "livekit.AgentDispatchService/CreateDispatch": (body, response) => {
      // As the real server with auto-create on: the dispatch makes the room.
      if (!rooms.has(body.room)) {
        rooms.set(body.room, { sid: id("RM"), name: body.room, metadata: "", createdAt: Date.now(), participants: new Map() })
      }
      fake.dispatches.push({ room: body.room, agentName: body.agentName, metadata: body.metadata ?? "" })
      json(response, 200, { id: id("AD"), agent_name: body.agentName, room: body.room, metadata: body.metadata ?? "" })
    },
    "livekit.SIP/CreateSIPParticipant": async (body, response) => {
      const to: string = body.sipCallTo ?? body.sip_call_to ?? ""
      const roomName: string = body.roomName ?? body.room_name ?? ""
      const trunk: string = body.sipTrunkId ?? body.sip_trunk_id ?? ""
      if (trunk === "" && body.sipNumber === undefined) return twirp(response, "invalid_argument", "missing sip trunk id and sip number")
      if (to === "") return twirp(response, "invalid_argument", "missing sip callee number")
      if (to.includes("@")) return twirp(response, "invalid_argument", "SipCallTo should be a phone number or SIP user, not a full SIP URI")
      if (roomName === "") return twirp(response, "invalid_argument", "missing room name")
      if (trunk !== trunkId) return twirp(response, "not_found", "requested sip trunk does not exist")
      fake.dials.push({ to, room: roomName, body })
      const ringingMs = Number.parseInt(body.ringingTimeout ?? "180s", 10) * 1000
      const scenario = scenarioOf(to, talkMs)
      const identity: string = body.participantIdentity ?? "sip-participant"
      const room = rooms.get(roomName) ??
        { sid: id("RM"), name: roomName, metadata: "", createdAt: Date.now(), participants: new Map<string, Participant>() }
      rooms.set(roomName, room)
      // The SIP participant joins while it dials, before any answer.
      const participant: Participant = {
        sid: id("PA"),
        identity,
        joinedAtMs: Date.now(),
        attributes: {
          ...(body.participantAttributes ?? {}),
          "sip.callID": id("SCL"),
          "sip.trunkID": trunk,
          "sip.phoneNumber": to,
          "sip.trunkPhoneNumber": body.sipNumber ?? "",
          "sip.callStatus": "dialing"
        }
      }
      room.participants.set(identity, participant)
      switch (scenario.kind) {
        case "never-answer-the-request":
          return
        case "no-sip-node":
          room.participants.delete(identity)
          return twirp(response, "unavailable", "twirp error unknown: no response from servers")
        case "ring-out":
          await sleep(ringingMs)
          room.participants.delete(identity)
          return twirp(response, "canceled", "twirp error unknown: sip request timed out")
        case "sip": {
          await sleep(answerDelayMs)
          room.participants.delete(identity)
          const inner = `sip status: ${scenario.code}: ${scenario.reason}`
          const wrapped = [400, 404, 480, 486, 488].includes(scenario.code)
            ? `INVITE failed: ${inner}`
            : `unexpected status from INVITE response: ${inner}`
          return twirp(response, sipTwirpCode(scenario.code), `twirp error unknown: ${wrapped}`, {
            sip_status_code: String(scenario.code),
            sip_status: scenario.reason
          })
        }
        case "answer": {
          await sleep(answerDelayMs)
          participant.attributes["sip.callStatus"] = "active"
          // A callee of a number ending in 321 asks not to be called again: the agent marks it,
          // and leaves before the callee (first in the room's order).
          if (to.endsWith("321")) {
            room.participants.delete(identity)
            room.participants.set("agent", { sid: id("PA"), identity: "agent", joinedAtMs: Date.now(), attributes: { "outdial.opt_out": "true" } })
            room.participants.set(identity, participant)
          }
          json(response, 200, {
            participant_id: participant.sid,
            participant_identity: identity,
            room_name: roomName,
            sip_call_id: participant.attributes["sip.callID"]
          })
          // The callee hangs up after talking.
          later(scenario.talkMs, () => void fake.hangUp(roomName))
          return
        }
      }
    }
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", async () => {
      const match = /^\/twirp\/([\w.]+\/\w+)$/.exec(request.url ?? "")
      const method = match?.[1]
      const handler = method === undefined ? undefined : handlers[method]
      if (request.method !== "POST" || handler === undefined) return twirp(response, "bad_route", `no handler for ${request.url}`)
      const authorization = request.headers.authorization ?? ""
      if (!authorization.startsWith("Bearer ")) {
        fake.refused.push(method!)
        response.writeHead(401, { "Content-Type": "text/plain" })
        return response.end("invalid authorization header. Must start with Bearer ")
      }
      const verified = verify(authorization.slice("Bearer ".length))
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, any>
      if (verified.claims === undefined) {
        fake.refused.push(method!)
        response.writeHead(401, { "Content-Type": "text/plain" })
        return response.end(verified.error)
      }
      if (!allowed(method!, verified.claims, body)) {
        fake.refused.push(method!)
        return twirp(response, "unauthenticated", "permissions denied")
      }
      await handler(body, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  ;(fake as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}
