/**
 * The storage port of outgoing webhooks, offered by a `BatchStore` as its
 * `webhooks`: endpoints per organization, the changes waiting to be sent
 * (each recorded by the store in the transaction that made the change: an
 * outbox), and one delivery per change and subscribed endpoint, claimed by
 * any engine process for a while (a lease), so a process that dies mid-send
 * leaves it to another.
 *
 * @since 0.1.0
 */
import type * as DateTime from "effect/DateTime"
import type * as Effect from "effect/Effect"
import type { StoreError } from "./OutdialError.ts"
import type { EventType, StoredChange, WebhookChange, WebhookMessage } from "./WebhookPayload.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface WebhookEndpoint {
  readonly id: string
  readonly organizationId: string
  readonly url: string
  readonly description: string | null
  /** The types sent; empty sends every type. */
  readonly eventTypes: ReadonlyArray<EventType>
  readonly enabled: boolean
  /** Why the engine disabled the endpoint (it kept failing), else null. */
  readonly disabledReason: string | null
  /** The signing secret, `whsec_` and base64. */
  readonly secret: string
  /** Since when every delivery has failed; null while it answers. */
  readonly failingSince: DateTime.Utc | null
  readonly createdAt: DateTime.Utc
  readonly updatedAt: DateTime.Utc
}

/**
 * `pending` (waiting for its next try, or being tried), `delivered`, or
 * `failed` (refused by the receiver, or out of retries).
 *
 * @since 0.1.0
 * @category models
 */
export type DeliveryStatus = "pending" | "delivered" | "failed"

/**
 * @since 0.1.0
 * @category models
 */
export interface Delivery {
  readonly id: string
  readonly endpointId: string
  readonly messageId: string
  readonly eventType: EventType
  readonly status: DeliveryStatus
  readonly attempts: number
  readonly lastResponseCode: number | null
  readonly lastLatencyMillis: number | null
  readonly lastError: string | null
  readonly nextAttemptAt: DateTime.Utc | null
  readonly createdAt: DateTime.Utc
  readonly deliveredAt: DateTime.Utc | null
}

/**
 * A delivery claimed for one try: what to send, where, signed with what.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClaimedDelivery {
  readonly id: string
  readonly messageId: string
  readonly eventType: EventType
  /** The body, exactly as signed and sent. */
  readonly payload: string
  /** This try's number, counting from 1; it fences the try's result. */
  readonly attempt: number
  readonly createdAt: DateTime.Utc
  readonly endpoint: { readonly id: string; readonly url: string; readonly secret: string }
}

/**
 * What a try came to.
 *
 * @since 0.1.0
 * @category models
 */
export interface TryResult {
  readonly deliveryId: string
  readonly attempt: number
  readonly ownerId: string
  readonly status: DeliveryStatus
  readonly responseCode: number | null
  readonly latencyMillis: number
  readonly error: string | null
  /** When to try again (`pending` only). */
  readonly nextAttemptAt: DateTime.Utc | null
  readonly at: DateTime.Utc
  /**
   * A failed try's endpoint is disabled, with this reason, when it has been
   * failing since before `disableIfFailingSince`; a delivered one clears
   * the endpoint's `failingSince`.
   */
  readonly disableIfFailingSince: DateTime.Utc
  readonly disableReason: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface EndpointPatch {
  readonly url?: string | undefined
  readonly description?: string | null | undefined
  readonly eventTypes?: ReadonlyArray<EventType> | undefined
  /** Enabling clears `disabledReason` and `failingSince`. */
  readonly enabled?: boolean | undefined
  readonly secret?: string | undefined
  readonly updatedAt: DateTime.Utc
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WebhookStore {
  readonly createEndpoint: (endpoint: WebhookEndpoint) => Effect.Effect<void, StoreError>
  /** Oldest first. */
  readonly listEndpoints: (organizationId: string) => Effect.Effect<ReadonlyArray<WebhookEndpoint>, StoreError>
  readonly getEndpoint: (organizationId: string, endpointId: string) => Effect.Effect<WebhookEndpoint | undefined, StoreError>
  readonly updateEndpoint: (
    organizationId: string,
    endpointId: string,
    patch: EndpointPatch
  ) => Effect.Effect<WebhookEndpoint | undefined, StoreError>
  /** Deletes the endpoint with its deliveries; whether there was one. */
  readonly deleteEndpoint: (organizationId: string, endpointId: string) => Effect.Effect<boolean, StoreError>
  /** Records a change that rides with no stored change (a batch held back by a policy). */
  readonly recordChange: (change: WebhookChange) => Effect.Effect<void, StoreError>
  /**
   * Takes up to `limit` recorded changes, oldest first, and turns each into
   * one pending delivery (due at `now`) per enabled endpoint of its
   * organization subscribed to its type, in one transaction; changes taken
   * by another process at the same time are passed over. `render` names the
   * message (`undefined`: none). Answers how many changes it took.
   */
  readonly fanOut: (
    limit: number,
    now: DateTime.Utc,
    render: (change: StoredChange) => WebhookMessage | undefined
  ) => Effect.Effect<number, StoreError>
  /**
   * Claims up to `limit` pending deliveries due at `now` of enabled
   * endpoints, oldest first, that no one holds (or whose holder's claim
   * expired), for `ownerId` until `now + leaseMillis`; each claim counts a try.
   */
  readonly claimDue: (options: {
    readonly ownerId: string
    readonly now: DateTime.Utc
    readonly leaseMillis: number
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, StoreError>
  /**
   * Records the results of a pass's tries at once (one write, not one per
   * delivery), each unless its delivery was claimed again since (its try
   * number moved on) or deleted: then that one changes nothing. The tries
   * of one call count as made together: an endpoint that delivered any of
   * them is answering (its `failingSince` cleared); else it is failing since
   * its earliest failed try among them (or before), and disabled, with the
   * reason of its latest, when that is at or before the latest's
   * `disableIfFailingSince`.
   */
  readonly recordTries: (results: ReadonlyArray<TryResult>) => Effect.Effect<void, StoreError>
  /** The endpoint's deliveries, newest first. */
  readonly listDeliveries: (
    organizationId: string,
    endpointId: string,
    options: { readonly limit: number; readonly status?: DeliveryStatus | undefined }
  ) => Effect.Effect<ReadonlyArray<Delivery>, StoreError>
  /** Makes a delivery pending again, due at `now`, its tries counted afresh; `undefined` when there is none. */
  readonly redeliver: (
    organizationId: string,
    endpointId: string,
    deliveryId: string,
    now: DateTime.Utc
  ) => Effect.Effect<Delivery | undefined, StoreError>
  /** Deletes up to `limit` delivered or failed deliveries last changed before `before`; how many. */
  readonly pruneDeliveries: (before: DateTime.Utc, limit: number) => Effect.Effect<number, StoreError>
  /** Deliveries still pending, for metrics and tests. */
  readonly pendingCount: Effect.Effect<number, StoreError>
}
