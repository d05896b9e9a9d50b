/**
 * Test databases: a fresh database per run on the machine's PostgreSQL when
 * one is reachable, dropped afterwards, so runs never see each other's
 * schema or rows.
 */
import { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Redacted from "effect/Redacted"
import { randomUUID } from "node:crypto"
import { connect } from "node:net"

/** The server the tests use; `OUTDIAL_TEST_DATABASE_URL` overrides the machine's default. */
export const serverUrl = process.env.OUTDIAL_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

const withDatabase = (url: string, database: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** Whether a PostgreSQL server accepts connections at `serverUrl`. */
export const isReachable = async (): Promise<boolean> => {
  const { hostname, port } = new URL(serverUrl)
  const open = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 5432) })
    socket.setTimeout(1_000)
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
    socket.once("timeout", () => (socket.destroy(), resolve(false)))
  })
  if (!open) return false
  return Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const sql = yield* PgClient.make({ url: Redacted.make(serverUrl), maxConnections: 1, connectTimeout: "2 seconds" })
      yield* sql`SELECT 1`
      return true
    })).pipe(Effect.provide(Reactivity.layer), Effect.orElseSucceed(() => false))
  ).catch(() => false)
}

const admin = (run: (sql: PgClient.PgClient) => Effect.Effect<unknown, unknown>) =>
  Effect.scoped(
    Effect.flatMap(PgClient.make({ url: Redacted.make(serverUrl), maxConnections: 1 }), run)
  ).pipe(Effect.provide(Reactivity.layer), Effect.orDie)

/** Creates an empty database for the scope's lifetime; its URL. */
export const freshDatabase = (prefix = "outdial_test") =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const name = `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 12)}`
      yield* admin((sql) => sql.unsafe(`CREATE DATABASE ${name}`))
      return { name, url: withDatabase(serverUrl, name) }
    }),
    ({ name }) => admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  )

/** A fresh database's URL for a whole process (a bench, a crash test's parent). */
export const createDatabase = (prefix?: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const name = `${prefix ?? "outdial_test"}_${randomUUID().replaceAll("-", "").slice(0, 12)}`
    yield* admin((sql) => sql.unsafe(`CREATE DATABASE ${name}`))
    return {
      url: withDatabase(serverUrl, name),
      drop: () => Effect.runPromise(admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
    }
  }))
