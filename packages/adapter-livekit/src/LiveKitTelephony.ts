/**
 * `Telephony` on LiveKit SIP. Each attempt gets a room named from its id;
 * the host dispatches the agent into it (the contact's custom fields as
 * dynamic variables in the dispatch metadata), then dials the contact into
 * it with `createSipParticipant` on the outbound trunk, waiting until the
 * call is answered or fails. An answered call ends when LiveKit's webhook
 * says the SIP participant left (or the room finished); polling
 * `listParticipants` is the fallback, slow when webhooks are on and the
 * only signal when they are off.
 *
 * The room's metadata records how far the attempt got (`created`,
 * `calling`, `finished` with the result), so that another process can tell
 * after a crash whether the attempt was dialed and how it ended, and never
 * redial blindly. The room is deleted a short while after the call ends,
 * once the engine has surely recorded the result.
 *
 * **In-call opt-out.** When the callee asks never to be called again, the
 * agent sets the attribute `outdial.opt_out` to `"true"` on its own
 * participant (`ctx.room.localParticipant.setAttributes({ "outdial.opt_out":
 * "true" })` in the LiveKit Agents SDK), or on any participant of the room.
 * The adapter reads it from webhooks (any event carrying the participant)
 * and from the room's participants when the call ends, and reports the
 * call's result with `optOut: true`: the engine lists the number at once.
 *
 * Longer than ~400 lines because `make` is one closure over the calls in
 * progress: dialing, webhooks, polling and lookups all read and end them.
 *
 * @since 0.1.0
 */
import { type CallOutcome, Telephony } from "@outdial/core"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AgentDispatchClient, RoomServiceClient, SipClient, WebhookReceiver } from "livekit-server-sdk"
import * as AgentRequests from "./AgentRequests.ts"
import * as SipOutcome from "./SipOutcome.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `https://…` or `wss://…` of the LiveKit project. */
  readonly url: string
  readonly apiKey: string
  readonly apiSecret: Redacted.Redacted<string>
  /** The outbound SIP trunk (`ST_…`). */
  readonly outboundTrunkId: string
  /** The agent worker's `agent_name`, dispatched explicitly into each call's room. */
  readonly agentName: string
  /** How long a call may ring; 30 s unless set (LiveKit caps the whole request at 80 s). */
  readonly ringingTimeoutSeconds?: number | undefined
  /** Longest call; LiveKit hangs up after it, and so does the adapter. One hour unless set. */
  readonly maxCallDurationSeconds?: number | undefined
  /** Whether LiveKit's webhooks reach this process (the host mounts the route); true unless set. */
  readonly webhooks?: boolean | undefined
  /** `listParticipants` polling: every 2 s without webhooks, every 30 s as a safety net with them. */
  readonly pollIntervalMillis?: number | undefined
  /** Delay between a call's end and its room's deletion; one minute unless set. */
  readonly roomCleanupDelayMillis?: number | undefined
  /**
   * How much longer than the ringing timeout to wait for LiveKit's answer
   * before giving the call up as unknown; 15 s unless set (the ring timer
   * starts after the room join).
   */
  readonly requestMarginSeconds?: number | undefined
  /** Prefix of room names; `outdial-` unless set. */
  readonly roomPrefix?: string | undefined
}

/**
 * A webhook request that is not LiveKit's: no or a bad signature, a body
 * that does not match it.
 *
 * @since 0.1.0
 * @category errors
 */
export class WebhookRejected extends Schema.TaggedError<WebhookRejected>()("WebhookRejected", {
  message: Schema.String
}) {}

/**
 * Receives LiveKit's webhooks: mount `handle` on a route that keeps the raw
 * body (`@outdial/http-express`'s `Webhooks.webhookRoute`).
 *
 * @since 0.1.0
 * @category services
 */
export class LiveKitWebhooks extends Context.Service<LiveKitWebhooks, {
  /** Checks the signature over the raw body; a repeated event is accepted and ignored. */
  readonly handle: (rawBody: string, authorization: string | undefined) => Effect.Effect<void, WebhookRejected>
}>()("@outdial/adapter-livekit/LiveKitWebhooks") {}

/** What the room's metadata says of its attempt. */
type RoomState =
  | { readonly state: "created" | "calling"; readonly attemptId: string }
  | { readonly state: "finished"; readonly attemptId: string; readonly result: Telephony.CallResult }

interface Call {
  readonly ended: Deferred.Deferred<void>
  result: Telephony.CallResult | undefined
  readonly requests: Record<string, string> // the agent's, seen so far (AgentRequests)
  /** The agent marked the callee's opt-out (`optOutAttribute`). */
  optOut: boolean
}

/**
 * The participant attribute an agent sets to `"true"` when the callee opts
 * out of further calls.
 *
 * @since 0.1.0
 * @category models
 */
