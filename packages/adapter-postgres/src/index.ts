/**
 * @since 0.1.0
 */
export * as EmbeddedPostgres from "./EmbeddedPostgres.ts"
export * as Migrations from "./Migrations.ts"
export * as PgBatchStore from "./PgBatchStore.ts"
export * as PgEventRelay from "./PgEventRelay.ts"
export * as PgStorage from "./PgStorage.ts"
export * as PgDoNotCall from "./PgDoNotCall.ts"
