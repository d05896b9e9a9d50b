/**
 * Two engine processes share the real PostgreSQL and send the webhooks of
 * one batch to a loopback receiver that holds each request a while. The
 * process holding the first deliveries is killed with SIGKILL mid-send:
 * every message still arrives (at least once, each id only a few times),
 * and no message id is ever being sent by two processes at the same moment.
 */
import { PgClient } from "@effect/sql-pg"
import { WebhookReceiver } from "@outdial/testing"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { fileURLToPath } from "node:url"
import { startWorker, waitFor, type Worker } from "./crash/processes.ts"
import { afterAll, assert, describe, it } from "vitest"
import { createDatabase, isReachable, serverUrl } from "../packages/adapter-postgres/test/database.ts"

const reachable = await isReachable()
const workerPath = fileURLToPath(new URL("./crash/webhookWorker.ts", import.meta.url))

const startSender = (databaseUrl: string, receiverUrl: string, ownerId: string, create: boolean): Worker =>
  startWorker(workerPath, ownerId, [databaseUrl, receiverUrl, ownerId, ...(create ? ["--create"] : [])])

describe.skipIf(!reachable)("webhooks: the sending process killed mid-delivery", () => {
  const cleanups: Array<() => Promise<unknown>> = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  })

  it("every message is delivered by the other process, never by two at once", async () => {
    const database = await createDatabase("outdial_webhook_crash")
    cleanups.push(database.drop)
    const receiver = await WebhookReceiver.start()
    cleanups.push(receiver.close)
    // Each request held for 300 ms: a kill lands while requests are open.
    receiver.answer = () => ({ status: 200, delayMillis: 300 })
    const runtime = ManagedRuntime.make(
      PgClient.layer({ url: Redacted.make(database.url), applicationName: "outdial-webhook-crash-test", maxConnections: 2 })
    )
    cleanups.push(() => runtime.dispose())
    const query = <A extends object>(text: string) =>
      runtime.runPromise(Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        return yield* sql.unsafe<A>(text)
      }))

    const first = startSender(database.url, receiver.url, "sender-a", true)
    cleanups.push(async () => void (first.alive && first.process.kill("SIGKILL")))
    let second: Worker | undefined
    let last = ""
    const dump = () => [first, ...(second === undefined ? [] : [second])].map((w) => `--- ${w.ownerId}\n${w.output.join("").slice(-4000)}`).join("\n")
    try {
      await waitFor("the batch", () => {
        if (!first.alive) throw new Error("the creating worker died")
        return first.output.join("").match(/BATCH (\S+)/)?.[1]
      }, 90_000)
      // Kill it while it holds claims with requests open.
      await waitFor("requests in flight from the first sender", async () => {
        const rows = await query<{ n: number }>(
          `SELECT count(*)::int4 AS n FROM outdial_webhook_deliveries WHERE claimed_by = 'sender-a' AND status = 'pending'`
        )
        return rows[0]!.n > 0 && receiver.received.length > 0 ? true : undefined
      }, 60_000)
      first.process.kill("SIGKILL")
      first.alive = false
      const killedAt = receiver.received.length

      second = startSender(database.url, receiver.url, "sender-b", false)
      cleanups.push(async () => void (second?.alive && second.process.kill("SIGKILL")))

      await waitFor("every delivery to be delivered", async () => {
        const rows = await query<{ pending: number; batches: number }>(
          `SELECT (SELECT count(*)::int4 FROM outdial_webhook_deliveries WHERE status <> 'delivered') AS pending,
                  (SELECT count(*)::int4 FROM outdial_batches WHERE status = 'completed') AS batches`
        )
        const changes = await query<{ n: number }>(`SELECT count(*)::int4 AS n FROM outdial_webhook_changes`)
        last = JSON.stringify({ ...rows[0], changes: changes[0] })
        // The batch's own fate after the kill is the dispatcher's (test/crash.test.ts); here, its messages.
        return rows[0]!.pending === 0 && changes[0]!.n === 0 ? true : undefined
      }, 120_000)

      const deliveries = await query<{ message_id: string; attempts: number }>(
        `SELECT message_id, attempts FROM outdial_webhook_deliveries`
      )
      const received = new Set(receiver.received.map((r) => r.id))
      for (const delivery of deliveries) assert.isTrue(received.has(delivery.message_id), `${delivery.message_id} arrived`)
      assert.isAbove(receiver.received.length, killedAt, "the second process sent after the kill")
      const perId = new Map<string, number>()
      for (const r of receiver.received) perId.set(r.id, (perId.get(r.id) ?? 0) + 1)
      assert.isAtMost(Math.max(...perId.values()), 3, "each id a few times at most")
      assert.deepStrictEqual(receiver.overlaps, [], "no id was being sent by two processes at the same moment")
      assert.isTrue([...perId.values()].some((n) => n > 1), "what the killed process had open was sent again")
    } catch (error) {
      console.error(dump(), last)
      throw error
    }
  }, 240_000)
})

if (!reachable) {
  describe("webhooks: the sending process killed mid-delivery", () => {
    it.skip(`skipped: no PostgreSQL reachable at ${serverUrl}`, () => {})
  })
}
