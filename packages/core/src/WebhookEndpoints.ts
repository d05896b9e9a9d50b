/**
 * The webhook endpoints of an organization, as the API manages them:
 * create, list, read, update, delete, rotate the signing secret, read the
 * delivery log and ask for a delivery again. A secret is shown once, when it
 * is made (create, rotate); reads never show it.
 *
 * URLs must be `http` or `https`, without credentials. Unless the host
 * allows private networks (`webhooks.allowPrivateNetworks`), an address on
 * the host's own network (loopback, private, link-local) is refused here by
 * its literal form and again at each send by what its name resolves to.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { BatchStore } from "./BatchStore.ts"
import type { EngineConfig } from "./EngineConfig.ts"
import * as InputGuard from "./InputGuard.ts"
import { checkId, invalid, now } from "./internal/engineContext.ts"
import { isLocalName, isPrivateAddress } from "./internal/privateAddress.ts"
import { type InvalidInput, StoreError, WebhookDeliveryNotFound, WebhookEndpointNotFound } from "./OutdialError.ts"
import { EventType, eventTypes } from "./WebhookPayload.ts"
import type { Delivery, WebhookEndpoint, WebhookStore } from "./WebhookStore.ts"

const maxUrlLength = 2_000
const maxDescriptionLength = 500

/**
 * @since 0.1.0
 * @category schemas
 */
export const CreateEndpointInput = Schema.Struct({
  url: Schema.String,
  description: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** Types to send; empty or left out sends every type. */
  eventTypes: Schema.optionalKey(Schema.Array(Schema.String)),
  enabled: Schema.optionalKey(Schema.Boolean)
})
export type CreateEndpointInput = typeof CreateEndpointInput.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const UpdateEndpointInput = Schema.Struct({
  url: Schema.optionalKey(Schema.String),
  description: Schema.optionalKey(Schema.NullOr(Schema.String)),
  eventTypes: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Enabling an endpoint the engine disabled clears its reason; its pending deliveries go out again. */
  enabled: Schema.optionalKey(Schema.Boolean)
})
export type UpdateEndpointInput = typeof UpdateEndpointInput.Type

/**
 * An endpoint as reads show it: without its secret.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EndpointView = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  description: Schema.NullOr(Schema.String),
  eventTypes: Schema.Array(EventType),
  enabled: Schema.Boolean,
  disabledReason: Schema.NullOr(Schema.String),
  failingSince: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  updatedAt: Schema.String
})
export type EndpointView = typeof EndpointView.Type

/**
 * An endpoint with its new secret (`whsec_…`, for the `standardwebhooks`
 * verifier), answered by create and rotate only.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EndpointWithSecret = Schema.Struct({ ...EndpointView.fields, secret: Schema.String })
export type EndpointWithSecret = typeof EndpointWithSecret.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const EndpointList = Schema.Struct({ items: Schema.Array(EndpointView) })
export type EndpointList = typeof EndpointList.Type

/**
 * One entry of an endpoint's delivery log.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeliveryView = Schema.Struct({
  id: Schema.String,
  messageId: Schema.String,
  eventType: EventType,
  status: Schema.Literals(["pending", "delivered", "failed"]),
  attempts: Schema.Int,
  lastResponseCode: Schema.NullOr(Schema.Int),
  lastLatencyMillis: Schema.NullOr(Schema.Number),
  lastError: Schema.NullOr(Schema.String),
  nextAttemptAt: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  deliveredAt: Schema.NullOr(Schema.String)
})
export type DeliveryView = typeof DeliveryView.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const DeliveryList = Schema.Struct({ items: Schema.Array(DeliveryView) })
export type DeliveryList = typeof DeliveryList.Type

/**
 * The query of the delivery log.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeliveryQuery = Schema.Struct({
  status: Schema.optionalKey(Schema.Literals(["pending", "delivered", "failed"])),
  limit: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category services
 */
export class WebhookEndpoints extends Context.Service<WebhookEndpoints, {
  readonly create: (organizationId: string, input: unknown) => Effect.Effect<EndpointWithSecret, InvalidInput | StoreError>
  readonly list: (organizationId: string) => Effect.Effect<EndpointList, StoreError>
  readonly get: (organizationId: string, endpointId: string) => Effect.Effect<EndpointView, InvalidInput | WebhookEndpointNotFound | StoreError>
  readonly update: (
    organizationId: string,
    endpointId: string,
    input: unknown
  ) => Effect.Effect<EndpointView, InvalidInput | WebhookEndpointNotFound | StoreError>
  readonly remove: (organizationId: string, endpointId: string) => Effect.Effect<void, InvalidInput | WebhookEndpointNotFound | StoreError>
  readonly rotateSecret: (
    organizationId: string,
    endpointId: string
  ) => Effect.Effect<EndpointWithSecret, InvalidInput | WebhookEndpointNotFound | StoreError>
  readonly deliveries: (
    organizationId: string,
    endpointId: string,
    query: { readonly status?: string | undefined; readonly limit?: string | undefined }
  ) => Effect.Effect<DeliveryList, InvalidInput | WebhookEndpointNotFound | StoreError>
  readonly redeliver: (
    organizationId: string,
    endpointId: string,
    deliveryId: string
  ) => Effect.Effect<DeliveryView, InvalidInput | WebhookEndpointNotFound | WebhookDeliveryNotFound | StoreError>
}>()("@outdial/core/WebhookEndpoints") {}