export const optOutAttribute = "outdial.opt_out"

const optedOut = (participant: { readonly attributes?: { readonly [key: string]: string } | undefined } | undefined) =>
  participant?.attributes?.[optOutAttribute]?.trim().toLowerCase() === "true"

const participantIdentity = (attemptId: string) => `pstn-${attemptId}`

const errorText = (error: unknown) => error instanceof Error ? error.message : String(error)

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options) =>
  Effect.gen(function*() {
    const secret = Redacted.value(options.apiSecret)
    const host = options.url.replace(/^ws/, "http")
    const rooms = new RoomServiceClient(host, options.apiKey, secret)
    const dispatches = new AgentDispatchClient(host, options.apiKey, secret)
    const sip = new SipClient(host, options.apiKey, secret)
    const receiver = new WebhookReceiver(options.apiKey, secret)
    const ringingTimeout = Math.max(1, Math.round(options.ringingTimeoutSeconds ?? 30))
    const maxCallDuration = Math.max(1, Math.round(options.maxCallDurationSeconds ?? 3_600))
    const webhooksOn = options.webhooks ?? true
    const pollMillis = options.pollIntervalMillis ?? (webhooksOn ? 30_000 : 2_000)
    const cleanupDelay = options.roomCleanupDelayMillis ?? 60_000
    const roomOf = (attemptId: string) => `${options.roomPrefix ?? "outdial-"}${attemptId}`
    const scope = yield* Effect.scope

    const calls = new Map<string, Call>()
    const byRoom = new Map<string, string>()
    const seenEvents = new Set<string>()

    const call = <A>(what: string, run: () => Promise<A>) =>
      Effect.tryPromise({
        try: run,
        catch: (cause) => new Telephony.TelephonyError({ message: `LiveKit ${what} failed: ${errorText(cause)}`, cause })
      })

    const setState = (room: string, state: RoomState) =>
      call("updateRoomMetadata", () => rooms.updateRoomMetadata(room, JSON.stringify({ outdial: state })))

    const stateOf = (metadata: string | undefined): RoomState | undefined => {
      try {
        const parsed = JSON.parse(metadata ?? "") as { outdial?: RoomState }
        return parsed.outdial
      } catch {
        return undefined
      }
    }

    /** Whether the SIP participant is still in the room; a room that is gone has no call. */
    const stillThere = (room: string, identity: string) =>
      call("listParticipants", () => rooms.listParticipants(room)).pipe(
        Effect.map((participants) => participants.some((p) => p.identity === identity)),
        Effect.catch((error) =>
          /not.?found|does not exist/i.test(error.message) ? Effect.succeed(false) : Effect.fail(error)
        )
      )

    const poll = (room: string, identity: string): Effect.Effect<void> =>
      Effect.sleep(pollMillis).pipe(
        Effect.andThen(stillThere(room, identity)),
        Effect.orElseSucceed(() => true),
        Effect.flatMap((there) => there ? poll(room, identity) : Effect.void)
      )

    // Later, so a process that takes the batch over can still read the result from the room.
    const cleanUp = (room: string) =>
      Effect.forkIn(
        Effect.sleep(cleanupDelay).pipe(
          Effect.andThen(Effect.ignore(call("deleteRoom", () => rooms.deleteRoom(room)))),
          Effect.ensuring(Effect.sync(() => {
            byRoom.delete(room)
            if (calls.size > 10_000) calls.delete(calls.keys().next().value!) // a result outlives its room: lookups after the cleanup still find it
          }))
        ),
        scope
      )

    const finish = (room: string, attemptId: string, current: Call, result: Telephony.CallResult) =>
      Effect.gen(function*() {
        current.result = result
        yield* Effect.ignore(setState(room, { state: "finished", attemptId, result }))
        // Hang up whatever is left of the call (a participant still in, the agent's job).
        yield* Effect.ignore(call("removeParticipant", () => rooms.removeParticipant(room, participantIdentity(attemptId))))
        yield* cleanUp(room)
        return result
      })

    const dial = (request: Telephony.DialRequest) =>
      Effect.gen(function*() {
        const attemptId = request.attemptId
        const room = roomOf(attemptId)
        const identity = participantIdentity(attemptId)
        const current: Call = { ended: Deferred.makeUnsafe<void>(), result: undefined, requests: {}, optOut: false }
        calls.set(attemptId, current)
        byRoom.set(room, attemptId)

        yield* call("createRoom", () =>
          rooms.createRoom({
            name: room,
            emptyTimeout: 300,
            departureTimeout: 20,
            metadata: JSON.stringify({ outdial: { state: "created", attemptId } satisfies RoomState })
          }))
        yield* call("createDispatch", () =>
          dispatches.createDispatch(room, options.agentName, {
            metadata: JSON.stringify({
              attemptId,
              attemptNumber: request.attemptNumber,
              organizationId: request.organizationId,
              batchId: request.batchId,
              contactId: request.contactId,
              agentId: request.agentId,
              phoneNumber: request.to,
              contactName: request.contactName,
              callerNumber: request.callerNumber,
              dynamicVariables: request.dynamicVariables
            })
          }))
        // From here on the call may be placed: a process taking over must not redial it.
        yield* setState(room, { state: "calling", attemptId })

        const answered = yield* Effect.tryPromise({
          try: () =>
            sip.createSipParticipant(options.outboundTrunkId, request.to, room, {
              participantIdentity: identity,
              participantName: request.contactName ?? request.to,
              participantAttributes: { "outdial.attemptId": attemptId, "outdial.contactId": request.contactId },
              ...(request.callerNumber === null ? {} : { fromNumber: request.callerNumber }),
              waitUntilAnswered: true,
              ringingTimeout,
              maxCallDuration,
              timeout: ringingTimeout + (options.requestMarginSeconds ?? 15)
            }),
          catch: (cause) => cause
        }).pipe(Effect.result)

        if (answered._tag === "Failure") {
          const failure = SipOutcome.failureOf(answered.failure)
          const classified = SipOutcome.classify(failure)
          // A leg whose fate is unknown may still be ringing: end it now.
          if (failure.clientTimeout) yield* Effect.ignore(call("deleteRoom", () => rooms.deleteRoom(room)))
          return yield* finish(room, attemptId, current, {
            outcome: classified.outcome,
            sipCode: classified.sipCode,
            duration: null,
            roomName: room,
            failureReason: classified.failureReason
          })
        }

        const answeredAt = yield* Clock.currentTimeMillis
        yield* Effect.raceFirst(Deferred.await(current.ended), poll(room, identity)).pipe(
          Effect.timeoutOption((maxCallDuration + 30) * 1000)
        )
        const endedAt = yield* Clock.currentTimeMillis
        // The agent may still be in the room with what it set; a room already gone says nothing more.
        const participants = yield* call("listParticipants", () => rooms.listParticipants(room)).pipe(
          Effect.orElseSucceed(() => [])
        )
        AgentRequests.gather(current.requests, participants)
        if (participants.some(optedOut)) current.optOut = true
        return yield* finish(room, attemptId, current, {
          outcome: "completed" satisfies CallOutcome.CallOutcome,
          sipCode: null,
          duration: Math.max(0, Math.round((endedAt - answeredAt) / 100) / 10),
          roomName: room,
          failureReason: null,
          ...AgentRequests.requestsOf(current.requests),
          ...(current.optOut ? { optOut: true } : {})
        })
      })

    // Calls this process did not place (a takeover): what LiveKit still knows of them.
    const adopted = new Map<string, number>()
    const adoptedOptOuts = new Set<string>()
    const lookupRemote = (attemptId: string): Effect.Effect<Telephony.AttemptStatus, Telephony.TelephonyError> =>
      Effect.gen(function*() {
        const room = roomOf(attemptId)
        const found = yield* call("listRooms", () => rooms.listRooms([room]))
        const state = stateOf(found[0]?.metadata)
        if (found.length === 0 || state === undefined) return { _tag: "NotFound" } as const
        if (state.state === "finished") return { _tag: "Finished", result: state.result } as const
        if (state.state === "created") {
          // The dial was never requested: end the agent's job and let the engine dial again.
          yield* Effect.ignore(call("deleteRoom", () => rooms.deleteRoom(room)))
          return { _tag: "NotFound" } as const
        }
        const participants = yield* call("listParticipants", () => rooms.listParticipants(room))
        const participant = participants.find((p) => p.identity === participantIdentity(attemptId))
        const now = yield* Clock.currentTimeMillis
        if (participants.some(optedOut)) adoptedOptOuts.add(attemptId)
        if (participant !== undefined) {
          const status = participant.attributes?.["sip.callStatus"]
          if ((status === "active" || status === "hangup") && !adopted.has(attemptId)) {
            adopted.set(attemptId, Number(participant.joinedAtMs ?? 0n) || now)
          }
          return { _tag: "InProgress" } as const
        }
        const answeredSince = adopted.get(attemptId)
        const optOut = adoptedOptOuts.delete(attemptId)
        adopted.delete(attemptId)
        const result: Telephony.CallResult = answeredSince !== undefined
          ? {
            outcome: "completed",
            sipCode: null,
            // From the dial: the answer time died with the process that placed the call.
            duration: Math.max(0, Math.round((now - answeredSince) / 100) / 10),
            roomName: room,
            failureReason: null,
            ...(optOut ? { optOut: true } : {})
          }
          : {
            // Requested, and gone without a word: placed or not, it must not be redialed blindly.
            outcome: "timeout",
            sipCode: null,
            duration: null,
            roomName: room,
            failureReason: "the process placing this call stopped before it ended; LiveKit no longer has the call"
          }
        yield* Effect.ignore(setState(room, { state: "finished", attemptId, result }))
        yield* cleanUp(room)
        return { _tag: "Finished", result } as const
      })

    const lookup = (attemptId: string): Effect.Effect<Telephony.AttemptStatus, Telephony.TelephonyError> =>
      Effect.suspend(() => {
        const local = calls.get(attemptId)
        if (local === undefined) return lookupRemote(attemptId)
        return Effect.succeed(
          local.result === undefined ? { _tag: "InProgress" } as const : { _tag: "Finished", result: local.result } as const
        )
      })

    const handle = (rawBody: string, authorization: string | undefined) =>
      Effect.gen(function*() {
        const event = yield* Effect.tryPromise({
          try: () => receiver.receive(rawBody, authorization),
          catch: (cause) => new WebhookRejected({ message: `Not a LiveKit webhook: ${errorText(cause)}` })
        })
        // LiveKit retries deliveries: each event counts once.
        if (event.id !== "") {
          if (seenEvents.has(event.id)) return
          seenEvents.add(event.id)
          if (seenEvents.size > 10_000) seenEvents.delete(seenEvents.values().next().value!)
        }
        const room = event.room?.name ?? ""
        const attemptId = byRoom.get(room)
        if (attemptId === undefined) return
        const ends = event.event === "room_finished" ||
          (event.event === "participant_left" && event.participant?.identity === participantIdentity(attemptId))
        const current = calls.get(attemptId)
        if (current !== undefined && event.participant !== undefined) AgentRequests.gather(current.requests, [event.participant])
        if (current !== undefined && optedOut(event.participant)) current.optOut = true
        if (ends && current !== undefined) Deferred.doneUnsafe(current.ended, Effect.void)
      })

    return {
      telephony: Telephony.Telephony.of({ dial, lookup }),
      webhooks: LiveKitWebhooks.of({ handle })
    }
  })

