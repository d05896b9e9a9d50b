/**
 * `Telephony` over the fake provider's HTTP API: what a process of the crash
 * test dials through.
 */
import { Telephony } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const request = (url: string, init?: RequestInit) =>
  Effect.tryPromise({
    try: (signal) => fetch(url, { ...init, signal }).then((response) => response.json()),
    catch: (cause) => new Telephony.TelephonyError({ message: `fake provider unreachable: ${String(cause)}`, cause })
  })

export const layer = (baseUrl: string): Layer.Layer<Telephony.Telephony> =>
  Layer.succeed(Telephony.Telephony)({
    dial: (call) =>
      request(`${baseUrl}/dial`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ attemptId: call.attemptId, to: call.to })
      }) as Effect.Effect<Telephony.CallResult, Telephony.TelephonyError>,
    lookup: (attemptId) =>
      request(`${baseUrl}/calls/${encodeURIComponent(attemptId)}`) as Effect.Effect<
        Telephony.AttemptStatus,
        Telephony.TelephonyError
      >
  })
