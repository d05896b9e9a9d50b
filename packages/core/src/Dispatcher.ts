/**
 * The dispatcher dials. Each batch with work gets one runner fiber in the
 * process holding its lease; the runner starts the batch when it is due (a
 * timer, not polling), keeps `min(limit, dialable)` calls in flight inside
 * the calling window, sleeps while the eligibility chain holds the batch
 * back, records every outcome with its retry, and completes the batch when
 * every contact is final. Pause, resume, cancel and retry wake the runner at
 * once.
 *
 * Several processes may share one store: the lease (with its fencing epoch)
 * makes one of them the batch's only dialer, and a process taking over asks
 * the provider about the attempts the last holder left open instead of
 * redialing them.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { BatchStore } from "./BatchStore.ts"
import { Credits } from "./Credits.ts"
import { Directory } from "./Directory.ts"
import * as DoNotCall from "./DoNotCall.ts"
import * as Eligibility from "./Eligibility.ts"
import { EngineConfig } from "./EngineConfig.ts"
import { EngineEvents } from "./EngineEvents.ts"
import * as FrequencyCap from "./FrequencyCap.ts"
import { wake as wakeRunner } from "./internal/dispatch/alarm.ts"
import type { DispatchContext, Registry } from "./internal/dispatch/context.ts"
import * as Lease from "./internal/dispatch/lease.ts"
import * as Runner from "./internal/dispatch/runner.ts"
import { Telephony } from "./Telephony.ts"

/**
 * @since 0.1.0
 * @category services
 */
export class Dispatcher extends Context.Service<Dispatcher, {
  /** Makes the batch's runner look at it again now, starting one if none runs here. */
  readonly wake: (batchId: string) => Effect.Effect<void>
  /** Batches with a runner in this process. */
  readonly active: Effect.Effect<ReadonlyArray<string>>
  /**
   * Succeeds once every runner waits for a signal or a timer. A test calls
   * it before moving a `TestClock`, which only waits for fibers it wakes
   * itself: work a host call started (a create, a resume) must settle first.
   */
  readonly settled: Effect.Effect<void>
}>()("@outdial/core/Dispatcher") {}

/**
 * The dispatcher over its ports: a registry of runners (internal/dispatch:
 * runner.ts the batch-state switch, lease.ts takeover and reconciliation,
 * calls.ts placing and recording calls, pacing.ts how many calls now), and
 * the loops that find batches needing one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<
  Dispatcher["Service"],
  never,
  BatchStore | Telephony | Directory | Credits | EngineEvents | Scope.Scope
> = Effect.gen(function*() {
  const store = yield* BatchStore
  const config = yield* EngineConfig
  const scope = yield* Effect.scope
  const doNotCall = yield* DoNotCall.orMemoryFor(store)
  const context: DispatchContext = {
    store,
    telephony: yield* Telephony,
    directory: yield* Directory,
    credits: yield* Credits,
    events: yield* EngineEvents,
    config,
    scope,
    doNotCall,
    // The links over stores follow the host's: a host's check (often in memory) may
    // spare the step a lookup, and the reason a dialed contact shows keeps its order.
    policies: [
      ...Eligibility.builtIn,
      ...config.policies,
      DoNotCall.policy(doNotCall),
      FrequencyCap.policy(store.attemptsByNumber, (organizationId) => config.organizationLimits(organizationId)?.frequencyCap)
    ],
    // A lease nobody else can contest never needs renewing.
    leaseTtlMillis: store.processLocal === true ? 2 * 86_400_000 : config.leaseTtlMillis,
    heldElsewhere: new Map(),
    watch: { first: undefined, last: undefined, timer: undefined },
    calls: { fibers: new Set(), closed: false }
  }
  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      context.calls.closed = true
      return Effect.forEach([...context.calls.fibers], (call) => Fiber.interrupt(call), { discard: true })
    })
  )
  const registry: Registry = { runners: new Map(), busy: 0, starting: new Set(), yielding: new Set() }

  const wake = (batchId: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      const existing = registry.runners.get(batchId)
      if (existing !== undefined) {
        wakeRunner(existing.alarm)
        return Effect.void
      }
      const runner = Runner.make(batchId)
      registry.runners.set(batchId, runner)
      registry.busy++
      return Effect.asVoid(Effect.forkIn(Runner.start(context, registry, runner), scope, { startImmediately: true }))
    })

  // Only batches this process could take: the others' live leases are left out by the store.
  const rescan = Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => store.activeBatches({ ownerId: config.ownerId, now: DateTime.makeUnsafe(now) })),
    Effect.flatMap((batches) =>
      Effect.forEach(batches, (batch) => {
        // The store says this process could take it now.
        context.heldElsewhere.delete(batch.id)
        return registry.runners.has(batch.id) ? Effect.void : wake(batch.id)
      }, { discard: true })
    ),
    Effect.catchCause((cause) => Effect.logWarning("outdial: could not list active batches", cause))
  )
  // Picks up batches already in the store and, when other processes share
  // it, those created there or whose holder died.
  yield* Effect.forkIn(
    store.processLocal === true
      ? rescan
      : Effect.forever(rescan.pipe(Effect.andThen(Effect.sleep(config.rescanIntervalMillis)))),
    scope
  )

  // Every lease this process holds, renewed by one write each quarter lease period, each
  // once less than half its time is left (a runner still renews its own when this falls behind).
  if (store.processLocal !== true && store.renewLeases !== undefined) {
    const every = context.leaseTtlMillis / 4
    yield* Effect.forkIn(
      Effect.forever(Effect.sleep(every).pipe(
        Effect.andThen(Clock.currentTimeMillis),
        Effect.flatMap((now) => Lease.renewHeld(context, registry, now, now + every)),
        Effect.catchCause((cause) => Effect.logWarning("outdial: could not renew this process's leases", cause))
      )),
      scope
    )
  }

  // A change to a batch another process holds is that process's to act on; when
  // the holder lets the batch go, it wakes it itself or a rescan finds it.
  const wakeOnChange = (batchId: string): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (!registry.runners.has(batchId) && (context.heldElsewhere.get(batchId) ?? 0) > now) return Effect.void
      context.heldElsewhere.delete(batchId)
      return wake(batchId)
    })

  // Lifecycle changes other processes made (pause, cancel, a new batch) wake runners at once.
  const changes = store.changes
  if (changes !== undefined) {
    yield* Effect.forkIn(
      Stream.runForEach(changes, wakeOnChange).pipe(
        Effect.catchCause((cause) => Effect.logWarning("outdial: lost the store's change feed; listening again", cause)),
        Effect.andThen(Effect.sleep(1_000)),
        Effect.forever
      ),
      scope
    )
  }

  const settled: Effect.Effect<void> = Effect.suspend(() =>
    registry.busy <= 0 ? Effect.void : Effect.andThen(Effect.yieldNow, settled)
  )

  return Dispatcher.of({
    wake,
    active: Effect.sync(() => [...registry.runners.keys()]),
    settled
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  Dispatcher,
  never,
  BatchStore | Telephony | Directory | Credits | EngineEvents
> = Layer.effect(Dispatcher)(make)
