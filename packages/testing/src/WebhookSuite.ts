/**
 * The conformance suite of a store's `webhooks` (the `WebhookStore` port)
 * with the engine's sender, against a real HTTP receiver on loopback:
 * changes are recorded with the writes that make them (batch and contact),
 * fanned out per subscribed endpoint, sent signed per Standard Webhooks
 * (checked with the `standardwebhooks` verifier), retried when the receiver
 * is down or asks for it (`Retry-After`), never after a 400 or 410, claimed
 * by one sender at a time, redelivered on request, and an endpoint failing
 * for a day is disabled. Time is a clock the test moves by hand, starting
 * at the wall clock (the verifier refuses timestamps five minutes off); its
 * sleeps are real, so a database driver's own timers run as they would.
 *
 * A little over 400 lines because it is one port's contract, read as one
 * list of promises every store keeps.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { BatchStore, type Lease } from "@outdial/core/BatchStore"
import type * as Contact from "@outdial/core/Contact"
import * as WebhookDelivery from "@outdial/core/WebhookDelivery"
import * as WebhookEndpoints from "@outdial/core/WebhookEndpoints"
import * as WebhookPayload from "@outdial/core/WebhookPayload"
import type { EventType } from "@outdial/core/WebhookPayload"
import * as WebhookSettings from "@outdial/core/WebhookSettings"
import type { WebhookEndpoint, WebhookStore } from "@outdial/core/WebhookStore"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"
import * as EffectDuration from "effect/Duration"
import { Webhook } from "standardwebhooks"
import { makeBatch, newContacts, uniqueId } from "./StoreFixtures.ts"
import * as WebhookReceiver from "./WebhookReceiver.ts"

const settings: WebhookSettings.WebhookSettings = {
  ...WebhookSettings.defaults,
  allowPrivateNetworks: true,
  timeoutMillis: 2_000,
  initialBackoffMillis: 1_000,
  maxBackoffMillis: 600_000,
  concurrency: 50
}
const options = { ownerId: "suite-sender", settings, random: () => 0.5 }
const second = 1_000
const hour = 3_600_000

/** A clock at the wall-clock time, moved by `adjust` only. */
const manualClock = () => {
  let now = Date.now()
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: () => now,
    currentTimeMillis: Effect.sync(() => now),
    currentTimeNanosUnsafe: () => BigInt(now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    monotonicTimeNanosUnsafe: () => process.hrtime.bigint(),
    monotonicTimeNanos: Effect.sync(() => process.hrtime.bigint()),
    sleep: (duration) =>
      Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, EffectDuration.toMillis(duration))))
  }
  return { clock, adjust: (millis: number) => Effect.sync(() => void (now += millis)) }
}

/** A test on the manual clock. */
const timed = <A, E, R>(body: (adjust: (millis: number) => Effect.Effect<void>) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const { adjust, clock } = manualClock()
    return Effect.scoped(body(adjust)).pipe(Effect.provideService(Clock.Clock, clock))
  })

const receiverScoped = Effect.acquireRelease(Effect.promise(() => WebhookReceiver.start()), (receiver) =>
  Effect.promise(() => receiver.close()))

const nowUtc = Effect.map(Clock.currentTimeMillis, DateTime.makeUnsafe)

const webhooksOf = Effect.map(BatchStore, (store) => {
  assert.isDefined(store.webhooks, "the store keeps webhooks")
  return store.webhooks!
})

const addEndpoint = (organizationId: string, url: string, eventTypes: ReadonlyArray<EventType> = []) =>
  Effect.gen(function*() {
    const webhooks = yield* webhooksOf
    const at = yield* nowUtc
    const endpoint: WebhookEndpoint = {
      id: uniqueId("whe"),
      organizationId,
      url,
      description: null,
      eventTypes,
      enabled: true,
      disabledReason: null,
      secret: WebhookEndpoints.makeSecret(),
      failingSince: null,
      createdAt: at,
      updatedAt: at
    }
    yield* webhooks.createEndpoint(endpoint)
    return endpoint
  })

/** Passes until one finds nothing to fan out or send. */
const drain = (webhooks: WebhookStore) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100; i++) {
      const done = yield* WebhookDelivery.pass(webhooks, options)
      if (done.changes === 0 && done.sent === 0) return
    }
    assert.fail("the sender never ran out of work")
  })

