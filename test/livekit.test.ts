/**
 * A batch end to end on the LiveKit adapter: engine + PostgreSQL store +
 * LiveKitTelephony + the Express router with LiveKit's webhook route
 * mounted, against the protocol-level fake LiveKit server. Every outcome
 * kind lands in its contact with the SIP code, the room and, for answered
 * calls, the duration measured from the answer to the webhook.
 */
import { LiveKitTelephony } from "@outdial/adapter-livekit"
import { PgStorage } from "@outdial/adapter-postgres"
import { Credits, Directory, Dispatcher, Engine, EngineConfig, EngineEvents } from "@outdial/core"
import { Router, Webhooks } from "@outdial/http-express"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import express from "express"
import type { AddressInfo } from "node:net"
import { afterAll, expect, it } from "vitest"
import * as FakeLiveKit from "../packages/adapter-livekit/test/FakeLiveKit.ts"
import { freshDatabase, isReachable } from "../packages/adapter-postgres/test/database.ts"

const organizationId = "org_lk"
const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

// Dialed numbers pick the fake's answer by their last digits.
const expectations: ReadonlyArray<readonly [phone: string, status: string, sipCode: number | null]> = [
  ["+4915123000123", "completed", null],
  ["+4915123000486", "busy", 486],
  ["+4915123000603", "busy", 603],
  ["+4915123000480", "no_answer", 480],
  ["+4915123001000", "no_answer", null],
  ["+4915123000404", "invalid_number", 404],
  ["+4915123000503", "carrier_error", 503],
  ["+4915123000607", "blocked", 607],
  ["+4915123000999", "timeout", null],
  ["+4915123000777", "failed", null]
]

it("runs a batch through LiveKit: every outcome in its contact, webhooks signed", async () => {
  const fake = await FakeLiveKit.start({ talkMs: 150 })
  cleanups.push(fake.close)
  const storage = (await isReachable())
    ? Layer.unwrap(Effect.map(freshDatabase("outdial_lk"), ({ url }) => PgStorage.layer({ url: Redacted.make(url) })))
    : PgStorage.layerEmbedded()
  const engine = Engine.layer.pipe(
    Layer.provideMerge(Dispatcher.layer),
    Layer.provide(EngineConfig.layer({})),
    Layer.provideMerge(Layer.mergeAll(
      storage,
      LiveKitTelephony.layer({
        url: fake.url,
        apiKey: FakeLiveKit.apiKey,
        apiSecret: Redacted.make(FakeLiveKit.apiSecret),
        outboundTrunkId: FakeLiveKit.trunkId,
        agentName: "outbound-caller",
        ringingTimeoutSeconds: 1,
        requestMarginSeconds: 1,
        roomCleanupDelayMillis: 50
      }),
      Directory.layerStatic({
        agents: [{ id: "agent_lk", organizationId, ready: true, phoneNumberIds: ["num_lk"] }],
        callerNumbers: [{ id: "num_lk", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent_lk" }]
      }),
      Credits.layerUnlimited(),
      EngineEvents.layer()
    ))
  )
  const runtime = ManagedRuntime.make(engine)
  cleanups.push(() => runtime.dispose())

  const app = express()
  app.post(
    "/livekit/webhook",
    ...Webhooks.webhookRoute(LiveKitTelephony.webhookHandler(runtime))
  )
  app.use("/api/v1", Router.makeRouter(runtime, { resolveOrganization: () => organizationId }))
  const server = app.listen(0, "127.0.0.1")
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  fake.webhookUrl = `${base}/livekit/webhook`

  const created = await fetch(`${base}/api/v1/batches`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      name: "LiveKit batch",
      agentId: "agent_lk",
      maxAttempts: 1,
      concurrentCallLimit: 10,
      contacts: expectations.map(([phone], i) => ({ phone, name: `Contact ${i + 1}`, plan: "pro" }))
    })
  })
  expect(created.status).toBe(201)
  const { batchJobId } = await created.json() as { batchJobId: string }

  let batch: any
  for (let i = 0; i < 300; i++) {
    batch = await (await fetch(`${base}/api/v1/batches/${batchJobId}?contactsPageSize=50`)).json()
    if (batch.status === "completed") break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  expect(batch.status).toBe("completed")

  const byPhone = new Map(batch.contacts.map((c: any) => [c.phoneNumber, c]))
  for (const [phone, status, sipCode] of expectations) {
    const contact = byPhone.get(phone) as any
    expect({ phone, status: contact.status, errorCode: contact.errorCode }).toEqual({ phone, status, errorCode: sipCode })
    expect(contact.roomName).toBe(`outdial-${batchJobId}_${contact.contactId}_1`)
    if (status === "completed") {
      expect(contact.callDuration).toBeGreaterThanOrEqual(0.1)
      expect(contact.failureReason).toBeNull()
    } else {
      expect(contact.callDuration).toBeNull()
      expect(contact.failureReason).toBeTruthy()
    }
  }
  // The agent was dispatched into every call's room with the contact's fields.
  expect(fake.dispatches).toHaveLength(expectations.length)
  expect(JSON.parse(fake.dispatches[0]!.metadata).dynamicVariables).toEqual({ plan: "pro" })

  const forged = await fetch(`${base}/livekit/webhook`, {
    method: "POST",
    headers: { authorization: "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJBUElmYWtlIn0.Zm9yZ2Vk", "content-type": "application/webhook+json" },
    body: JSON.stringify({ id: "EV_forged", event: "room_finished", room: { name: "outdial-x" } })
  })
  expect(forged.status).toBe(401)
}, 60_000)
