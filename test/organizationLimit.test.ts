/**
 * Three engine processes on the real PostgreSQL, each dialing a batch of its
 * own for one organization (each batch's limit 10) through a recording fake
 * provider, under the organization's limits: 6 calls in flight across all
 * of them, and 15 calls a second per caller number. The provider must never
 * see more than 6 calls at once, and no one-second window of recorded
 * attempt starts may hold more than 15 of one caller number.
 */
import { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { afterAll, assert, describe, it } from "vitest"
import { createDatabase, isReachable, serverUrl } from "../packages/adapter-postgres/test/database.ts"
import * as FakeTelephonyServer from "./crash/FakeTelephonyServer.ts"
import { dumpOf, startEngine, waitFor } from "./crash/processes.ts"

const reachable = await isReachable()
const maxConcurrentCalls = 6
const maxCallsPerSecondPerNumber = 15
const contactsPerBatch = 150

describe.skipIf(!reachable)("an organization's limits across three processes", () => {
  const cleanups: Array<() => Promise<unknown>> = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  })

  it("never exceeds the organization's calls in flight nor a caller number's calls per second", async () => {
    const database = await createDatabase("outdial_limits")
    cleanups.push(database.drop)
    const provider = await FakeTelephonyServer.start()
    cleanups.push(provider.close)
    const runtime = ManagedRuntime.make(
      PgClient.layer({ url: Redacted.make(database.url), applicationName: "outdial-limits-test", maxConnections: 2 })
    )
    cleanups.push(() => runtime.dispose())
    const query = <A extends object>(text: string, params: ReadonlyArray<unknown> = []) =>
      runtime.runPromise(Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        return yield* sql.unsafe<A>(text, params)
      }))

    const limits = `--limits=${JSON.stringify({ maxConcurrentCalls, maxCallsPerSecondPerNumber, contacts: contactsPerBatch })}`
    // One process migrates first, so the others find the schema ready.
    const workers = [startEngine(database.url, provider.url, "worker-0", ["--create", limits])]
    cleanups.push(async () => workers.forEach((w) => w.alive && w.process.kill("SIGKILL")))
    try {
      await waitFor("the first batch", () => /BATCH/.test(workers[0]!.output.join("")) || undefined, 60_000)
      workers.push(
        startEngine(database.url, provider.url, "worker-1", ["--create", limits]),
        startEngine(database.url, provider.url, "worker-2", ["--create", limits])
      )
      const batchIds = await waitFor("three batches", () => {
        if (workers.some((w) => !w.alive)) throw new Error("a worker died")
        const ids = workers.map((w) => w.output.join("").match(/BATCH (\S+)/)?.[1])
        return ids.every((id) => id !== undefined) ? ids as Array<string> : undefined
      }, 60_000)

      await waitFor("every batch to complete", async () => {
        const rows = await query<{ status: string }>(`SELECT status FROM outdial_batches WHERE id = ANY($1)`, [batchIds])
        return rows.length === 3 && rows.every((row) => row.status === "completed") ? true : undefined
      }, 180_000)

      assert.strictEqual(provider.calls.size, 3 * contactsPerBatch, "every contact was called once")
      assert.deepStrictEqual(provider.duplicates, [], "no attempt id was dialed twice")
      assert.isAtMost(provider.maxInFlight(), maxConcurrentCalls, "never more calls in flight than the organization's limit")

      // Sliding one-second windows over every recorded start, per caller number.
      const starts = await query<{ caller_number_id: string; at: number }>(
        `SELECT caller_number_id, (extract(epoch from started_at) * 1000)::float8 AS at FROM outdial_attempts
         WHERE batch_id = ANY($1) ORDER BY started_at`,
        [batchIds]
      )
      let worst = 0
      for (const start of starts) {
        const inWindow = starts.filter((other) =>
          other.caller_number_id === start.caller_number_id && other.at >= start.at && other.at < start.at + 1_000
        )
        worst = Math.max(worst, inWindow.length)
      }
      assert.isAtMost(worst, maxCallsPerSecondPerNumber, "never more calls a second per caller number than the limit")
      // Every process dialed: the limits were shared, not won by one.
      const byBatch = await query<{ batch_id: string; n: number }>(
        `SELECT batch_id, count(*)::int4 AS n FROM outdial_attempts WHERE batch_id = ANY($1) GROUP BY batch_id`,
        [batchIds]
      )
      assert.deepStrictEqual(byBatch.map((row) => row.n), [contactsPerBatch, contactsPerBatch, contactsPerBatch])
    } catch (error) {
      console.error(dumpOf(workers))
      throw error
    }
  }, 240_000)
})

if (!reachable) {
  describe("an organization's limits across three processes", () => {
    it.skip(`skipped: no PostgreSQL reachable at ${serverUrl}`, () => {})
  })
}
