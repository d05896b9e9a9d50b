/**
 * The knobs of outgoing webhooks, part of `EngineConfig`.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface WebhookSettings {
  /** Whether this process sends webhooks (fans changes out and delivers them); on unless set. */
  readonly enabled: boolean
  /** A receiver that has not answered in this long has failed the try (retried). */
  readonly timeoutMillis: number
  /** The first retry waits about this long; each next one twice as long (with jitter). */
  readonly initialBackoffMillis: number
  /** No retry waits longer than this (a `Retry-After` included). */
  readonly maxBackoffMillis: number
  /** A delivery is retried for this long after it was first due, then given up on (`failed`). */
  readonly retryPeriodMillis: number
  /** An endpoint whose every delivery has failed for this long is disabled, with the reason. */
  readonly disableAfterMillis: number
  /** How often to look for changes and due deliveries when nothing woke the sender. */
  readonly pollIntervalMillis: number
  /** Deliveries sent at once by this process. */
  readonly concurrency: number
  /**
   * Send to loopback, private and link-local addresses. Off by default: an
   * endpoint URL is the tenant's input, and the engine must not become a way
   * into the host's own network (SSRF). Turn it on for tests and
   * single-tenant hosts whose receivers live on their own network.
   */
  readonly allowPrivateNetworks: boolean
}

/**
 * @since 0.1.0
 * @category configuration
 */
export const defaults: WebhookSettings = {
  enabled: true,
  timeoutMillis: 10_000,
  initialBackoffMillis: 5_000,
  maxBackoffMillis: 3_600_000,
  retryPeriodMillis: 3 * 86_400_000,
  disableAfterMillis: 86_400_000,
  pollIntervalMillis: 1_000,
  concurrency: 16,
  allowPrivateNetworks: false
}
