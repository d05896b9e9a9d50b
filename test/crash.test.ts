/**
 * Three engine processes share the real PostgreSQL and one 2,000-contact
 * batch (limit 10) dialed through a recording fake provider. The process
 * holding the batch is killed with SIGKILL mid-run, later the next holder
 * too, and then every database connection is cut. The batch must still
 * complete with every contact final, no attempt dialed twice, never more
 * than 10 calls in flight, and counters equal to a recount.
 */
import { PgClient } from "@effect/sql-pg"
import { Contact } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { afterAll, assert, describe, it } from "vitest"
import { createDatabase, isReachable, serverUrl } from "../packages/adapter-postgres/test/database.ts"
import * as FakeTelephonyServer from "./crash/FakeTelephonyServer.ts"
import { dumpOf, startEngine, waitFor } from "./crash/processes.ts"

const reachable = await isReachable()
const limit = 10
const contacts = 2_000

describe.skipIf(!reachable)("three processes, two killed, connections cut", () => {
  const cleanups: Array<() => Promise<unknown>> = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  })

  it("completes the batch with no double dial and the limit held", async () => {
    const database = await createDatabase("outdial_crash")
    cleanups.push(database.drop)
    const provider = await FakeTelephonyServer.start()
    cleanups.push(provider.close)
    const runtime = ManagedRuntime.make(
      PgClient.layer({ url: Redacted.make(database.url), applicationName: "outdial-crash-test", maxConnections: 2 })
    )
    cleanups.push(() => runtime.dispose())
    const query = <A extends object>(text: string, params: ReadonlyArray<unknown> = []) =>
      runtime.runPromise(Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        return yield* sql.unsafe<A>(text, params)
      }))

    const workers = [
      startEngine(database.url, provider.url, "worker-0", ["--create"]),
      startEngine(database.url, provider.url, "worker-1", []),
      startEngine(database.url, provider.url, "worker-2", [])
    ]
    cleanups.push(async () => workers.forEach((w) => w.alive && w.process.kill("SIGKILL")))
    const dump = () => dumpOf(workers)

    try {
      const batchId = await waitFor("the batch", () => {
        const line = workers[0]!.output.join("").match(/BATCH (\S+)/)
        if (!workers[0]!.alive) throw new Error("the creating worker died")
        return line?.[1]
      }, 60_000)

      const finals = async () => {
        const rows = await query<{ done: number }>(
          `SELECT count(*)::int4 AS done FROM outdial_contacts WHERE batch_id = $1 AND status NOT IN ('pending', 'queued', 'dialing')`,
          [batchId]
        )
        return rows[0]!.done
      }
      const holder = async () => {
        const rows = await query<{ owner_id: string | null }>(
          `SELECT owner_id FROM outdial_leases WHERE batch_id = $1`,
          [batchId]
        )
        return workers.find((w) => w.ownerId === rows[0]?.owner_id && w.alive)
      }
      const killHolderAfter = async (done: number) => {
        await waitFor(`${done} contacts done`, async () => ((await finals()) >= done ? true : undefined), 60_000)
        const victim = await waitFor("a live holder", holder, 30_000)
        victim.process.kill("SIGKILL")
        victim.alive = false
        return victim.ownerId
      }

      const first = await killHolderAfter(400)
      const second = await killHolderAfter(1_000)
      assert.notStrictEqual(first, second, "the batch moved to another process after the first kill")

      // Cut every connection of the surviving engine mid-run.
      await waitFor("1,400 contacts done", async () => ((await finals()) >= 1_400 ? true : undefined), 60_000)
      const cut = await query<{ terminated: boolean }>(
        `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'outdial'`
      )
      assert.isAbove(cut.length, 0, "connections were cut")

      await waitFor("the batch to complete", async () => {
        const rows = await query<{ status: string }>(`SELECT status FROM outdial_batches WHERE id = $1`, [batchId])
        return rows[0]?.status === "completed" ? true : undefined
      }, 120_000)

      const byStatus = await query<{ status: string; count: number }>(
        `SELECT status, count(*)::int4 AS count FROM outdial_contacts WHERE batch_id = $1 GROUP BY status`,
        [batchId]
      )
      const recount = Object.fromEntries(Contact.statuses.map((s) => [s, 0]))
      for (const row of byStatus) recount[row.status] = row.count
      const counters = (await query<Record<string, number>>(
        `SELECT ${Contact.statuses.map((s) => `coalesce(sum(n_${s}), 0)::int4 AS ${s}`).join(", ")}
         FROM outdial_counters WHERE batch_id = $1`,
        [batchId]
      ))[0]!
      for (const status of Contact.statuses) {
        assert.strictEqual(counters[status], recount[status], `counter of ${status} equals a recount`)
      }
      assert.strictEqual(
        Contact.statuses.filter((s) => !Contact.isFinal(s)).reduce((n, s) => n + recount[s]!, 0),
        0,
        "every contact is final"
      )
      assert.strictEqual(Object.values(recount).reduce((a, b) => a + b, 0), contacts)

      assert.deepStrictEqual(provider.duplicates, [], "no attempt id was dialed twice")
      assert.isAtMost(provider.maxInFlight(), limit, "never more calls in flight than the limit")

      // Every call the provider placed is an attempt on record, finished with the provider's outcome.
      const attempts = await query<{ id: string; state: string; outcome: string | null }>(
        `SELECT id, state, outcome FROM outdial_attempts WHERE batch_id = $1`,
        [batchId]
      )
      const recorded = new Map(attempts.map((a) => [a.id, a]))
      for (const [attemptId, call] of provider.calls) {
        const attempt = recorded.get(attemptId)
        assert.isDefined(attempt, `attempt ${attemptId} is on record`)
        assert.strictEqual(attempt!.state, "finished")
        assert.strictEqual(attempt!.outcome, (call.result as { outcome: string }).outcome)
      }
      assert.strictEqual(recorded.size, provider.calls.size, "no attempt on record that the provider never saw")
    } catch (error) {
      console.error(dump())
      throw error
    }
  }, 240_000)
})

if (!reachable) {
  describe("three processes, two killed, connections cut", () => {
    it.skip(`skipped: no PostgreSQL reachable at ${serverUrl}`, () => {})
  })
  console.log(`Crash test skipped: no PostgreSQL reachable at ${serverUrl}`)
}
