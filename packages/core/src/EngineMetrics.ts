/**
 * The engine's metrics, as effect `Metric`s in the default registry: a host
 * exports them with effect's Prometheus exporter (`PrometheusMetrics.format`,
 * served by `@outdial/http-express/MetricsRoute`) or its OTLP exporter.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type { BatchStore } from "./BatchStore.ts"
import type { DeliveryStatus } from "./WebhookStore.ts"

const secondsBoundaries = Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 18 })

// The options of the metrics recorded on every dial, also for their series made per attribute below.
const callOutcomesOptions = (attributes?: Metric.Metric.Attributes) => ({
  description: "Calls ended, by outcome",
  incremental: true,
  attributes
})
const webhookDeliveriesOptions = (attributes?: Metric.Metric.Attributes) => ({
  description: "Webhook tries, by result: delivered, retry (pending) or failed",
  incremental: true,
  attributes
})
const callsInFlightOptions = (attributes?: Metric.Metric.Attributes) => ({
  description: "Calls placed by this process and not yet ended, per organization",
  attributes
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const dialsStarted = Metric.counter("outdial_dials_started_total", {
  description: "Calls handed to the provider",
  incremental: true
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const callOutcomes = Metric.counter("outdial_call_outcomes_total", callOutcomesOptions())

/**
 * @since 0.1.0
 * @category metrics
 */
export const callsInFlight = Metric.gauge("outdial_calls_in_flight", callsInFlightOptions())

/**
 * @since 0.1.0
 * @category metrics
 */
