/**
 * The engine's metrics in the Prometheus text format, by effect's own
 * exporter (`effect/observability/PrometheusMetrics`), as an Express
 * handler a host mounts where it chooses, behind its own auth if it wants:
 *
 * ```ts
 * app.get("/metrics", MetricsRoute.makeHandler(runtime))
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics"
import type { Request, Response } from "express"

/**
 * What runs the exporter: any runtime (a `ManagedRuntime` of the engine's layer).
 *
 * @since 0.1.0
 * @category models
 */
export interface MetricsRuntime {
  readonly runPromiseExit: <A, E>(effect: Effect.Effect<A, E, never>) => Promise<Exit.Exit<A, unknown>>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeHandler = (runtime: MetricsRuntime, options: { readonly prefix?: string | undefined } = {}) =>
async (_request: Request, response: Response): Promise<void> => {
  const exit = await runtime.runPromiseExit(PrometheusMetrics.format({ prefix: options.prefix }))
  if (Exit.isFailure(exit)) {
    await runtime.runPromiseExit(Effect.logError("outdial: could not format the metrics", exit.cause))
    response.status(500).type("text/plain").send("metrics unavailable\n")
    return
  }
  response.status(200).type("text/plain; version=0.0.4; charset=utf-8").send(exit.value)
}
