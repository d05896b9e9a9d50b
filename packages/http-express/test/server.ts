/**
 * A host app for the router tests: Express with the router mounted under
 * `/api/v1`, an engine on the given store with quick simulated calls, two
 * tenants plus one out of credits, listening on loopback.
 */
import { BatchStore, Credits, Directory, Dispatcher, Engine, EngineConfig, EngineEvents, MemoryBatchStore, SimulatedTelephony } from "@outdial/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import express from "express"
import { mkdtempSync, rmSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MetricsRoute, Router, Webhooks } from "../src/index.ts"

export const organizationId = "org_acme"
export const otherOrganizationId = "org_other"
export const brokeOrganizationId = "org_broke"

export const directory = Directory.layerStatic({
  agents: [
    { id: "agent_sales", organizationId, ready: true, phoneNumberIds: ["num_1", "num_2"] },
    { id: "agent_draft", organizationId, ready: false, phoneNumberIds: ["num_1"] },
    { id: "agent_bare", organizationId, ready: true, phoneNumberIds: ["num_inbound"] },
    { id: "agent_other", organizationId: otherOrganizationId, ready: true, phoneNumberIds: ["num_other"] },
    { id: "agent_broke", organizationId: brokeOrganizationId, ready: true, phoneNumberIds: ["num_broke"] }
  ],
  callerNumbers: [
    { id: "num_1", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent_sales" },
    { id: "num_2", organizationId, number: "+12025550101", outboundEnabled: true, agentId: "agent_sales" },
    { id: "num_inbound", organizationId, number: "+12025550102", outboundEnabled: false, agentId: "agent_bare" },
    { id: "num_other", organizationId: otherOrganizationId, number: "+12025550199", outboundEnabled: true, agentId: "agent_other" },
    { id: "num_broke", organizationId: brokeOrganizationId, number: "+12025550198", outboundEnabled: true, agentId: "agent_broke" }
  ],
  // The other tenant only calls Germany and the US, and never German premium-rate 0900 numbers.
  destinationPolicies: { [otherOrganizationId]: { allowedCountries: ["DE", "US"], blockedPrefixes: ["+49900"] } }
})

const credits = Layer.succeed(Credits.Credits)({
  pricePerMinute: () => Effect.succeed(Credits.defaultPricePerMinute),
  balance: (org) => Effect.succeed(org === brokeOrganizationId ? 0 : Number.POSITIVE_INFINITY)
})

/** Numbers whose calls always end the same way, for tests that need a known outcome. */
export const alwaysBusy = "+4915139990001"
export const alwaysAnswers = "+4915139990002"

export const maxFileBytes = 256 * 1024
export const maxContacts = 200

export interface TestServer {
  readonly url: string
  /** The host app's own address, for routes outside the router. */
  readonly origin: string
  /** Where this server spools uploads. */
  readonly spoolDirectory: string
  /** The API mounted behind `express.json()`. */
  readonly parsedUrl: string
  readonly runtime: ManagedRuntime.ManagedRuntime<Engine.Engine | BatchStore.BatchStore, unknown>
  readonly close: () => Promise<void>
}

export interface StartOptions {
  /** Collects every message the engine and router log at error level, with its cause. */
  readonly errorLogs?: Array<string> | undefined
  readonly maxJsonBytes?: number | undefined
  readonly uploadIdleMillis?: number | undefined
  readonly config?: Partial<EngineConfig.EngineConfig> | undefined
}

/** A webhook route under `/hooks` that accepts a request signed `x-signature: ok`, 1 KB at most. */
export const webhookBytes = 1024

export const start = async (
  store: Layer.Layer<BatchStore.BatchStore, unknown> = MemoryBatchStore.layer,
  options: StartOptions = {}
): Promise<TestServer> => {
  const errorLogs = options.errorLogs
  const logging = errorLogs === undefined
    ? Layer.empty
    : Logger.layer([
      Logger.make((entry) => {
        if (entry.logLevel === "Error" || entry.logLevel === "Fatal") {
          errorLogs.push(`${String(entry.message)} ${Cause.pretty(entry.cause)}`)
        }
      })
    ])
  const engine = Engine.layer.pipe(
    Layer.provideMerge(Dispatcher.layer),
    Layer.provide(EngineConfig.layer({ maxContacts, maxFileBytes, ...options.config })),
    Layer.provideMerge(Layer.mergeAll(
      store,
      SimulatedTelephony.layer({
        byNumber: { [alwaysBusy]: "busy", [alwaysAnswers]: "completed" },
        ringSeconds: { min: 0, max: 0.02 },
        talkSeconds: { min: 0.01, max: 0.03 },
        rejectSeconds: { min: 0, max: 0.01 }
      }),
      directory,
      credits,
      EngineEvents.layer()
    )),
    Layer.provideMerge(logging)
  )
  const runtime = ManagedRuntime.make(engine)
  await runtime.runPromise(Effect.void)
  const spoolDirectory = mkdtempSync(join(tmpdir(), "outdial-spool-test-"))
  const app = express()
  app.get("/health", (_request, response) => void response.send("ok"))
  app.get("/metrics", MetricsRoute.makeHandler(runtime))
  app.post(
    "/hooks",
    ...Webhooks.webhookRoute(async (_body, headers) => headers["x-signature"] === "ok" ? "accepted" : "rejected", {
      maxBytes: webhookBytes
    })
  )
  const routerOptions: Router.Options = {
    resolveOrganization: (request) => request.get("x-organization-id"),
    maxFileBytes,
    maxJsonBytes: options.maxJsonBytes,
    uploadIdleMillis: options.uploadIdleMillis,
    spoolDirectory
  }
  app.use("/api/v1", Router.makeRouter(runtime, routerOptions))
  // A host route under the router's prefix, registered after it, then the API's 404 for the rest.
  app.get("/api/v1/host/ping", (_request, response) => void response.json({ host: true }))
  app.use("/api/v1", Router.notFound)
  // The same API behind a host's global JSON parser, which consumes the body first.
  app.use("/parsed/api/v1", express.json({ limit: "1mb" }), Router.makeRouter(runtime, routerOptions))
  const server = app.listen(0, "127.0.0.1")
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/api/v1`,
    origin: `http://127.0.0.1:${port}`,
    spoolDirectory,
    parsedUrl: `http://127.0.0.1:${port}/parsed/api/v1`,
    runtime,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await runtime.dispose()
      rmSync(spoolDirectory, { recursive: true, force: true })
    }
  }
}
