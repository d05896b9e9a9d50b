/**
 * Traces, opt-in: with `OTEL_EXPORTER_OTLP_ENDPOINT` set (an OpenTelemetry
 * collector, Jaeger, Honeycomb…), the engine's spans — one per API request,
 * per dial (attempt id, batch), per store call and per webhook try — go out
 * through effect's OTLP exporter. Without it, nothing is exported.
 */
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as OtlpSerialization from "effect/observability/OtlpSerialization"
import * as OtlpTracer from "effect/observability/OtlpTracer"

export const layer = (serviceName: string): Layer.Layer<never> => {
  const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  if (endpoint === undefined || endpoint === "") return Layer.empty
  return OtlpTracer.layer({ url: `${endpoint.replace(/\/$/, "")}/v1/traces`, resource: { serviceName } }).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer)
    // The exporter's flusher is the tracer's own business: the host sees no new service.
  ) as unknown as Layer.Layer<never>
}
