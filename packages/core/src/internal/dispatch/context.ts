/**
 * What every part of the dispatcher shares: its ports, its settings, and the
 * runner — one batch's dialer — with its state split by concern, so each
 * part touches only the fields it owns.
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type { Attempt } from "../../Attempt.ts"
import type { Batch, BatchStatus } from "../../Batch.ts"
import type { BatchStore, Lease } from "../../BatchStore.ts"
import type * as CallingWindow from "../../CallingWindow.ts"
import type { Contact } from "../../Contact.ts"
import type { Credits } from "../../Credits.ts"
import type { Directory } from "../../Directory.ts"
import type { DoNotCall } from "../../DoNotCall.ts"
import type * as Eligibility from "../../Eligibility.ts"
import type { EngineConfig } from "../../EngineConfig.ts"
import type { EngineEvents } from "../../EngineEvents.ts"
import type { CallResult, Telephony } from "../../Telephony.ts"

/** The runners of this process, and how many are not waiting for a signal or timer. */
export interface Registry {
  readonly runners: Map<string, Runner>
  busy: number
  /**
   * Runners whose first pass (up to their first dials, or whatever ends it)
   * has not ended. They go first: runners already dialing hold their next
   * pass back meanwhile (runner.ts), so a thousand batches starting at once
   * each dial within seconds instead of queueing behind the refills of the
   * batches that started first.
   */
  readonly starting: Set<Runner>
  /** Runners holding a pass back for the starters, woken when the last starter is through. */
  readonly yielding: Set<Runner>
}

export interface DispatchContext {
  readonly store: BatchStore["Service"]
  readonly telephony: Telephony["Service"]
  readonly directory: Directory["Service"]
  readonly credits: Credits["Service"]
  readonly events: EngineEvents["Service"]
  /** Where an in-call opt-out is written. */
  readonly doNotCall: DoNotCall["Service"]
  readonly config: EngineConfig
  /** Where runners, calls and timers fork: they end with the dispatcher. */
  readonly scope: Scope.Scope
  readonly policies: ReadonlyArray<Eligibility.Policy>
  readonly leaseTtlMillis: number
  /**
   * Batches whose lease another process held when this one last tried, and
   * until when to believe it: their lifecycle changes concern the holder, so
   * a wake here would only read the batch and fail to take the lease again.
   */
  readonly heldElsewhere: Map<string, number>
  readonly watch: Watch
  readonly calls: LiveCalls
}

/**
 * The calls' fibers still running, interrupted when the dispatcher closes
 * (by one finalizer for them all): a set the call leaves as its fiber ends,
 * rather than a finalizer of its own in the dispatcher's scope for each
 * call, which cost two closures and three look-ups of the scope's map.
 */
export interface LiveCalls {
  readonly fibers: Set<Fiber.Fiber<unknown, unknown>>
  /** The dispatcher has closed: a call forked now is interrupted at once. */
  closed: boolean
}

/**
 * The calls in flight under the watchdog (watchdog.ts), oldest first: all
 * share one limit, so the order they started in is the order they fall due,
 * and one timer over the oldest serves them all. A list through the calls
 * themselves, not a map: a call joins and leaves it in constant time and
 * no allocation (a map of calls coming and going rebuilt its table often).
 */
export interface Watch {
  first: Watched | undefined
  last: Watched | undefined
  timer: Fiber.Fiber<unknown, unknown> | undefined
}

export interface Watched {
  readonly attemptId: string
  readonly due: number
  /** The call's fiber (set once forked), interrupted when the watchdog answers first. */
  fiber: Fiber.Fiber<unknown, unknown> | undefined
  /** Records the end the watchdog found, in the watchdog's fiber. */
  readonly onEnd: (result: CallResult) => Effect.Effect<void>
  /**
   * Whichever answered first, the call or the watchdog: the end is recorded
   * once. When it is the watchdog, the call's fiber ends interrupted and the
   * slot is the watchdog's to free.
   */
  answeredBy: "call" | "watchdog" | undefined
  /** The watchdog's questions to the provider, once due; interrupted when the call answers first. */
  resolver: Fiber.Fiber<void> | undefined
  /** Its neighbours in `Watch` while it is listed there. */
  listed: boolean
  previous: Watched | undefined
  next: Watched | undefined
}

