/** The host's own provider: every call answered and over at once. */
import { Telephony } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export const dialed: Array<Telephony.DialRequest> = []
const results = new Map<string, Telephony.CallResult>()

export const telephony: Layer.Layer<Telephony.Telephony> = Layer.succeed(Telephony.Telephony)({
  dial: (request) =>
    Effect.sync((): Telephony.CallResult => {
      dialed.push(request)
      const result: Telephony.CallResult = {
        outcome: "completed",
        sipCode: null,
        duration: 1,
        roomName: `room-${request.attemptId}`,
        failureReason: null
      }
      results.set(request.attemptId, result)
      return result
    }),
  lookup: (attemptId) =>
    Effect.sync((): Telephony.AttemptStatus => {
      const result = results.get(attemptId)
      return result === undefined ? { _tag: "NotFound" } : { _tag: "Finished", result }
    })
})

