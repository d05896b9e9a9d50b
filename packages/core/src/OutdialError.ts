/**
 * The engine's public failures. Each error is a tagged class carrying the
 * public `code` that the HTTP API and host applications see; `httpStatus`
 * is the one table from code to status, so every transport answers alike.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { CustomFields } from "./internal/customFields.ts"

/**
 * Codes of request and contact-list failures: the request (or the file it
 * carries) is wrong as a whole and nothing was stored.
 *
 * @category models
 */
export const InvalidInputCode = Schema.Literals([
  "validation_error",
  "invalid_csv",
  "missing_phone_column",
  "no_valid_contacts",
  "too_many_contacts",
  "file_too_large",
  "unsupported_file_type",
  "invalid_timezone",
  "past_scheduled_time",
  "invalid_calling_window",
  "no_outbound_agent",
  "no_caller_number",
  "invalid_contact_status",
  "invalid_page",
  "invalid_page_size",
  "invalid_cursor",
  "invalid_recipient_hours",
  "invalid_holidays",
  "invalid_webhook_url",
  "unknown_event_type"
])
export type InvalidInputCode = typeof InvalidInputCode.Type

/**
 * Codes of a rejected contact row. The row is left out; the rest of the file
 * goes on.
 *
 * @category models
 */
export const RowErrorCode = Schema.Literals([
  "missing_phone",
  "invalid_phone_format",
  "invalid_number",
  "unsupported_country",
  "blocked_prefix",
  "blocked_number_type",
  "invalid_field"
])
export type RowErrorCode = typeof RowErrorCode.Type

/**
 * One rejected row, numbered as a person counts rows in the file (the header
 * of a CSV is row 1, so the first contact is row 2; JSON contacts count from 1).
 *
 * @category models
 */
export const RowError = Schema.Struct({
  row: Schema.Int,
  field: Schema.String,
  code: RowErrorCode,
  message: Schema.String,
  value: Schema.optionalKey(Schema.String),
  /** The row as read, so a client can show it and send it back corrected. */
  contact: Schema.optionalKey(Schema.Struct({
    phone: Schema.String,
    name: Schema.NullOr(Schema.String),
    externalId: Schema.NullOr(Schema.String),
    ignoreE164Validation: Schema.Boolean,
    customFields: CustomFields
  }))
})
export type RowError = typeof RowError.Type

/**
 * Rejected rows grouped by their code, with the row numbers of each.
 *
 * @category models
 */
export const RowErrorGroup = Schema.Struct({
  code: RowErrorCode,
  message: Schema.String,
  count: Schema.Int,
  rows: Schema.Array(Schema.Int)
})
export type RowErrorGroup = typeof RowErrorGroup.Type

/**
 * The request or its contact file cannot be accepted. `details` carries what a
 * client needs to fix it: the field, the line of a parse error, the limit that
 * was passed, or the grouped row errors.
 *
 * @category errors
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  code: InvalidInputCode,
  message: Schema.String,
  field: Schema.optionalKey(Schema.String),
  details: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
}) {}

/**
 * @category errors
 */
export class BatchNotFound extends Schema.TaggedError<BatchNotFound>()("BatchNotFound", {
  batchId: Schema.String
}) {
  get code(): "batch_not_found" {
    return "batch_not_found"
  }
  override get message(): string {
    return `Batch ${this.batchId} was not found`
  }
}

/**
 * @category errors
 */
export class ContactNotFound extends Schema.TaggedError<ContactNotFound>()("ContactNotFound", {
  batchId: Schema.String,
  contactId: Schema.String
}) {
  get code(): "contact_not_found" {
    return "contact_not_found"
  }
  override get message(): string {
    return `Contact ${this.contactId} was not found in batch ${this.batchId}`
  }
}

/**
 * A lifecycle action asked of an entity in a state that does not allow it.
 * The message names the state the entity is in.
 *
 * @category errors
 */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>()("InvalidTransition", {
  entity: Schema.Literals(["batch", "contact"]),
  action: Schema.String,
  from: Schema.String,
  to: Schema.optionalKey(Schema.String),
  /** Why, when the state allows the action but the entity does not (a draft without contacts). */
  reason: Schema.optionalKey(Schema.String)
}) {
  get code(): "invalid_state_transition" {
    return "invalid_state_transition"
  }
  override get message(): string {
    return `Cannot ${this.action} a ${this.entity} that is ${this.from}${this.reason === undefined ? "" : `: ${this.reason}`}`
  }
}

/**
 * @category errors
 */