/**
 * The webhook handler for a host's route (`Webhooks.webhookRoute` of
 * `@outdial/http-express`), running on the host's runtime: `accepted`, or
 * `rejected` for a request LiveKit did not sign.
 *
 * @since 0.1.0
 * @category webhooks
 */
export const webhookHandler = (runtime: {
  readonly runPromiseExit: <A, E>(effect: Effect.Effect<A, E, LiveKitWebhooks>) => Promise<Exit.Exit<A, unknown>>
}) =>
async (rawBody: string, headers: { readonly authorization?: string | undefined }): Promise<"accepted" | "rejected"> => {
  const exit = await runtime.runPromiseExit(LiveKitWebhooks.use((webhooks) => webhooks.handle(rawBody, headers.authorization)))
  return Exit.isSuccess(exit) ? "accepted" : "rejected"
}

/**
 * `Telephony` and `LiveKitWebhooks` on LiveKit.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Telephony.Telephony | LiveKitWebhooks> =>
  Layer.effectContext(
    Effect.map(make(options), ({ telephony, webhooks }) =>
      Context.make(Telephony.Telephony, telephony).pipe(Context.add(LiveKitWebhooks, webhooks)))
  )

/**
 * As `layer`, from the environment when the layer is built (never at
 * import): `LIVEKIT_URL`, `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`,
 * `LIVEKIT_SIP_TRUNK_ID`, `LIVEKIT_AGENT_NAME`, and optionally
 * `LIVEKIT_RINGING_TIMEOUT` (seconds) and `LIVEKIT_WEBHOOKS` (boolean).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: Partial<Omit<Options, "url" | "apiKey" | "apiSecret" | "outboundTrunkId" | "agentName">> = {}
): Layer.Layer<Telephony.Telephony | LiveKitWebhooks, Config.ConfigError> =>
  Layer.unwrap(
    Effect.gen(function*() {
      const url = yield* Config.String("LIVEKIT_URL")
      const apiKey = yield* Config.String("LIVEKIT_API_KEY")
      const apiSecret = yield* Config.Redacted("LIVEKIT_API_SECRET")
      const outboundTrunkId = yield* Config.String("LIVEKIT_SIP_TRUNK_ID")
      const agentName = yield* Config.String("LIVEKIT_AGENT_NAME")
      const ringingTimeoutSeconds = yield* Config.Number("LIVEKIT_RINGING_TIMEOUT").pipe(Config.withDefault(30))
      const webhooks = yield* Config.Boolean("LIVEKIT_WEBHOOKS").pipe(Config.withDefault(true))
      return layer({ url, apiKey, apiSecret, outboundTrunkId, agentName, ringingTimeoutSeconds, webhooks, ...overrides })
    })
  )
