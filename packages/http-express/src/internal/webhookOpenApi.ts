/**
 * The webhook part of the OpenAPI document: the endpoint routes, and the
 * messages a receiver gets (the document's `webhooks`), each a component
 * derived from its Schema by `OpenApi`.
 */
import * as WebhookEndpoints from "@outdial/core/WebhookEndpoints"
import * as WebhookPayload from "@outdial/core/WebhookPayload"

export const schemas = {
  WebhookEndpointCreate: WebhookEndpoints.CreateEndpointInput,
  WebhookEndpointUpdate: WebhookEndpoints.UpdateEndpointInput,
  WebhookEndpoint: WebhookEndpoints.EndpointView,
  WebhookEndpointWithSecret: WebhookEndpoints.EndpointWithSecret,
  WebhookEndpointList: WebhookEndpoints.EndpointList,
  WebhookDelivery: WebhookEndpoints.DeliveryView,
  WebhookDeliveryList: WebhookEndpoints.DeliveryList,
  WebhookBatchMessage: WebhookPayload.BatchMessage,
  WebhookContactMessage: WebhookPayload.ContactMessage
} as const

interface Helpers {
  readonly ref: (name: string) => unknown
  readonly json: (schema: unknown) => unknown
  readonly errorResponse: (description: string) => unknown
  readonly common: Record<string, unknown>
}

const signatureHeaders = {
  "webhook-id": { description: "The message id (the body's `id`): the same on every retry; deduplicate on it", schema: { type: "string" } },
  "webhook-timestamp": { description: "Seconds since the epoch when this try was signed", schema: { type: "string" } },
  "webhook-signature": {
    description: "`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the endpoint's secret (Standard Webhooks)",
    schema: { type: "string" }
  }
}

export const paths = ({ common, errorResponse, json, ref }: Helpers) => {
  const endpointId = { name: "id", in: "path", required: true, schema: { type: "string" }, description: "The endpoint id" }
  const notFound = { "404": errorResponse("No such endpoint in this organization (`webhook_endpoint_not_found`)") }
  const invalid = errorResponse(
    "`invalid_webhook_url` (not http(s), credentials, a private address), `unknown_event_type`, `validation_error`"
  )
  return {
    "/webhooks": {
      post: {
        operationId: "createWebhookEndpoint",
        summary: "Register an endpoint; its signing secret is shown in this answer only",
        requestBody: { required: true, content: json(ref("WebhookEndpointCreate")) },
        responses: {
          "201": { description: "The endpoint with its secret", content: json(ref("WebhookEndpointWithSecret")) },
          "400": invalid,
          ...common
        }
      },
      get: {
        operationId: "listWebhookEndpoints",
        summary: "The organization's endpoints, oldest first",
        responses: { "200": { description: "The endpoints", content: json(ref("WebhookEndpointList")) }, ...common }
      }
    },
    "/webhooks/{id}": {
      parameters: [endpointId],
      get: {
        operationId: "getWebhookEndpoint",
        summary: "An endpoint (without its secret)",
        responses: { "200": { description: "The endpoint", content: json(ref("WebhookEndpoint")) }, ...notFound, ...common }
      },
      patch: {
        operationId: "updateWebhookEndpoint",
        summary: "Change an endpoint's URL, types or description, or enable / disable it",
        requestBody: { required: true, content: json(ref("WebhookEndpointUpdate")) },
        responses: {
          "200": { description: "The endpoint", content: json(ref("WebhookEndpoint")) },
          "400": invalid,
          ...notFound,
          ...common
        }
      },
      delete: {
        operationId: "deleteWebhookEndpoint",
        summary: "Delete an endpoint with its delivery log",
        responses: { "204": { description: "Deleted" }, ...notFound, ...common }
      }
    },
    "/webhooks/{id}/rotate-secret": {
      parameters: [endpointId],
      post: {
        operationId: "rotateWebhookSecret",
        summary: "Replace the signing secret; the new one is shown in this answer only",
        responses: {
          "200": { description: "The endpoint with its new secret", content: json(ref("WebhookEndpointWithSecret")) },
          ...notFound,
          ...common
        }
      }
    },
    "/webhooks/{id}/deliveries": {
      parameters: [endpointId],
      get: {
        operationId: "listWebhookDeliveries",
        summary: "The endpoint's delivery log, newest first: status, tries, last answer and latency, next try",
        parameters: [
          { name: "status", in: "query", schema: { type: "string", enum: ["pending", "delivered", "failed"] } },
          { name: "limit", in: "query", schema: { type: "string" }, description: "1 to 500; 50 unless set" }
        ],
        responses: {
          "200": { description: "The deliveries", content: json(ref("WebhookDeliveryList")) },
          "400": errorResponse("`invalid_page_size` or an unknown status"),
          ...notFound,
          ...common
        }
      }
    },
    "/webhooks/{id}/deliveries/{deliveryId}/redeliver": {
      parameters: [endpointId, { name: "deliveryId", in: "path", required: true, schema: { type: "string" } }],
      post: {
        operationId: "redeliverWebhook",
        summary: "Send a delivery again now (same message id), its tries counted afresh",
        responses: {
          "200": { description: "The delivery, pending", content: json(ref("WebhookDelivery")) },
          "404": errorResponse("`webhook_endpoint_not_found` or `webhook_delivery_not_found`"),
          ...common
        }
      }
    }
  }
}

/** The messages a receiver gets, one entry per kind, as OpenAPI 3.1 `webhooks`. */
export const webhooks = ({ json, ref }: Pick<Helpers, "json" | "ref">) =>
  Object.fromEntries((["batch", "contact"] as const).map((kind) => [
    `${kind}Event`,
    {
      post: {
        operationId: `${kind}Webhook`,
        summary: kind === "batch"
          ? "A batch changed: `batch.created`, `batch.scheduled`, `batch.started`, `batch.paused`, `batch.resumed`, `batch.completed`, `batch.cancelled`, `batch.failed`, `batch.deferred`"
          : "A contact changed: `contact.dialing`, `contact.<outcome>`, `contact.retry_queued`, `contact.requeued`, `contact.deferred`, `contact.skipped`, `contact.cancelled`",
        parameters: Object.entries(signatureHeaders).map(([name, header]) => ({ name, in: "header", required: true, ...header })),
        requestBody: { required: true, content: json(ref(kind === "batch" ? "WebhookBatchMessage" : "WebhookContactMessage")) },
        responses: {
          "2XX": { description: "Delivered" },
          "410": { description: "Gone: the delivery fails at once (as any 4xx but 408 and 429); 5xx, 408, 429 and timeouts are retried" }
        }
      }
    }
  ]))
