/**
 * A host app for the browser tests: Express with the batch API under
 * `/api/outdial` and the dashboard under `/admin/outdial` (non-root mount
 * paths both), an engine on embedded PostgreSQL (PGlite) dialing through the
 * simulated provider with sub-second calls.
 */
import { PgStorage } from "@outdial/adapter-postgres"
import { Directory, Engine, SimulatedTelephony, WebhookSettings } from "@outdial/core"
import { Router } from "@outdial/http-express"
import * as ManagedRuntime from "effect/ManagedRuntime"
import express from "express"
import type { AddressInfo } from "node:net"
import { Dashboard } from "../src/index.ts"

export const organizationId = "org_host"
export const agentId = "agent_support"

export interface Host {
  /** The dashboard's URL, without a trailing slash. */
  readonly dashboard: string
  readonly api: string
  readonly close: () => Promise<void>
}

export const start = async (): Promise<Host> => {
  const engine = Engine.layerWith({
    // The browser test registers an endpoint on this host itself, at 127.0.0.1.
    config: { webhooks: { ...WebhookSettings.defaults, allowPrivateNetworks: true } },
    store: PgStorage.layerEmbedded(),
    telephony: SimulatedTelephony.layer({
      outcomes: { completed: 3, no_answer: 1, busy: 1 },
      ringSeconds: { min: 0, max: 0.1 },
      talkSeconds: { min: 0.1, max: 0.4 },
      rejectSeconds: { min: 0, max: 0.1 }
    }),
    directory: Directory.layerStatic({
      agents: [{ id: agentId, organizationId, ready: true, phoneNumberIds: ["num_main"] }],
      callerNumbers: [{ id: "num_main", organizationId, number: "+12025550100", outboundEnabled: true, agentId }]
    })
  })
  const runtime = ManagedRuntime.make(engine)
  await runtime.context()
  const app = express()
  // The host's own auth would resolve the tenant; this host has one.
  app.use("/api/outdial", Router.makeRouter(runtime, { resolveOrganization: () => organizationId }))
  app.use("/admin/outdial", Dashboard.makeRouter({ apiBase: "/api/outdial", title: "Support calls" }))
  const server = app.listen(0, "127.0.0.1")
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    dashboard: `${origin}/admin/outdial`,
    api: `${origin}/api/outdial`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await runtime.dispose()
    }
  }
}
