/**
 * The in-memory `WebhookStore`, the webhooks of `MemoryBatchStore`: the
 * batch store records each change here as it makes it (one synchronous
 * step, as atomic as the change), and deliveries live beside it.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type { EventType, StoredChange, WebhookChange } from "./WebhookPayload.ts"
import type { ClaimedDelivery, Delivery, TryResult, WebhookEndpoint, WebhookStore } from "./WebhookStore.ts"

interface StoredDelivery {
  delivery: Delivery
  readonly organizationId: string
  readonly payload: string
  claimedBy: string | null
  claimExpiresAt: number
  updatedAt: number
}

const millis = DateTime.toEpochMillis

/**
 * The store, and `record` for the batch store to call with each change.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): WebhookStore & {
  readonly record: (change: WebhookChange) => void
  /** Whether a change of the organization would be kept: the batch store builds none that would not. */
  readonly listens: (organizationId: string) => boolean
} => {
  const endpoints = new Map<string, WebhookEndpoint>()
  const changes: Array<StoredChange> = []
  const deliveries = new Map<string, StoredDelivery>()
  let sequence = 0
  let deliveryNumber = 0

  const listens = (organizationId: string) => {
    for (const endpoint of endpoints.values()) if (endpoint.organizationId === organizationId && endpoint.enabled) return true
    return false
  }

  const record = (change: WebhookChange) => {
    // Nobody to tell: as in the database, a change of an organization without endpoints is not kept.
    if (listens(change.organizationId)) changes.push({ sequence: ++sequence, change })
  }

  const endpointOf = (organizationId: string, endpointId: string) => {
    const endpoint = endpoints.get(endpointId)
    return endpoint?.organizationId === organizationId ? endpoint : undefined
  }

  return {
    record,
    listens,
    createEndpoint: (endpoint) => Effect.sync(() => void endpoints.set(endpoint.id, endpoint)),
    listEndpoints: (organizationId) =>
      Effect.sync(() => [...endpoints.values()].filter((endpoint) => endpoint.organizationId === organizationId)),
    getEndpoint: (organizationId, endpointId) => Effect.sync(() => endpointOf(organizationId, endpointId)),
    updateEndpoint: (organizationId, endpointId, patch) =>
      Effect.sync(() => {
        const endpoint = endpointOf(organizationId, endpointId)
        if (endpoint === undefined) return undefined
        const { updatedAt, ...fields } = patch
        const defined = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))
        const next: WebhookEndpoint = {
          ...endpoint,
          ...defined,
          ...(patch.enabled === true ? { disabledReason: null, failingSince: null } : {}),
          updatedAt
        }
        endpoints.set(endpointId, next)
        return next
      }),
    deleteEndpoint: (organizationId, endpointId) =>
      Effect.sync(() => {
        if (endpointOf(organizationId, endpointId) === undefined) return false
        endpoints.delete(endpointId)
        for (const [id, stored] of deliveries) if (stored.delivery.endpointId === endpointId) deliveries.delete(id)
        return true
      }),
    recordChange: (change) => Effect.sync(() => record(change)),
    fanOut: (limit, now, render) =>
      Effect.sync(() => {
        const taken = changes.splice(0, limit)
        for (const stored of taken) {
          const message = render(stored)
          if (message === undefined) continue
          const payload = JSON.stringify(message)
          for (const endpoint of endpoints.values()) {
            if (!subscribed(endpoint, stored.change.organizationId, message.type)) continue
            const id = `whd_${++deliveryNumber}`
            deliveries.set(id, {
              delivery: {
                id,
                endpointId: endpoint.id,
                messageId: message.id,
                eventType: message.type,
                status: "pending",
                attempts: 0,
                lastResponseCode: null,
                lastLatencyMillis: null,
                lastError: null,
                nextAttemptAt: now,
                createdAt: now,
                deliveredAt: null
              },
              organizationId: endpoint.organizationId,
              payload,
              claimedBy: null,
              claimExpiresAt: 0,
              updatedAt: millis(now)
            })
          }
        }
        return taken.length
      }),
    claimDue: ({ leaseMillis, limit, now, ownerId }) =>
      Effect.sync(() => {
        const at = millis(now)
        const claimed: Array<ClaimedDelivery> = []
        for (const stored of deliveries.values()) {
          if (claimed.length >= limit) break
          const { delivery } = stored
          const endpoint = endpoints.get(delivery.endpointId)
          if (
            delivery.status !== "pending" || endpoint === undefined || !endpoint.enabled ||
            delivery.nextAttemptAt === null || millis(delivery.nextAttemptAt) > at || stored.claimExpiresAt > at
          ) continue
          stored.claimedBy = ownerId
          stored.claimExpiresAt = at + leaseMillis
          stored.delivery = { ...delivery, attempts: delivery.attempts + 1 }
          claimed.push({
            id: delivery.id,
            messageId: delivery.messageId,
            eventType: delivery.eventType,
            payload: stored.payload,
            attempt: delivery.attempts + 1,
            createdAt: delivery.createdAt,
            endpoint: { id: endpoint.id, url: endpoint.url, secret: endpoint.secret }
          })
        }
        return claimed
      }),
    recordTries: (results) =>
      Effect.sync(() => {
        const byEndpoint = new Map<string, { delivered: boolean; firstFailed?: TryResult; lastFailed?: TryResult }>()
        for (const result of results) {
          const stored = deliveries.get(result.deliveryId)
          if (stored === undefined || stored.delivery.attempts !== result.attempt || stored.claimedBy !== result.ownerId) {
            continue
          }
          stored.claimedBy = null
          stored.claimExpiresAt = 0
          stored.updatedAt = millis(result.at)
          stored.delivery = {
            ...stored.delivery,
            status: result.status,
            lastResponseCode: result.responseCode,
            lastLatencyMillis: result.latencyMillis,
            lastError: result.error,
            nextAttemptAt: result.status === "pending" ? result.nextAttemptAt : null,
            deliveredAt: result.status === "delivered" ? result.at : null
          }
          const seen = byEndpoint.get(stored.delivery.endpointId) ?? { delivered: false }
          byEndpoint.set(stored.delivery.endpointId, seen)
          if (result.status === "delivered") seen.delivered = true
          else {
            if (seen.firstFailed === undefined || millis(result.at) < millis(seen.firstFailed.at)) seen.firstFailed = result
            if (seen.lastFailed === undefined || millis(result.at) >= millis(seen.lastFailed.at)) seen.lastFailed = result
          }
        }
        for (const [endpointId, seen] of byEndpoint) {
          const endpoint = endpoints.get(endpointId)
          if (endpoint === undefined) continue
          if (seen.delivered || seen.firstFailed === undefined || seen.lastFailed === undefined) {
            if (endpoint.failingSince !== null) endpoints.set(endpoint.id, { ...endpoint, failingSince: null })
            continue
          }
          const failingSince = endpoint.failingSince ?? seen.firstFailed.at
          const disable = millis(failingSince) <= millis(seen.lastFailed.disableIfFailingSince)
          endpoints.set(endpoint.id, {
            ...endpoint,
            failingSince,
            ...(disable ? { enabled: false, disabledReason: seen.lastFailed.disableReason } : {})
          })
        }
      }),
    listDeliveries: (organizationId, endpointId, { limit, status }) =>
      Effect.sync(() =>
        [...deliveries.values()]
          .filter((stored) =>
            stored.organizationId === organizationId && stored.delivery.endpointId === endpointId &&
            (status === undefined || stored.delivery.status === status)
          )
          .reverse()
          .slice(0, limit)
          .map((stored) => stored.delivery)
      ),
    redeliver: (organizationId, endpointId, deliveryId, now) =>
      Effect.sync(() => {
        const stored = deliveries.get(deliveryId)
        if (
          stored === undefined || stored.organizationId !== organizationId || stored.delivery.endpointId !== endpointId
        ) return undefined
        stored.claimedBy = null
        stored.claimExpiresAt = 0
        stored.updatedAt = millis(now)
        stored.delivery = { ...stored.delivery, status: "pending", attempts: 0, nextAttemptAt: now, deliveredAt: null }
        return stored.delivery
      }),
    pruneDeliveries: (before, limit) =>
      Effect.sync(() => {
        let count = 0
        for (const [id, stored] of deliveries) {
          if (count >= limit) break
          if (stored.delivery.status !== "pending" && stored.updatedAt < millis(before)) {
            deliveries.delete(id)
            count++
          }
        }
        return count
      }),
    pendingCount: Effect.sync(() => [...deliveries.values()].filter((stored) => stored.delivery.status === "pending").length)
  }
}

/**
 * Whether `endpoint` is sent messages of `type` from `organizationId`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const subscribed = (endpoint: WebhookEndpoint, organizationId: string, type: EventType): boolean =>
  endpoint.organizationId === organizationId && endpoint.enabled &&
  (endpoint.eventTypes.length === 0 || endpoint.eventTypes.includes(type))