/** A running batch of `count` contacts, its lease held; its changes are recorded as they are made. */
const runningBatch = (count: number, organizationId = uniqueId("org")) =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const at = yield* nowUtc
    const batch = makeBatch({ organizationId, createdAt: at, updatedAt: at })
    yield* store.createBatch(batch, newContacts(count))
    yield* store.updateBatch(batch.id, ["draft"], "schedule", { status: "pending" })
    yield* store.updateBatch(batch.id, ["pending"], "start", { status: "running" })
    const lease = (yield* store.acquireLease(batch.id, "suite-dialer", at, 60_000))!
    const contacts = (yield* store.listContacts(batch.id, { page: 1, pageSize: count })).items
    return { batch, lease, contacts }
  })

const dial = (lease: Lease, contact: Contact.Contact, status: Contact.ContactStatus, nextRetryAt: DateTime.Utc | null = null) =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const at = yield* nowUtc
    const begun = yield* store.beginAttempt(lease, {
      contactId: contact.id,
      attemptNumber: contact.attemptCount + 1,
      callerNumberId: "num_suite_1",
      startedAt: at,
      localDate: "2030-01-07",
      decision: null
    })
    const outcome = status === "queued" ? "no_answer" : status as "completed"
    return yield* store.finishAttempt(lease, {
      attemptId: begun.attempt.id,
      result: { outcome, sipCode: outcome === "completed" ? null : 480, duration: outcome === "completed" ? 30 : null, roomName: "room", failureReason: null },
      endedAt: at,
      status,
      nextRetryAt,
      decision: null
    })
  })

/**
 * Declares the suite over a store layer.
 *
 * @since 0.1.0
 * @category suite
 */