const iso = (time: DateTime.Utc | null) => time === null ? null : DateTime.formatIso(time)

/**
 * @since 0.1.0
 * @category views
 */
export const endpointView = (endpoint: WebhookEndpoint): EndpointView => ({
  id: endpoint.id,
  url: endpoint.url,
  description: endpoint.description,
  eventTypes: endpoint.eventTypes,
  enabled: endpoint.enabled,
  disabledReason: endpoint.disabledReason,
  failingSince: iso(endpoint.failingSince),
  createdAt: DateTime.formatIso(endpoint.createdAt),
  updatedAt: DateTime.formatIso(endpoint.updatedAt)
})

/**
 * @since 0.1.0
 * @category views
 */
export const deliveryView = (delivery: Delivery): DeliveryView => ({
  id: delivery.id,
  messageId: delivery.messageId,
  eventType: delivery.eventType,
  status: delivery.status,
  attempts: delivery.attempts,
  lastResponseCode: delivery.lastResponseCode,
  lastLatencyMillis: delivery.lastLatencyMillis,
  lastError: delivery.lastError,
  nextAttemptAt: iso(delivery.nextAttemptAt),
  createdAt: DateTime.formatIso(delivery.createdAt),
  deliveredAt: iso(delivery.deliveredAt)
})

/**
 * A new signing secret in the Standard Webhooks form: `whsec_` and 24
 * random bytes in base64.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSecret = (): string => {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(24))
  return `whsec_${Buffer.from(bytes).toString("base64")}`
}

/**
 * Why `url` may not be an endpoint's, or `undefined` when it may.
 *
 * @since 0.1.0
 * @category validation
 */
export const urlProblem = (url: string, options: { readonly allowPrivateNetworks: boolean }): string | undefined => {
  if (url.length > maxUrlLength) return `url must be at most ${maxUrlLength} characters`
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return "url is not a valid absolute URL"
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return `url must use http or https, not ${parsed.protocol.replace(/:$/, "")}`
  }
  if (parsed.username !== "" || parsed.password !== "") return "url must not carry credentials"
  if (parsed.hostname === "") return "url must name a host"
  if (!options.allowPrivateNetworks && (isLocalName(parsed.hostname) || isPrivateAddress(parsed.hostname))) {
    return "url points into a private network (loopback, private or link-local address), which this host does not allow"
  }
  return undefined
}

const decodeInput = <S extends Schema.Top>(schema: S, input: unknown) =>
  Schema.decodeUnknownEffect(schema as any)(input).pipe(
    Effect.mapError((error) => invalid("validation_error", "body", `Invalid webhook endpoint: ${String(error.message).slice(0, 300)}`))
  ) as Effect.Effect<S["Type"], InvalidInput>

const checkFields = (
  input: { readonly url?: string; readonly description?: string | null; readonly eventTypes?: ReadonlyArray<string> },
  options: { readonly allowPrivateNetworks: boolean }
): Effect.Effect<ReadonlyArray<EventType> | undefined, InvalidInput> =>
  Effect.suspend(() => {
    if (input.url !== undefined) {
      const malformed = InputGuard.checkText("url", input.url, maxUrlLength)
      if (malformed !== undefined) return Effect.fail(malformed)
      const problem = urlProblem(input.url, options)
      if (problem !== undefined) return Effect.fail(invalid("invalid_webhook_url", "url", problem))
    }
    if (input.description !== undefined && input.description !== null) {
      const malformed = InputGuard.checkText("description", input.description, maxDescriptionLength)
      if (malformed !== undefined) return Effect.fail(malformed)
    }
    if (input.eventTypes === undefined) return Effect.succeed(undefined)
    const unknown = input.eventTypes.filter((type) => !(eventTypes as ReadonlyArray<string>).includes(type))
    if (unknown.length > 0) {
      return Effect.fail(
        invalid("unknown_event_type", "eventTypes", `Unknown event type ${JSON.stringify(unknown[0]!.slice(0, 100))}`, {
          known: eventTypes
        })
      )
    }
    return Effect.succeed([...new Set(input.eventTypes)] as ReadonlyArray<EventType>)
  })