export class InsufficientCredits extends Schema.TaggedError<InsufficientCredits>()("InsufficientCredits", {
  message: Schema.String,
  required: Schema.optionalKey(Schema.String),
  available: Schema.optionalKey(Schema.String)
}) {
  get code(): "insufficient_credits" {
    return "insufficient_credits"
  }
}

/**
 * The batch cannot finish by its `completeBy` deadline and the host or the
 * request asked to refuse such batches; carries the figures of the estimate.
 *
 * @category errors
 */
export class BatchInfeasible extends Schema.TaggedError<BatchInfeasible>()("BatchInfeasible", {
  message: Schema.String,
  completeBy: Schema.String,
  estimatedFinish: Schema.NullOr(Schema.String),
  shortfallContacts: Schema.Int,
  shortfallSeconds: Schema.NullOr(Schema.Number)
}) {
  get code(): "infeasible_batch" {
    return "infeasible_batch"
  }
}

/**
 * The same idempotency key came back with a different request body.
 *
 * @category errors
 */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  key: Schema.String
}) {
  get code(): "idempotency_key_reused" {
    return "idempotency_key_reused"
  }
  override get message(): string {
    return `Idempotency key ${this.key} was already used with a different request`
  }
}

/**
 * The first request under this idempotency key has not finished yet.
 *
 * @category errors
 */
export class IdempotencyRequestInProgress
  extends Schema.TaggedError<IdempotencyRequestInProgress>()("IdempotencyRequestInProgress", {
    key: Schema.String
  })
{
  get code(): "idempotency_request_in_progress" {
    return "idempotency_request_in_progress"
  }
  override get message(): string {
    return `A request with idempotency key ${this.key} is still being processed`
  }
}

/**
 * No webhook endpoint of this id in the organization.
 *
 * @category errors
 */
export class WebhookEndpointNotFound extends Schema.TaggedError<WebhookEndpointNotFound>()("WebhookEndpointNotFound", {
  endpointId: Schema.String
}) {
  get code(): "webhook_endpoint_not_found" {
    return "webhook_endpoint_not_found"
  }
  override get message(): string {
    return `Webhook endpoint ${this.endpointId} was not found`
  }
}

/**
 * No delivery of this id to the endpoint.
 *
 * @category errors
 */
export class WebhookDeliveryNotFound extends Schema.TaggedError<WebhookDeliveryNotFound>()("WebhookDeliveryNotFound", {
  endpointId: Schema.String,
  deliveryId: Schema.String
}) {
  get code(): "webhook_delivery_not_found" {
    return "webhook_delivery_not_found"
  }
  override get message(): string {
    return `Delivery ${this.deliveryId} of webhook endpoint ${this.endpointId} was not found`
  }
}

/**
 * The storage backend failed. Nothing the client can fix; safe to retry.
 *
 * @category errors
 */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  message: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  get code(): "store_error" {
    return "store_error"
  }
}

/**
 * Every failure the engine returns to a caller.
 *
 * @category errors
 */
export type OutdialError =
  | InvalidInput
  | BatchNotFound
  | ContactNotFound
  | InvalidTransition
  | InsufficientCredits
  | BatchInfeasible
  | IdempotencyKeyReused
  | IdempotencyRequestInProgress
  | WebhookEndpointNotFound
  | WebhookDeliveryNotFound
  | StoreError

/**
 * Every public error code.
 *
 * @category models
 */
export type ErrorCode = OutdialError["code"]

/**
 * The HTTP status of each public code: one table for every transport.
 *
 * @category models
 */
export const httpStatus: { readonly [K in ErrorCode]: number } = {
  validation_error: 400,
  invalid_csv: 400,
  missing_phone_column: 400,
  no_valid_contacts: 400,
  too_many_contacts: 400,
  file_too_large: 413,
  unsupported_file_type: 415,
  invalid_timezone: 400,
  past_scheduled_time: 400,
  invalid_calling_window: 400,
  no_outbound_agent: 400,
  no_caller_number: 400,
  invalid_contact_status: 400,
  invalid_page: 400,
  invalid_page_size: 400,
  invalid_cursor: 400,
  invalid_recipient_hours: 400,
  invalid_holidays: 400,
  infeasible_batch: 422,
  invalid_webhook_url: 400,
  unknown_event_type: 400,
  batch_not_found: 404,
  contact_not_found: 404,
  webhook_endpoint_not_found: 404,
  webhook_delivery_not_found: 404,
  invalid_state_transition: 422,
  insufficient_credits: 402,
  idempotency_key_reused: 422,
  idempotency_request_in_progress: 409,
  store_error: 500
}
