/**
 * PostgreSQL without a server to install: PGlite (PostgreSQL compiled to
 * WebAssembly) in this process, in memory or in a data directory, reached
 * through `PGLiteSocketServer` so that the very same `@effect/sql-pg` client
 * and queries serve it and a real server.
 *
 * PGlite is one session, so the socket server and the pool keep a single
 * connection: statements and transactions simply queue for it.
 *
 * @since 0.1.0
 */
import { PGlite } from "@electric-sql/pglite"
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** A directory to keep the database in; in memory when omitted. */
  readonly dataDir?: string | undefined
}

/**
 * Starts PGlite and its socket server for the layer's lifetime and connects
 * a `PgClient` to it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  Layer.unwrap(Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(
      // pg_trgm serves contact searches (Migrations); PGlite ships it but loads only what it is given.
      Effect.promise(() => PGlite.create({ ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }), extensions: { pg_trgm } })),
      (db) => Effect.promise(() => db.close())
    )
    const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 })
    yield* Effect.acquireRelease(Effect.promise(() => server.start()), () => Effect.promise(() => server.stop()))
    const port = Number(server.getServerConn().split(":").pop())
    return PgClient.layer({
      host: "127.0.0.1",
      port,
      database: "postgres",
      username: "postgres",
      maxConnections: 1,
      minConnections: 1,
      applicationName: "outdial-embedded"
    })
  }))