const limitOf = (limit: string | undefined): Effect.Effect<number, InvalidInput> => {
  if (limit === undefined) return Effect.succeed(50)
  const n = /^\d{1,4}$/.test(limit) ? Number(limit) : NaN
  return n >= 1 && n <= 500
    ? Effect.succeed(n)
    : Effect.fail(invalid("invalid_page_size", "limit", "limit must be a whole number from 1 to 500"))
}

const unsupported = new StoreError({ message: "This store keeps no webhooks" })

/**
 * The endpoints API over the store's `webhooks`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (store: BatchStore["Service"], config: EngineConfig): WebhookEndpoints["Service"] => {
  const settings = config.webhooks
  const webhooksOf: Effect.Effect<WebhookStore, StoreError> = store.webhooks === undefined
    ? Effect.fail(unsupported)
    : Effect.succeed(store.webhooks)

  const found = (organizationId: string, endpointId: string) =>
    Effect.gen(function*() {
      yield* checkId("endpointId", endpointId)
      const webhooks = yield* webhooksOf
      const endpoint = yield* webhooks.getEndpoint(organizationId, endpointId)
      if (endpoint === undefined) return yield* new WebhookEndpointNotFound({ endpointId })
      return { webhooks, endpoint }
    })

  return WebhookEndpoints.of({
    create: (organizationId, input) =>
      Effect.gen(function*() {
        const decoded = yield* decodeInput(CreateEndpointInput, input)
        const types = yield* checkFields(decoded, settings)
        const webhooks = yield* webhooksOf
        const at = yield* now
        const endpoint: WebhookEndpoint = {
          id: `whe_${globalThis.crypto.randomUUID().replaceAll("-", "")}`,
          organizationId,
          url: decoded.url,
          description: decoded.description ?? null,
          eventTypes: types ?? [],
          enabled: decoded.enabled ?? true,
          disabledReason: null,
          secret: makeSecret(),
          failingSince: null,
          createdAt: at,
          updatedAt: at
        }
        yield* webhooks.createEndpoint(endpoint)
        return { ...endpointView(endpoint), secret: endpoint.secret }
      }),
    list: (organizationId) =>
      Effect.flatMap(webhooksOf, (webhooks) =>
        Effect.map(webhooks.listEndpoints(organizationId), (items) => ({ items: items.map(endpointView) }))),
    get: (organizationId, endpointId) => Effect.map(found(organizationId, endpointId), ({ endpoint }) => endpointView(endpoint)),
    update: (organizationId, endpointId, input) =>
      Effect.gen(function*() {
        const decoded = yield* decodeInput(UpdateEndpointInput, input)
        const types = yield* checkFields(decoded, settings)
        const { webhooks } = yield* found(organizationId, endpointId)
        const updated = yield* webhooks.updateEndpoint(organizationId, endpointId, {
          url: decoded.url,
          description: decoded.description,
          eventTypes: types,
          enabled: decoded.enabled,
          updatedAt: yield* now
        })
        if (updated === undefined) return yield* new WebhookEndpointNotFound({ endpointId })
        return endpointView(updated)
      }),
    remove: (organizationId, endpointId) =>
      Effect.gen(function*() {
        yield* checkId("endpointId", endpointId)
        const webhooks = yield* webhooksOf
        if (!(yield* webhooks.deleteEndpoint(organizationId, endpointId))) {
          return yield* new WebhookEndpointNotFound({ endpointId })
        }
      }),
    rotateSecret: (organizationId, endpointId) =>
      Effect.gen(function*() {
        const { webhooks } = yield* found(organizationId, endpointId)
        const secret = makeSecret()
        const updated = yield* webhooks.updateEndpoint(organizationId, endpointId, { secret, updatedAt: yield* now })
        if (updated === undefined) return yield* new WebhookEndpointNotFound({ endpointId })
        return { ...endpointView(updated), secret }
      }),
    deliveries: (organizationId, endpointId, query) =>
      Effect.gen(function*() {
        const given = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined))
        const decoded = yield* decodeInput(DeliveryQuery, given)
        const limit = yield* limitOf(decoded.limit)
        const { webhooks } = yield* found(organizationId, endpointId)
        const items = yield* webhooks.listDeliveries(organizationId, endpointId, { limit, status: decoded.status })
        return { items: items.map(deliveryView) }
      }),
    redeliver: (organizationId, endpointId, deliveryId) =>
      Effect.gen(function*() {
        yield* checkId("deliveryId", deliveryId)
        const { webhooks } = yield* found(organizationId, endpointId)
        const delivery = yield* webhooks.redeliver(organizationId, endpointId, deliveryId, yield* now)
        if (delivery === undefined) return yield* new WebhookDeliveryNotFound({ endpointId, deliveryId })
        return deliveryView(delivery)
      })
  })
}
