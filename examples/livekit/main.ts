/**
 * The quickstart host, calling for real through a LiveKit project: the batch
 * API under `/api/v1`, LiveKit's webhooks on `/livekit/webhook`, batches in
 * PostgreSQL (`DATABASE_URL`) or, without one, embedded PGlite in
 * `.pglite/`. Every setting comes from the environment when the layers are
 * built; see README.md beside this file.
 *
 *   LIVEKIT_URL=wss://my-project.livekit.cloud LIVEKIT_API_KEY=… LIVEKIT_API_SECRET=… \
 *   LIVEKIT_SIP_TRUNK_ID=ST_… LIVEKIT_AGENT_NAME=outbound-caller \
 *   OUTDIAL_CALLER_NUMBER=+12025550100 npx -y pnpm@10 --filter @outdial/example-livekit start
 */
import { LiveKitTelephony } from "@outdial/adapter-livekit"
import { PgEventRelay, PgStorage } from "@outdial/adapter-postgres"
import { Directory, Engine } from "@outdial/core"
import { MetricsRoute, Router, Webhooks } from "@outdial/http-express"
import * as Layer from "effect/Layer"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as OtlpSerialization from "effect/observability/OtlpSerialization"
import * as OtlpTracer from "effect/observability/OtlpTracer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import express from "express"

const organizationId = process.env.OUTDIAL_ORGANIZATION_ID ?? "org_demo"
const callerNumber = process.env.OUTDIAL_CALLER_NUMBER
if (callerNumber === undefined) {
  console.error("Set OUTDIAL_CALLER_NUMBER to a number of your outbound trunk (E.164), and the LIVEKIT_* variables.")
  process.exit(1)
}

// One agent and one caller number; a real host's Directory reads its own tables.
const directory = Directory.layerStatic({
  agents: [{ id: "agent_livekit", organizationId, ready: true, phoneNumberIds: ["num_trunk"] }],
  callerNumbers: [{ id: "num_trunk", organizationId, number: callerNumber, outboundEnabled: true, agentId: "agent_livekit" }]
})

const storage = process.env.DATABASE_URL === undefined
  ? PgStorage.layerEmbedded({ dataDir: ".pglite/livekit-example" })
  : PgStorage.layerConfig()

// Several processes may serve one database: the relay shows each the others'
// lifecycle changes, reading the SqlClient and events the engine layer provides.
// Traces go out over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT names a collector: a span per
// request, per dial (attempt id, batch), per store call and per webhook try.
const otlp = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
const tracing = otlp === undefined || otlp === ""
  ? Layer.empty
  : OtlpTracer.layer({ url: `${otlp.replace(/\/$/, "")}/v1/traces`, resource: { serviceName: "outdial-livekit" } }).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer)
  )

const engine = PgEventRelay.layer().pipe(Layer.provideMerge(Engine.layerWith({
  store: storage,
  telephony: LiveKitTelephony.layerConfig(),
  directory
})), Layer.provideMerge(tracing))

const main = async () => {
  const runtime = ManagedRuntime.make(engine)
  await runtime.context()
  const app = express()
  app.post(
    "/livekit/webhook",
    ...Webhooks.webhookRoute(LiveKitTelephony.webhookHandler(runtime))
  )
  app.use("/api/v1", Router.makeRouter(runtime, { resolveOrganization: () => organizationId }))
  // Prometheus scrapes the engine's metrics here (put it behind the host's own auth in production).
  app.get("/metrics", MetricsRoute.makeHandler(runtime))
  const port = Number(process.env.PORT ?? 3000)
  app.listen(port, () => {
    console.log(`Batch API on http://localhost:${port}/api/v1, LiveKit webhooks on http://localhost:${port}/livekit/webhook`)
    console.log(`Create a batch:
  curl -s -F name="First LiveKit batch" -F agentId=agent_livekit -F file=@examples/quickstart/contacts.csv \\
    http://localhost:${port}/api/v1/batches`)
  })
  const stop = async () => {
    await runtime.dispose()
    process.exit(0)
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
