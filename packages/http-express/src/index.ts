/**
 * @since 0.1.0
 */
export * as CsvResponse from "./CsvResponse.ts"
export * as ErrorResponse from "./ErrorResponse.ts"
export * as EventStream from "./EventStream.ts"
export * as MetricsRoute from "./MetricsRoute.ts"
export * as OpenApi from "./OpenApi.ts"
export * as ParsedBody from "./ParsedBody.ts"
export * as Router from "./Router.ts"
export * as Uploads from "./Uploads.ts"
export * as WebhookRoutes from "./WebhookRoutes.ts"
export * as Webhooks from "./Webhooks.ts"