/** What a runner needs to place calls, settled when it takes the lease (lease.ts). */
export interface Dialing {
  readonly lease: Lease
  readonly schedule: CallingWindow.Compiled
  readonly pickNumber: (row: number) => string
  readonly numbers: ReadonlyMap<string, string | null>
  readonly policies: ReadonlyArray<Eligibility.Policy>
  readonly dialReason: string
  readonly contactPolicies: boolean
}

/** How fast the batch goes, and against which daily count (pacing.ts; calls.ts adds talk time). */
export interface Pace {
  localDate: string
  callsToday: number
  lastDeferral: string
  nextEstimateAt: number
  talkSeconds: number
  talkSamples: number
}

/**
 * The runner's wake-up (alarm.ts): a signal and at most one timer that sets
 * it. The signal is set by a wake, a call's end or the timer, and cleared as
 * a pass begins; a resting runner waits for it as `waiter`.
 */
export interface Alarm {
  open: boolean
  waiter: ((resumed: Effect.Effect<"continue">) => void) | undefined
  fiber: Fiber.Fiber<unknown, unknown> | undefined
  at: number
}

/** One batch's dialer, shared with its call fibers. */
/**
 * Failures to record a call's outcome, in a row: the store gets a rest until
 * `backoffUntil`, and past `maxRecordFailures` the batch fails with `last`.
 */
export interface Recording {
  failures: number
  last: string
  backoffUntil: number
}

export interface Runner {
  readonly batchId: string
  readonly alarm: Alarm
  readonly pace: Pace
  readonly recording: Recording
  /** The batch as last read or written. */
  batch: Batch | undefined
  /** Set while this process holds the lease; cleared to take it anew (and reconcile). */
  dialing: Dialing | undefined
  inFlight: number
  /** A resting runner's wake-up after a call's end is scheduled (alarm.ts): the other ends of the tick join it. */
  wakeScheduled: boolean
  /** Since when this runner holds its pass back for starters (0: it does not). */
  yieldingSince: number
}

let lastMillis = Number.NaN
let lastUtc: DateTime.Utc = DateTime.makeUnsafe(0)

/**
 * The instant `millis` as a `DateTime`, shared while the instant stays the
 * same: a step stamps one instant on many dials, records and events.
 */
export const utcAt = (millis: number): DateTime.Utc => {
  if (millis !== lastMillis) {
    lastUtc = DateTime.makeUnsafe(millis)
    lastMillis = millis
  }
  return lastUtc
}

export const publishBatch = (context: DispatchContext, batch: Batch, at: number) =>
  context.events.publish({
    _tag: "BatchChanged",
    organizationId: batch.organizationId,
    batchId: batch.id,
    batch,
    at: utcAt(at)
  })

export const publishContact = (
  context: DispatchContext,
  runner: Runner,
  contact: Contact,
  attempt: Attempt | null,
  at: number
): Effect.Effect<void> =>
  context.events.heard?.() === false ? Effect.void : context.events.publish({
    _tag: "ContactChanged",
    organizationId: runner.batch!.organizationId,
    batchId: runner.batchId,
    contact,
    attempt,
    at: utcAt(at)
  })

/** Applies a lifecycle move; a concurrent move (another process, a user) just means look again. */
export const moveBatch = (
  context: DispatchContext,
  runner: Runner,
  expected: ReadonlyArray<BatchStatus>,
  action: string,
  patch: Parameters<BatchStore["Service"]["updateBatch"]>[3],
  at: number,
  options?: Parameters<BatchStore["Service"]["updateBatch"]>[4]
) =>
  context.store.updateBatch(runner.batchId, expected, action, { ...patch, updatedAt: DateTime.makeUnsafe(at) }, options).pipe(
    Effect.tap((batch) => {
      runner.batch = batch
      return publishBatch(context, batch, at)
    }),
    Effect.asVoid,
    Effect.catchTag("InvalidTransition", () => Effect.void)
  )
