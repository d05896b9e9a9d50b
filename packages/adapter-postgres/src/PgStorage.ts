/**
 * Ready-made storage layers: a `BatchStore` (and the `DoNotCall` lists) on a migrated database, from a
 * URL, from `DATABASE_URL`, or on embedded PGlite (the zero-setup default).
 * Each also provides the `SqlClient`, for hosts that keep tables of their own
 * beside the engine's.
 *
 * @since 0.1.0
 */
import { PgClient } from "@effect/sql-pg"
import type { BatchStore } from "@outdial/core/BatchStore"
import type { DoNotCall } from "@outdial/core/DoNotCall"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/Config"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Migrator from "effect/sql/Migrator"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import * as EmbeddedPostgres from "./EmbeddedPostgres.ts"
import * as Migrations from "./Migrations.ts"
import * as PgBatchStore from "./PgBatchStore.ts"
import * as PgDoNotCall from "./PgDoNotCall.ts"

/**
 * @since 0.1.0
 * @category models
 */
export type Storage = BatchStore | DoNotCall | PgBatchStore.Outbox | SqlClient.SqlClient | PgClient.PgClient

/**
 * Connection settings the store is tuned for: its statements are the same
 * few, run thousands of times with different ids, so one generic plan each
 * saves planning every execution.
 *
 * @since 0.1.0
 * @category configuration
 */
export const sessionDefaults: Pick<PgClient.PgPoolConfig, "applicationName" | "startupParameters"> = {
  applicationName: "outdial",
  startupParameters: { plan_cache_mode: "force_generic_plan" }
}

/**
 * Migrates the database behind `client`, then builds the store on it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFrom = <E, R>(
  client: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, E, R>,
  options: PgBatchStore.Options = {}
): Layer.Layer<Storage, E | SqlError | Migrator.MigrationError, R> =>
  Layer.merge(PgBatchStore.layer(options), PgDoNotCall.layer).pipe(
    Layer.provideMerge(Layer.effectDiscard(Migrations.run).pipe(Layer.provideMerge(client)))
  )

/**
 * A store on a PostgreSQL server.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: PgClient.PgPoolConfig,
  options: PgBatchStore.Options = {}
): Layer.Layer<Storage, SqlError | Migrator.MigrationError> =>
  layerFrom(PgClient.layer({ ...sessionDefaults, ...config }), options)

/**
 * A store on the PostgreSQL server named by `DATABASE_URL` (read when the
 * layer is built, never at import), or by the given config.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  url: Config.Config<Redacted.Redacted> = Config.Redacted("DATABASE_URL"),
  options: PgBatchStore.Options & { readonly maxConnections?: number | undefined } = {}
): Layer.Layer<Storage, SqlError | Migrator.MigrationError | ConfigError.ConfigError> =>
  layerFrom(
    PgClient.layerConfig({
      url,
      applicationName: Config.succeed(sessionDefaults.applicationName),
      startupParameters: Config.succeed(sessionDefaults.startupParameters),
      maxConnections: Config.succeed(options.maxConnections ?? 10)
    }),
    options
  )

/**
 * A store on embedded PGlite in this process: nothing to install or run.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEmbedded = (
  options: EmbeddedPostgres.Options & Omit<PgBatchStore.Options, "processLocal" | "listen"> = {}
): Layer.Layer<Storage, SqlError | Migrator.MigrationError> =>
  // One process owns the database and its single connection: no LISTEN, no rescans.
  layerFrom(EmbeddedPostgres.layer(options), { ...options, processLocal: true, listen: false })