export const contactsWaiting = Metric.gauge("outdial_contacts_waiting", {
  description: "Waiting contacts of batches this process holds back, by the policy holding them (window, daily cap, a host's)"
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const contactsDecided = Metric.counter("outdial_contacts_decided_total", {
  description: "Contacts a policy deferred or skipped, by decision and policy (do-not-call, window…)",
  incremental: true
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const dispatchLag = Metric.histogram("outdial_dispatch_lag_seconds", {
  description: "From when a contact was due to when it was dialed",
  boundaries: secondsBoundaries
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const leaseTakeovers = Metric.counter("outdial_lease_takeovers_total", {
  description: "Dispatch leases taken of batches held before (by a process that died or let go)",
  incremental: true
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const webhookDeliveries = Metric.counter("outdial_webhook_deliveries_total", webhookDeliveriesOptions())

/**
 * @since 0.1.0
 * @category metrics
 */
export const webhookFailures = Metric.counter("outdial_webhook_failures_total", {
  description: "Webhook tries that did not deliver (retried or given up)",
  incremental: true
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const webhookLatency = Metric.histogram("outdial_webhook_latency_seconds", {
  description: "Time a receiver took to answer a webhook try",
  boundaries: secondsBoundaries
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const storeLatency = Metric.histogram("outdial_store_latency_seconds", {
  description: "Time a store call took, by operation",
  boundaries: secondsBoundaries
})

/**
 * One series per attribute value, made once with its attribute as its own:
 * it is recorded on every dial, and a series made by `Metric.withAttributes`
 * builds its registry key again on every update.
 */
const byAttribute = <M>(make: (attributes: Metric.Metric.Attributes) => M, key: string) => {
  const made = new Map<string, M>()
  return (value: string): M => {
    let found = made.get(value)
    if (found === undefined) made.set(value, found = make({ [key]: value }))
    return found
  }
}
const inFlightOf = byAttribute((attributes) => Metric.gauge("outdial_calls_in_flight", callsInFlightOptions(attributes)), "organization")
const outcomeOf = byAttribute((attributes) => Metric.counter("outdial_call_outcomes_total", callOutcomesOptions(attributes)), "outcome")
const deliveryResultOf = byAttribute(
  (attributes) => Metric.counter("outdial_webhook_deliveries_total", webhookDeliveriesOptions(attributes)),
  "result"
)

/**
 * A step's dials handed to the provider, with each one's lag (from when it
 * was due), recorded with the fiber's context the caller has at hand: no
 * effect of its own, and none per dial.
 *
 * @since 0.1.0
 * @category recording
 */
export const dialsPlacedUnsafe = (
  organizationId: string,
  lagsMillis: ReadonlyArray<number>,
  context: Context.Context<never>
): void => {
  dialsStarted.updateUnsafe(lagsMillis.length, context)
  inFlightOf(organizationId).modifyUnsafe(lagsMillis.length, context)
  for (const lag of lagsMillis) dispatchLag.updateUnsafe(Math.max(0, lag) / 1000, context)
}

/**
 * A call's end, recorded with the fiber's context the caller has at hand:
 * the dispatcher records it inside an effect it runs anyway, once per call.
 *
 * @since 0.1.0
 * @category recording
 */
export const callEndedUnsafe = (organizationId: string, outcome: string, context: Context.Context<never>): void => {
  outcomeOf(outcome).updateUnsafe(1, context)
  inFlightOf(organizationId).modifyUnsafe(-1, context)
}

/**
 * @since 0.1.0
 * @category recording
 */
export const contactDecided = (kind: string, policy: string): Effect.Effect<void> =>
  Metric.update(Metric.withAttributes(contactsDecided, { decision: kind, policy }), 1)

// Per batch held back: which policy and how many contacts wait; the gauge is the sum per policy.
const held = new Map<string, { readonly policy: string; readonly waiting: number }>()
const publishHeld = (policy: string) => {
  let total = 0
  for (const entry of held.values()) if (entry.policy === policy) total += entry.waiting
  return Metric.update(Metric.withAttributes(contactsWaiting, { reason: policy }), total)
}

/**
 * A batch's waiting contacts held back by `policy` (`undefined`: no longer held).
 *
 * @since 0.1.0
 * @category recording
 */
export const batchHeld = (batchId: string, hold: { readonly policy: string; readonly waiting: number } | undefined) =>
  Effect.suspend(() => {
    const before = held.get(batchId)
    if (hold === undefined) held.delete(batchId)
    else held.set(batchId, hold)
    return Effect.andThen(
      before !== undefined && before.policy !== hold?.policy ? publishHeld(before.policy) : Effect.void,
      hold === undefined ? Effect.void : publishHeld(hold.policy)
    )
  })

/**
 * @since 0.1.0
 * @category recording
 */
export const leaseTakenOver: Effect.Effect<void> = Metric.update(leaseTakeovers, 1)

/**
 * @since 0.1.0
 * @category recording
 */
export const webhookTried = (status: DeliveryStatus, latencyMillis: number): Effect.Effect<void> =>
  Effect.andThen(
    Metric.update(deliveryResultOf(status === "pending" ? "retry" : status), 1),
    Effect.andThen(
      status === "delivered" ? Effect.void : Metric.update(webhookFailures, 1),
      Metric.update(webhookLatency, latencyMillis / 1000)
    )
  )

const instrumented = Symbol.for("@outdial/core/EngineMetrics/instrumented")

/**
 * The store with every call timed (`outdial_store_latency_seconds`) and
 * traced (a span `outdial.store.<operation>`).
 *
 * @since 0.1.0
 * @category instrumentation
 */
export const instrumentStore = (store: BatchStore["Service"]): BatchStore["Service"] => {
  if (instrumented in store) return store
  const wrapped: Record<string | symbol, unknown> = { ...store, [instrumented]: true }
  for (const [name, value] of Object.entries(store)) {
    if (typeof value !== "function") continue
    const latency = Metric.withAttributes(storeLatency, { operation: name })
    const span = `outdial.store.${name}`
    // Elapsed time is measured, not decided on: the monotonic clock, not the engine's `Clock` (a TestClock stands still).
    wrapped[name] = (...args: Array<unknown>) =>
      Effect.suspend(() => {
        const started = performance.now()
        return (value as (...args: Array<unknown>) => Effect.Effect<unknown, unknown>)(...args).pipe(
          Effect.ensuring(Effect.suspend(() => Metric.update(latency, (performance.now() - started) / 1000))),
          Effect.withSpan(span)
        )
      })
  }
  return wrapped as BatchStore["Service"]
}