export const run = <E>(name: string, store: Layer.Layer<BatchStore, E>, timeout: Duration.Input = "60 seconds"): void =>
  layer(store, { timeout, excludeTestServices: true })(name, (it) => {
    it.effect("every batch and contact change reaches a subscribed endpoint, signed and in order per contact", () =>
      timed(() => Effect.gen(function*() {
        const receiver = yield* receiverScoped
        const webhooks = yield* webhooksOf
        const organizationId = uniqueId("org")
        const endpoint = yield* addEndpoint(organizationId, receiver.url)
        const quiet = yield* runningBatch(2) // another organization: no endpoint, nothing recorded
        const { batch, contacts, lease } = yield* runningBatch(3, organizationId)
        const store = yield* BatchStore
        yield* dial(lease, contacts[0]!, "completed")
        yield* dial(lease, contacts[1]!, "queued", DateTime.makeUnsafe(Date.now() + hour))
        yield* store.decide(lease, contacts[2]!.id, {
          kind: "skip",
          policy: "do-not-call",
          reason: "the number is on the do-not-call list",
          at: yield* nowUtc
        })
        yield* dial(quiet.lease, quiet.contacts[0]!, "completed")
        yield* drain(webhooks)

        const verifier = new Webhook(endpoint.secret)
        for (const request of receiver.received) {
          verifier.verify(request.body, {
            "webhook-id": request.id,
            "webhook-timestamp": request.timestamp,
            "webhook-signature": request.signature
          })
        }
        const messages = WebhookReceiver.messages(receiver)
        assert.deepStrictEqual(
          messages.map((m) => `${m.type}${m.data.contactId === undefined ? "" : ` ${m.data.contactId}`}`),
          [
            "batch.created",
            "batch.scheduled",
            "batch.started",
            `contact.dialing ${contacts[0]!.id}`,
            `contact.completed ${contacts[0]!.id}`,
            `contact.dialing ${contacts[1]!.id}`,
            `contact.retry_queued ${contacts[1]!.id}`,
            `contact.skipped ${contacts[2]!.id}`
          ]
        )
        for (const message of messages) {
          assert.strictEqual(message.data.batchId, batch.id)
          assert.strictEqual((message as any).organizationId, organizationId)
        }
        const completed = messages[4]!.data
        assert.strictEqual(completed.attemptId, `${batch.id}_${contacts[0]!.id}_1`)
        assert.strictEqual(completed.callDuration, 30)
        assert.isAbove(completed.sequence, messages[3]!.data.sequence, "a contact's sequence grows")
        const skipped = messages[7]!.data
        assert.strictEqual(skipped.policy, "do-not-call")
        assert.strictEqual(skipped.reason, "the number is on the do-not-call list")
        const log = yield* webhooks.listDeliveries(organizationId, endpoint.id, { limit: 50 })
        assert.strictEqual(log.length, 8)
        assert.isTrue(log.every((d) => d.status === "delivered" && d.attempts === 1 && d.lastResponseCode === 204))
      })))

    it.effect("an endpoint receives only the types it subscribed to", () =>
      timed(() => Effect.gen(function*() {
        const receiver = yield* receiverScoped
        const organizationId = uniqueId("org")
        yield* addEndpoint(organizationId, receiver.url, ["contact.completed"])
        const { contacts, lease } = yield* runningBatch(2, organizationId)
        yield* dial(lease, contacts[0]!, "completed")
        yield* drain(yield* webhooksOf)
        assert.deepStrictEqual(WebhookReceiver.messages(receiver).map((m) => m.type), ["contact.completed"])
      })))

    it.effect("a receiver down for a while gets every message once it is back, none lost", () =>
      timed((adjust) => Effect.gen(function*() {
        const receiver = yield* receiverScoped
        const webhooks = yield* webhooksOf
        const organizationId = uniqueId("org")
        const endpoint = yield* addEndpoint(organizationId, receiver.url)
        yield* Effect.promise(() => receiver.stop())
        const { contacts, lease } = yield* runningBatch(5, organizationId)
        for (const contact of contacts) yield* dial(lease, contact, "completed")
        yield* drain(webhooks)
        // Refused connections: every delivery waits for its next try.
        const waiting = yield* webhooks.listDeliveries(organizationId, endpoint.id, { limit: 100 })
        assert.strictEqual(waiting.length, 13)
        assert.isTrue(waiting.every((d) => d.status === "pending" && d.attempts === 1 && d.lastError !== null))
        for (let i = 0; i < 3; i++) {
          yield* adjust(10 * settings.initialBackoffMillis * 2 ** i)
          yield* drain(webhooks)
        }
        yield* Effect.promise(() => receiver.start())
        yield* adjust(settings.maxBackoffMillis)
        yield* drain(webhooks)
        const ids = new Set(receiver.received.map((r) => r.id))
        assert.deepStrictEqual([...ids].sort(), waiting.map((d) => d.messageId).sort(), "every message arrived")
        const log = yield* webhooks.listDeliveries(organizationId, endpoint.id, { limit: 100 })
        assert.isTrue(log.every((d) => d.status === "delivered" && d.attempts === 5))
      })))

    it.effect("a 410 or a 400 fails the delivery at once; a 500 is retried", () =>
      timed((adjust) => Effect.gen(function*() {
        const receiver = yield* receiverScoped
        const webhooks = yield* webhooksOf
        const organizationId = uniqueId("org")
        const endpoint = yield* addEndpoint(organizationId, receiver.url, ["batch.created", "batch.scheduled", "batch.started"])
        const answers: Record<string, number> = { "batch.created": 410, "batch.scheduled": 400, "batch.started": 500 }
        receiver.answer = (request) => ({ status: answers[JSON.parse(request.body).type]! })
        yield* runningBatch(1, organizationId)
        yield* drain(webhooks)
        yield* adjust(settings.maxBackoffMillis)
        yield* drain(webhooks)
        const byType = new Map((yield* webhooks.listDeliveries(organizationId, endpoint.id, { limit: 10 })).map((d) => [d.eventType, d]))
        assert.include(byType.get("batch.created"), { status: "failed", attempts: 1, lastResponseCode: 410 })
        assert.include(byType.get("batch.scheduled"), { status: "failed", attempts: 1, lastResponseCode: 400 })
        assert.include(byType.get("batch.started"), { status: "pending", attempts: 2, lastResponseCode: 500 })
        const sent = (type: string) => receiver.received.filter((r) => JSON.parse(r.body).type === type).length
        assert.strictEqual(sent("batch.created"), 1)
        assert.strictEqual(sent("batch.scheduled"), 1)
      })))

    it.effect("Retry-After sets the next try", () =>
      timed((adjust) => Effect.gen(function*() {
        const receiver = yield* receiverScoped
        const webhooks = yield* webhooksOf
        const organizationId = uniqueId("org")
        const endpoint = yield* addEndpoint(organizationId, receiver.url, ["batch.created"])
        let first = true
        receiver.answer = () => {
          const answer = first ? { status: 429, headers: { "retry-after": "120" } } : { status: 200 }
          first = false
          return answer
        }
        yield* runningBatch(1, organizationId)
        yield* drain(webhooks)
        const [delivery] = yield* webhooks.listDeliveries(organizationId, endpoint.id, { limit: 1 })
        const triedAt = yield* Clock.currentTimeMillis
        assert.strictEqual(delivery!.status, "pending")
        assert.strictEqual(DateTime.toEpochMillis(delivery!.nextAttemptAt!), triedAt + 120 * second)
        yield* adjust(119 * second)
        yield* drain(webhooks)
        assert.strictEqual(receiver.received.length, 1, "not tried before Retry-After")
        yield* adjust(1 * second)
        yield* drain(webhooks)
        assert.strictEqual(receiver.received.length, 2)
        const [done] = yield* webhooks.listDeliveries(organizationId, endpoint.id, { limit: 1 })
        assert.include(done, { status: "delivered", attempts: 2, lastResponseCode: 200 })
      })))

    it.effect("an endpoint failing for a day is disabled with a reason; enabling it sends again", () =>
      timed((adjust) => Effect.gen(function*() {
        const receiver = yield* receiverScoped
        const webhooks = yield* webhooksOf
        const organizationId = uniqueId("org")
        const endpoint = yield* addEndpoint(organizationId, receiver.url, ["batch.created"])
        receiver.answer = () => ({ status: 503 })
        yield* runningBatch(1, organizationId)
        for (let waited = 0; waited <= 26 * hour; waited += settings.maxBackoffMillis) {
          yield* drain(webhooks)
          yield* adjust(settings.maxBackoffMillis)
        }
        const disabled = (yield* webhooks.getEndpoint(organizationId, endpoint.id))!
        assert.isFalse(disabled.enabled)
        assert.match(disabled.disabledReason!, /HTTP 503/)
        const tries = receiver.received.length
        yield* adjust(hour)
        yield* drain(webhooks)
        assert.strictEqual(receiver.received.length, tries, "a disabled endpoint is sent nothing")
        receiver.answer = () => ({ status: 200 })
        yield* webhooks.updateEndpoint(organizationId, endpoint.id, { enabled: true, updatedAt: yield* nowUtc })
        yield* adjust(settings.maxBackoffMillis)
        yield* drain(webhooks)
        const [delivery] = yield* webhooks.listDeliveries(organizationId, endpoint.id, { limit: 1 })
        assert.strictEqual(delivery!.status, "delivered")
      })))

    it.effect("two senders never hold one delivery at once; an expired claim passes on, its late result ignored", () =>
      timed(() => Effect.gen(function*() {
        const receiver = yield* receiverScoped
        const webhooks = yield* webhooksOf
        const organizationId = uniqueId("org")
        const endpoint = yield* addEndpoint(organizationId, receiver.url)
        const now = yield* nowUtc
        const { contacts, lease } = yield* runningBatch(4, organizationId)
        for (const contact of contacts) yield* dial(lease, contact, "completed")
        yield* webhooks.fanOut(500, now, (stored) => WebhookPayload.toMessage(stored, now))
        const [a, b] = yield* Effect.all([
          webhooks.claimDue({ ownerId: "a", now, leaseMillis: 10_000, limit: 6 }),
          // Room for what earlier tests left due in a shared database, so this test's deliveries are among the claimed.
          webhooks.claimDue({ ownerId: "b", now, leaseMillis: 10_000, limit: 10_000 })
        ], { concurrency: 2 })
        const ours = <C extends { readonly endpoint: { readonly id: string } }>(claims: ReadonlyArray<C>) =>
          claims.filter((c) => c.endpoint.id === endpoint.id)
        const aIds = new Set(ours(a).map((c) => c.id))
        assert.isTrue(ours(b).every((c) => !aIds.has(c.id)), "no delivery claimed twice")
        assert.strictEqual(ours(a).length + ours(b).length, 3 + 8)
        // Which sender holds which is a race (b may lock all before a looks): either claim serves below.
        const holder = new Map([...ours(a).map((c) => [c.id, "a"] as const), ...ours(b).map((c) => [c.id, "b"] as const)])
        const later = DateTime.makeUnsafe(DateTime.toEpochMillis(now) + 10_000)
        const again = yield* webhooks.claimDue({ ownerId: "c", now: later, leaseMillis: 10_000, limit: 10_000 })
        const taken = ours(again).find((c) => holder.has(c.id))
        assert.isDefined(taken, "an expired claim is taken by another sender")
        yield* webhooks.recordTries([{
          deliveryId: taken!.id,
          attempt: taken!.attempt - 1,
          ownerId: holder.get(taken!.id)!,
          status: "failed",
          responseCode: 400,
          latencyMillis: 1,
          error: "late",
          nextAttemptAt: null,
          at: later,
          disableIfFailingSince: now,
          disableReason: "late"
        }])
        const log = yield* webhooks.listDeliveries(organizationId, endpoint.id, { limit: 100 })
        assert.isTrue(log.every((d) => d.status === "pending"), "the late result of a lost claim changed nothing")
      })))

    it.effect("tries recorded together: an endpoint that delivered any is answering; else failing since the earliest", () =>
      timed(() => Effect.gen(function*() {
        const webhooks = yield* webhooksOf
        const organizationId = uniqueId("org")
        const answering = yield* addEndpoint(organizationId, "http://127.0.0.1:9/answering")
        const failing = yield* addEndpoint(organizationId, "http://127.0.0.1:9/failing")
        const now = yield* nowUtc
        yield* runningBatch(1, organizationId)
        yield* webhooks.fanOut(500, now, (stored) => WebhookPayload.toMessage(stored, now))
        const claimed = (yield* webhooks.claimDue({ ownerId: "r", now, leaseMillis: 10_000, limit: 10_000 }))
          .filter((c) => c.endpoint.id === answering.id || c.endpoint.id === failing.id)
        assert.strictEqual(claimed.length, 6)
        const at = (millis: number) => DateTime.makeUnsafe(DateTime.toEpochMillis(now) + millis)
        const failingIndex = new Map<string, number>()
        yield* webhooks.recordTries(claimed.map((c) => {
          const index = failingIndex.get(c.endpoint.id) ?? 0
          failingIndex.set(c.endpoint.id, index + 1)
          const delivered = c.endpoint.id === answering.id && index === 1
          return {
            deliveryId: c.id,
            attempt: c.attempt,
            ownerId: "r",
            status: delivered ? "delivered" as const : "pending" as const,
            responseCode: delivered ? 204 : 503,
            latencyMillis: 1,
            error: delivered ? null : "HTTP 503",
            nextAttemptAt: delivered ? null : at(hour),
            at: at(index * second),
            disableIfFailingSince: at(index * second - 86_400_000),
            disableReason: "failing"
          }
        }))
        const after = (id: string) => Effect.map(webhooks.getEndpoint(organizationId, id), (e) => e!)
        assert.include(yield* after(answering.id), { enabled: true, failingSince: null })
        const stillFailing = yield* after(failing.id)
        assert.isTrue(stillFailing.enabled)
        assert.strictEqual(DateTime.toEpochMillis(stillFailing.failingSince!), DateTime.toEpochMillis(now))
        const log = yield* webhooks.listDeliveries(organizationId, answering.id, { limit: 10 })
        assert.deepStrictEqual(log.map((d) => d.status).sort(), ["delivered", "pending", "pending"])
      })))

    it.effect("a delivery is sent again on request, with the same webhook-id", () =>
      timed(() => Effect.gen(function*() {
        const receiver = yield* receiverScoped
        const webhooks = yield* webhooksOf
        const organizationId = uniqueId("org")
        const endpoint = yield* addEndpoint(organizationId, receiver.url, ["batch.created"])
        yield* runningBatch(1, organizationId)
        yield* drain(webhooks)
        const [delivery] = yield* webhooks.listDeliveries(organizationId, endpoint.id, { limit: 1 })
        const again = yield* webhooks.redeliver(organizationId, endpoint.id, delivery!.id, yield* nowUtc)
        assert.include(again, { status: "pending", attempts: 0 })
        assert.isUndefined(yield* webhooks.redeliver(uniqueId("org"), endpoint.id, delivery!.id, yield* nowUtc))
        yield* drain(webhooks)
        assert.deepStrictEqual(receiver.received.map((r) => r.id), [delivery!.messageId, delivery!.messageId])
      })))

    it.effect("finished deliveries are pruned by age; pending ones are kept", () =>
      timed((adjust) => Effect.gen(function*() {
        const receiver = yield* receiverScoped
        const webhooks = yield* webhooksOf
        const organizationId = uniqueId("org")
        const endpoint = yield* addEndpoint(organizationId, receiver.url, ["batch.created", "batch.scheduled"])
        receiver.answer = (request) => ({ status: JSON.parse(request.body).type === "batch.created" ? 200 : 503 })
        yield* runningBatch(1, organizationId)
        yield* drain(webhooks)
        yield* adjust(2 * hour)
        const pruned = yield* webhooks.pruneDeliveries(yield* nowUtc, 1_000)
        assert.isAtLeast(pruned, 1)
        const log = yield* webhooks.listDeliveries(organizationId, endpoint.id, { limit: 10 })
        assert.deepStrictEqual(log.map((d) => d.eventType), ["batch.scheduled"])
      })))
  })
