/**
 * The knobs a host may turn, with defaults that suit a single process. Read
 * from the context when the engine starts, never from the environment at
 * import time.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type { OrganizationLimits } from "./CallLimits.ts"
import type * as Eligibility from "./Eligibility.ts"
import * as WebhookSettings from "./WebhookSettings.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface EngineConfig {
  /** Names this process as a lease holder; unique per process. */
  readonly ownerId: string
  /** How long a dispatch lease lasts unless renewed. */
  readonly leaseTtlMillis: number
  /** How often to look for batches whose holder died (other processes' leases that expired). */
  readonly rescanIntervalMillis: number
  /** How often a running batch refreshes its `estimatedCompletionTime`. */
  readonly estimateIntervalMillis: number
  /** How often to ask the provider about an attempt adopted after a takeover. */
  readonly reconcilePollMillis: number
  /** Links added to the eligibility chain after the built-in ones (`Eligibility.builtIn`). */
  readonly policies: ReadonlyArray<Eligibility.Policy>
  /** Average conversation length used by estimates before calls have been measured. */
  readonly averageCallSeconds: number
  /** Contacts a batch may hold; `too_many_contacts` past it. */
  readonly maxContacts: number
  /** Bytes a contact file may have; `file_too_large` past it. */
  readonly maxFileBytes: number
  /** Source of randomness for `random` caller-number rotation. */
  readonly random: () => number
  /** How long finished records are kept, and how often they are pruned. */
  readonly retention: Retention
  /**
   * Consecutive failures to record a call's outcome (each retried with a
   * growing back-off) after which the batch fails with the cause as reason.
   */
  readonly maxRecordFailures: number
  /**
   * Contact lists parsed and stored at once (creates, validations, added
   * contacts); the rest wait their turn. Parsing is CPU on the event loop
   * that also answers reads: on 2 cores, one at a time kept read p95 under
   * 50 ms during a burst of 20 uploads where two gave 68–78 ms
   * (`bench:ingest-load`), at the cost of a slower burst. Raise it on a
   * host with cores to spare.
   */
  readonly maxConcurrentImports: number
  /** Refuse a batch without a calling window (one seed makes it mandatory); off unless set. */
  readonly requireCallingWindow: boolean
  /**
   * Refuse a whole create or added contacts when any row is rejected, unless
   * the request says otherwise (`strictValidation`); off unless set.
   */
  readonly strictValidation: boolean
  /**
   * Refuse a create (422 `infeasible_batch`, with the figures) whose batch
   * cannot finish by its `completeBy`, unless the request says otherwise
   * (`refuseInfeasible`); off unless set: the create reports it only.
   */
  readonly refuseInfeasible: boolean
  /** An organization's own blackout dates (`YYYY-MM-DD`, in each batch's zone), asked on every pass. */
  readonly organizationBlackoutDates: (organizationId: string) => ReadonlyArray<string>
  /**
   * A call still dialing after ring timeout + longest call + margin is looked
   * up with the provider and resolved (the watchdog); the provider's limits
   * in seconds.
   */
  readonly watchdog: { readonly ringTimeoutSeconds: number; readonly maxCallSeconds: number; readonly marginSeconds: number }
  /**
   * Each organization's limits across all its batches and processes: a
   * frequency cap per number, calls per second per caller number, calls in
   * flight (`CallLimits.ts`). None unless set.
   */
  readonly organizationLimits: (organizationId: string) => OrganizationLimits | undefined
  /** Outgoing webhooks: timeouts, retries, when a failing endpoint is disabled. */
  readonly webhooks: WebhookSettings.WebhookSettings
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Retention {
  /** An idempotency key replays its response this long, then is deleted. */
  readonly idempotencyKeysMillis: number
  /** Outbox events are kept this long after they were written. */
  readonly eventsMillis: number
  /** How often one process of those sharing a store prunes it. */
  readonly intervalMillis: number
  /** Webhook deliveries are kept this long after they were delivered or given up on; 7 days unless set. */
  readonly webhookDeliveriesMillis?: number | undefined
}

/**
 * @since 0.1.0
 * @category configuration
 */
export const defaults = (): EngineConfig => ({
  ownerId: `outdial-${globalThis.crypto.randomUUID()}`,
  leaseTtlMillis: 30_000,
  rescanIntervalMillis: 15_000,
  estimateIntervalMillis: 60_000,
  reconcilePollMillis: 2_000,
  policies: [],
  averageCallSeconds: 120,
  maxContacts: 10_000,
  maxFileBytes: 50 * 1024 * 1024,
  random: Math.random,
  retention: { idempotencyKeysMillis: 86_400_000, eventsMillis: 7 * 86_400_000, intervalMillis: 3_600_000 },
  maxRecordFailures: 10,
  maxConcurrentImports: 1,
  requireCallingWindow: false,
  strictValidation: false,
  refuseInfeasible: false,
  organizationBlackoutDates: () => [],
  watchdog: { ringTimeoutSeconds: 60, maxCallSeconds: 3_600, marginSeconds: 300 },
  organizationLimits: () => undefined,
  webhooks: WebhookSettings.defaults
})

/**
 * @since 0.1.0
 * @category services
 */
export const EngineConfig = Context.Reference<EngineConfig>("@outdial/core/EngineConfig", {
  defaultValue: defaults
})

/**
 * Overrides some settings, keeping the defaults for the rest.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Partial<EngineConfig>): Layer.Layer<never> =>
  Layer.succeed(EngineConfig)({ ...defaults(), ...config })
