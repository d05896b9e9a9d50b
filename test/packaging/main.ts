/**
 * A host app as a user writes it against the published packages: compiled
 * with NodeNext, strict, `skipLibCheck: false`, then run. It mounts the
 * batch API behind its own JSON parser and auth, dials through a provider
 * of its own, and prints one line of JSON for the packaging test.
 */
import { LiveKitTelephony } from "@outdial/adapter-livekit"
import { PgStorage } from "@outdial/adapter-postgres"
import { Batch, CallOutcome, Contact, Directory, Engine, EngineConfig, MemoryBatchStore } from "@outdial/core"
import { Router } from "@outdial/http-express"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import express from "express"
import type { AddressInfo } from "node:net"
import { dialed, telephony } from "./telephony.js"

// Names that are a type and a value at once, through the root namespaces.
export const isBatch: (input: unknown) => input is Batch.Batch = Schema.is(Batch.Batch)
export const isContact: (input: unknown) => input is Contact.Contact = Schema.is(Contact.Contact)
export const outcomes: ReadonlyArray<CallOutcome.CallOutcome> = CallOutcome.CallOutcome.literals
export const config: EngineConfig.EngineConfig = { ...EngineConfig.defaults(), averageCallSeconds: 30 }
export const configReference: typeof EngineConfig.EngineConfig = EngineConfig.EngineConfig

const organizationId = "org_host"
export const directory = Directory.layerStatic({
  agents: [{ id: "agent_host", organizationId, ready: true, phoneNumberIds: ["num_host"] }],
  callerNumbers: [{ id: "num_host", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent_host" }]
})

// What a durable deployment composes with the same call (compiled, not run here).
export const durable = () =>
  Engine.layerWith({ store: PgStorage.layerEmbedded(), telephony: LiveKitTelephony.layerConfig(), directory })

const engine = Engine.layerWith({ store: MemoryBatchStore.layer, telephony, directory, config: { averageCallSeconds: 30 } })

const main = async () => {
  const runtime = ManagedRuntime.make(engine)
  const app = express()
  app.use(express.json())
  const auth: express.RequestHandler = (request, response, next) =>
    request.get("authorization") === "Bearer host-token" ? next() : void response.status(401).json({ host: "denied" })
  app.use("/api/v1", auth, Router.makeRouter(runtime, { resolveOrganization: () => organizationId }))
  app.get("/api/v1/host/health", (_request, response) => void response.json({ ok: true }))
  app.use("/api/v1", Router.notFound)
  const server = app.listen(0, "127.0.0.1")
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`
  const headers = { authorization: "Bearer host-token", "content-type": "application/json" }
  try {
    const contacts = ["+12025550123", "+12025550124", "+4915120000001"].map((phone, i) => ({ phone, name: `Host ${i}` }))
    const created = await fetch(`${api}/batches`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "Host batch", agentId: "agent_host", contacts })
    })
    const createdBody = await created.json() as { batchJobId: string }
    let final: any
    // Calls end at once; the batch completes as soon as the dispatcher has run them.
    for (let i = 0; i < 600; i++) {
      final = await (await fetch(`${api}/batches/${createdBody.batchJobId}`, { headers })).json()
      if (final.status === "completed") break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const health = await fetch(`${api}/host/health`, { headers })
    const unknown = await fetch(`${api}/nothing-here`, { headers })
    console.log(JSON.stringify({
      created: created.status,
      status: final.status,
      successfulCalls: final.progress.successfulCalls,
      dialed: dialed.length,
      health: health.status,
      unknown: [unknown.status, ((await unknown.json()) as any).error?.code]
    }))
  } finally {
    server.close()
    await runtime.dispose()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
