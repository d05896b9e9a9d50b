/**
 * The reference telephony provider: calls that ring, talk and end on
 * Effect's `Clock`, with outcomes drawn from a seeded distribution. Tests
 * drive it with `TestClock` (a week of calling in milliseconds), the demo
 * runs it live, and benches use its instant mode.
 *
 * Everything about a call (outcome, ring and talk time, an injected
 * refusal) is drawn from the seed and the attempt id alone, never from the
 * order of dials, so a run is reproducible however its calls interleave.
 *
 * Longer than ~400 lines because the provider, its seeded plan of each call
 * and its recording of calls for tests are one fake of one port.
 * Calls run in fibers owned by the layer, not by the dialer: a dialer that
 * dies (a process crash in a test) leaves its call going, and `lookup`
 * reports it later, as a real provider would. The attempt id is the
 * idempotency key: dialing a known id places no second call.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as CallOutcome from "./CallOutcome.ts"
import { Heap } from "./internal/heap.ts"
import { type AttemptStatus, type CallResult, type DialRequest, Telephony, TelephonyError } from "./Telephony.ts"

/**
 * A number of seconds, or a range drawn from uniformly in whole-second steps.
 *
 * @since 0.1.0
 * @category models
 */
export type Seconds = number | { readonly min: number; readonly max: number }

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Seed of every draw. Same seed and attempt id, same call. */
  readonly seed?: number
  /** Relative weights of outcomes; they need not sum to 1. Missing outcomes never occur. */
  readonly outcomes?: Partial<Record<CallOutcome.CallOutcome, number>>
  /**
   * Fixed outcomes by E.164 number, winning over `outcomes`. A list gives the
   * outcome of each attempt number (the first for attempt 1), the last
   * repeating: `["busy", "busy", "completed"]`.
   */
  readonly byNumber?: Readonly<Record<string, CallOutcome.CallOutcome | ReadonlyArray<CallOutcome.CallOutcome>>>
  /** Ringing before an answer; unanswered calls (`no_answer`, `timeout`) ring for the maximum. */
  readonly ringSeconds?: Seconds
  /** Conversation of a completed call: its `duration`. */
  readonly talkSeconds?: Seconds
  /** Time to a network rejection (`busy`, `blocked`, `invalid_number`, `carrier_error`, `failed`). */
  readonly rejectSeconds?: Seconds
  /** Calls end the moment they are placed, without sleeping: for benches. */
  readonly instant?: boolean
  /** Probability that a dial is refused with a `TelephonyError` (provider unreachable); no call is placed. */
  readonly failureRate?: number
  /** Refuses the dials it returns true for, with a `TelephonyError`; no call is placed. */
  readonly failWhen?: (request: DialRequest) => boolean
  /** Fails the lookups it returns true for, with a `TelephonyError`. */
  readonly lookupFailWhen?: (attemptId: string) => boolean
  /** Answered calls to these numbers end with the callee opting out (`optOut: true`). */
  readonly optOutNumbers?: ReadonlyArray<string>
  /** Keeps every call for `calls` (default true). Benches turn it off; counters are always kept. */
  readonly record?: boolean
}

/**
 * A realistic mix for outbound calling to consumer numbers.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultOutcomes: { readonly [O in CallOutcome.CallOutcome]: number } = {
  completed: 0.6,
  no_answer: 0.25,
  busy: 0.08,
  timeout: 0.02,
  blocked: 0.005,
  invalid_number: 0.005,
  carrier_error: 0.02,
  failed: 0.02
}

/**
 * @since 0.1.0
 * @category models
 */
export const defaults = {
  seed: 20_240_601,
  ringSeconds: { min: 3, max: 25 },
  talkSeconds: { min: 20, max: 180 },
  rejectSeconds: { min: 1, max: 5 }
} as const

/**
 * One call the simulator placed. Instants are epoch milliseconds of the
 * `Clock` of the fiber that dialed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Call {
  readonly request: DialRequest
  readonly startedAt: number
  readonly endedAt: number | null
  readonly result: CallResult | null
}

/**
 * Counters since the layer was built or last `reset`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  /** Calls placed (distinct attempt ids). */
  readonly placed: number
  readonly finished: number
  readonly inFlight: number
  readonly maxInFlight: number
  /** Dials of an attempt id already known, answered without a second call. */
  readonly duplicateDials: number
  /** Dials refused with a `TelephonyError` (failure injection or `setUnreachable`). */
  readonly refusedDials: number
  /** Finished calls by outcome. */
  readonly outcomes: { readonly [O in CallOutcome.CallOutcome]: number }
}

/**
 * The inspection handle of the simulated provider, provided next to
 * `Telephony` by `layer`.
 *
 * @since 0.1.0
 * @category services
 */
export class SimulatedTelephony extends Context.Service<SimulatedTelephony, {
  /** Every call placed since the last `reset`, in dial order (empty when `record` is off). */
  readonly calls: Effect.Effect<ReadonlyArray<Call>>
  readonly stats: Effect.Effect<Stats>
  /** Calls going on now. */
  readonly inFlight: Effect.Effect<number>
  /** Most calls ever going on at once. */
  readonly maxInFlight: Effect.Effect<number>
  readonly inFlightOf: (batchId: string) => Effect.Effect<number>
  readonly maxInFlightOf: (batchId: string) => Effect.Effect<number>
  readonly duplicateDials: Effect.Effect<number>
  /**
   * Clears the recorded calls and counters (peaks restart from the calls
   * going on). The provider still knows every attempt: lookups and
   * idempotency are unaffected, and running calls go on.
   */
  readonly reset: Effect.Effect<void>
  /** While set, every dial and lookup fails with a `TelephonyError`: a provider outage. */
  readonly setUnreachable: (unreachable: boolean) => Effect.Effect<void>
}>()("@outdial/core/SimulatedTelephony") {}

/**
 * A call as the simulator would place it for a request, ignoring failure
 * injection: the result and how many seconds the call lasts.
 *
 * @since 0.1.0
 * @category models
 */
export interface Planned {
  readonly result: CallResult
  readonly seconds: number
}

/**
 * The call the simulator places for a request under these options: what
 * tests compare against.
 *
 * @since 0.1.0
 * @category constructors
 */
export const simulate = (request: DialRequest, options: Options = {}): Planned => {
  const config = compile(options)
  return plan(config, request, hashAttempt(config.seed, request.attemptId))
}

/**
 * Provides `Telephony` and its inspection handle `SimulatedTelephony`.
 * Invalid options (negative weights, a range with min above max, a failure
 * rate outside 0..1) are a defect when the layer is built.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Telephony | SimulatedTelephony> =>
  Layer.effectContext(Effect.gen(function*() {
    const scope = yield* Effect.scope
    const config = yield* Effect.sync(() => compile(options))
    const { handle, shutdown, telephony } = make(config, scope)
    yield* Scope.addFinalizer(scope, Effect.sync(shutdown))
    return Context.make(Telephony, telephony).pipe(Context.add(SimulatedTelephony, handle))
  }))

// -----------------------------------------------------------------------------
// internal
// -----------------------------------------------------------------------------

interface Range {
  readonly min: number
  readonly max: number
}

interface Config {
  readonly seed: number
  /** Outcomes with a positive weight, and their cumulative normalised weights. */
  readonly drawn: ReadonlyArray<CallOutcome.CallOutcome>
  readonly thresholds: ReadonlyArray<number>
  readonly byNumber: ReadonlyMap<string, ReadonlyArray<CallOutcome.CallOutcome>>
  readonly ring: Range
  readonly talk: Range
  readonly reject: Range
  readonly instant: boolean
  readonly failureRate: number
  readonly failWhen: ((request: DialRequest) => boolean) | undefined
  readonly lookupFailWhen: ((attemptId: string) => boolean) | undefined
  readonly optOutNumbers: ReadonlySet<string>
  readonly record: boolean
}

const sipCodes: { readonly [O in CallOutcome.CallOutcome]: number | null } = {
  completed: null,
  no_answer: 480,
  busy: 486,
  timeout: 408,
  blocked: 603,
  invalid_number: 404,
  carrier_error: 503,
  failed: 500
}

const failureReasons: { readonly [O in CallOutcome.CallOutcome]: string | null } = {
  completed: null,
  no_answer: "No answer",
  busy: "Line busy",
  timeout: "The call timed out",
  blocked: "The call was declined by the network or the callee",
  invalid_number: "The number does not exist",
  carrier_error: "The carrier is unavailable",
  failed: "The call failed"
}

const outcomeIndex = new Map(CallOutcome.all.map((outcome, i) => [outcome, i]))

/** Draw numbers of one attempt's stream; refusals use `refusalDraw + n` for the n-th refused try. */
const outcomeDraw = 0
const ringDraw = 1
const talkDraw = 2
const rejectDraw = 3
const refusalDraw = 4

const invalid = (message: string): never => {
  throw new Error(`SimulatedTelephony: ${message}`)
}

const toRange = (name: string, seconds: Seconds): Range => {
  const range = typeof seconds === "number" ? { min: seconds, max: seconds } : seconds
  if (!(Number.isFinite(range.min) && Number.isFinite(range.max) && range.min >= 0 && range.min <= range.max)) {
    invalid(`${name} must be finite, at least 0, with min <= max`)
  }
  return { min: range.min, max: range.max }
}

const compile = (options: Options): Config => {
  const weights = options.outcomes ?? defaultOutcomes
  const drawn: Array<CallOutcome.CallOutcome> = []
  const cumulative: Array<number> = []
  let total = 0
  for (const outcome of CallOutcome.all) {
    const weight = weights[outcome] ?? 0
    if (!(Number.isFinite(weight) && weight >= 0)) invalid(`the weight of ${outcome} must be a finite number >= 0`)
    if (weight > 0) {
      total += weight
      drawn.push(outcome)
      cumulative.push(total)
    }
  }
  if (total === 0) invalid("at least one outcome needs a positive weight")
  for (const key of Object.keys(weights)) {
    if (!outcomeIndex.has(key as CallOutcome.CallOutcome)) invalid(`unknown outcome ${key}`)
  }
  const byNumber = new Map<string, ReadonlyArray<CallOutcome.CallOutcome>>()
  for (const [number, outcomes] of Object.entries(options.byNumber ?? {})) {
    const sequence = typeof outcomes === "string" ? [outcomes] : outcomes
    if (sequence.length === 0) invalid(`byNumber[${number}] needs at least one outcome`)
    for (const outcome of sequence) {
      if (!outcomeIndex.has(outcome)) invalid(`unknown outcome ${outcome} for ${number}`)
    }
    byNumber.set(number, sequence)
  }
  const failureRate = options.failureRate ?? 0
  if (!(failureRate >= 0 && failureRate <= 1)) invalid("failureRate must be between 0 and 1")
  return {
    seed: options.seed ?? defaults.seed,
    drawn,
    thresholds: cumulative.map((c) => c / total),
    byNumber,
    ring: toRange("ringSeconds", options.ringSeconds ?? defaults.ringSeconds),
    talk: toRange("talkSeconds", options.talkSeconds ?? defaults.talkSeconds),
    reject: toRange("rejectSeconds", options.rejectSeconds ?? defaults.rejectSeconds),
    instant: options.instant ?? false,
    failureRate,
    failWhen: options.failWhen,
    lookupFailWhen: options.lookupFailWhen,
    optOutNumbers: new Set(options.optOutNumbers ?? []),
    record: options.record ?? true
  }
}

/** The murmur3 finaliser: spreads every input bit over the output. */
const mix32 = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** FNV-1a of the attempt id, keyed by the seed: the root of every draw for that attempt. */
const hashAttempt = (seed: number, attemptId: string): number => {
  let h = (0x811c9dc5 ^ mix32((Math.floor(seed) >>> 0) ^ 0x9e3779b9)) >>> 0
  for (let i = 0; i < attemptId.length; i++) {
    h = Math.imul(h ^ attemptId.charCodeAt(i), 0x01000193)
  }
  return mix32(h)
}

/** Draw `n` in [0, 1) of an attempt's stream: mulberry32 at position `n`, so draws need no state. */
const unit = (hash: number, n: number): number => {
  const a = (hash + Math.imul(n + 1, 0x6d2b79f5)) | 0
  let t = Math.imul(a ^ (a >>> 15), a | 1)
  t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const secondsIn = (range: Range, u: number): number =>
  Math.min(range.max, range.min + Math.floor(u * (range.max - range.min + 1)))

const outcomeOf = (config: Config, request: DialRequest, hash: number): CallOutcome.CallOutcome => {
  if (config.byNumber.size > 0) {
    const sequence = config.byNumber.get(request.to)
    if (sequence !== undefined) return sequence[Math.max(0, Math.min(request.attemptNumber, sequence.length) - 1)]!
  }
  const u = unit(hash, outcomeDraw)
  const last = config.drawn.length - 1
  let i = 0
  while (i < last && u >= config.thresholds[i]!) i++
  return config.drawn[i]!
}

const plan = (config: Config, request: DialRequest, hash: number): Planned => {
  const outcome = outcomeOf(config, request, hash)
  let seconds: number
  let duration: number | null = null
  switch (outcome) {
    case "completed":
      duration = secondsIn(config.talk, unit(hash, talkDraw))
      seconds = secondsIn(config.ring, unit(hash, ringDraw)) + duration
      break
    case "no_answer":
    case "timeout":
      seconds = config.ring.max
      break
    default:
      seconds = secondsIn(config.reject, unit(hash, rejectDraw))
  }
  const result: CallResult = {
    outcome,
    sipCode: sipCodes[outcome],
    duration,
    roomName: `outdial-${request.attemptId}`,
    failureReason: failureReasons[outcome]
  }
  // A spread only for the rare opt-out: a conditional spread in every result cost each call a slow copy.
  return { result: outcome === "completed" && config.optOutNumbers.has(request.to) ? { ...result, optOut: true } : result, seconds }
}

/** A timed call going on, until `due`. */
interface Ringing {
  readonly due: number
  readonly seq: number
  readonly entry: Entry
  readonly result: CallResult
}

/** Calls of one batch going on now, and their peak. */
interface Load {
  inFlight: number
  max: number
}

/** What the provider keeps of an attempt. */
interface Entry {
  /** Kept only when recording, so a bench holds no requests. */
  readonly request: DialRequest | undefined
  readonly startedAt: number
  readonly load: Load
  endedAt: number | null
  result: CallResult | undefined
  /**
   * Who waits for a timed call's end: its dialer, and any duplicate dial.
   * Resumed directly, not through a Deferred each: one per call of a
   * simulated week. Dropped once the call ends (a duplicate reads `result`).
   */
  waiters: Array<(end: Effect.Effect<CallResult>) => void> | undefined
}

const notFound: AttemptStatus = { _tag: "NotFound" }
const inProgress: AttemptStatus = { _tag: "InProgress" }

const make = (config: Config, scope: Scope.Scope) => {
  const attempts = new Map<string, Entry>()
  const refusals = new Map<string, number>()
  const loads = new Map<string, Load>()
  const total: Load = { inFlight: 0, max: 0 }
  let recorded: Array<Entry> = []
  let placed = 0
  let finished = 0
  let duplicateDials = 0
  let refusedDials = 0
  let outcomeCounts = CallOutcome.all.map(() => 0)
  let unreachable = false

  const refuse = (message: string) => {
    refusedDials++
    return Effect.fail(new TelephonyError({ message }))
  }

  const start = (request: DialRequest, now: number): Entry => {
    let load = loads.get(request.batchId)
    if (load === undefined) {
      load = { inFlight: 0, max: 0 }
      loads.set(request.batchId, load)
    }
    if (++load.inFlight > load.max) load.max = load.inFlight
    if (++total.inFlight > total.max) total.max = total.inFlight
    placed++
    const entry: Entry = {
      request: config.record ? request : undefined,
      startedAt: now,
      load,
      endedAt: null,
      result: undefined,
      waiters: undefined
    }
    attempts.set(request.attemptId, entry)
    if (config.record) recorded.push(entry)
    return entry
  }

  const end = (entry: Entry, result: CallResult, now: number) => {
    entry.load.inFlight--
    total.inFlight--
    finished++
    outcomeCounts[outcomeIndex.get(result.outcome)!]!++
    entry.endedAt = now
    entry.result = result
    const waiters = entry.waiters
    entry.waiters = undefined
    if (waiters !== undefined) {
      const ended = Effect.succeed(result)
      for (const resume of waiters) resume(ended)
    }
  }

  // No clean-up on interruption: an interrupted waiter ignores its resumption, and the
  // call's end drops the list.
  const awaitEnd = (entry: Entry): Effect.Effect<CallResult> =>
    Effect.callback<CallResult>((resume) => {
      if (entry.result !== undefined) return resume(Effect.succeed(entry.result))
      if (entry.waiters === undefined) entry.waiters = [resume]
      else entry.waiters.push(resume)
    })

  const dial = (request: DialRequest): Effect.Effect<CallResult, TelephonyError> =>
    Clock.clockWith((clock) => {
      const known = attempts.get(request.attemptId)
      if (known !== undefined) {
        duplicateDials++
        return known.result !== undefined ? Effect.succeed(known.result) : awaitEnd(known)
      }
      if (unreachable) return refuse("Simulated provider unreachable")
      if (config.failWhen !== undefined && config.failWhen(request)) return refuse("Simulated provider refused the dial")
      const hash = hashAttempt(config.seed, request.attemptId)
      if (config.failureRate > 0) {
        const tries = refusals.get(request.attemptId) ?? 0
        if (unit(hash, refusalDraw + tries) < config.failureRate) {
          refusals.set(request.attemptId, tries + 1)
          return refuse("Simulated provider unreachable")
        }
      }
      const { result, seconds } = plan(config, request, hash)
      const now = clock.currentTimeMillisUnsafe()
      if (config.instant) {
        end(start(request, now), result, now)
        return Effect.succeed(result)
      }
      const entry = start(request, now)
      const due = now + seconds * 1000
      ringing.push({ due, seq: sequence++, entry, result })
      // The call belongs to the layer (its timer, not the dialer's fiber): interrupting the dialer only stops its wait.
      return timer.fiber !== undefined && timer.at <= due ? awaitEnd(entry) : Effect.andThen(arm(now), awaitEnd(entry))
    })

  // Calls end by one timer for all of them, not a fiber and a sleep each: in a
  // simulated week most of the engine's cost was one TestClock wake-up per call.
  // Calls due at the same instant end together, in the order they were placed.
  const ringing = new Heap<Ringing>((a, b) => a.due < b.due || (a.due === b.due && a.seq < b.seq))
  let sequence = 0
  const timer: { fiber: Fiber.Fiber<void> | undefined; at: number } = { fiber: undefined, at: Infinity }

  const endDue: Effect.Effect<void> = Clock.clockWith((clock) => {
    const now = clock.currentTimeMillisUnsafe()
    for (let next = ringing.peek(); next !== undefined && next.due <= now; next = ringing.peek()) {
      ringing.pop()
      end(next.entry, next.result, now)
    }
    const next = ringing.peek()
    if (next === undefined) {
      timer.fiber = undefined
      timer.at = Infinity
      return Effect.void
    }
    timer.at = next.due
    // The clock at hand slept on directly: `Effect.sleep` would look it up again on every wake-up.
    return Effect.andThen(clock.sleep(Duration.millis(next.due - now)), endDue)
  })

  /** Makes sure the timer wakes by the earliest call's end. */
  const arm = (now: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const next = ringing.peek()!
      if (timer.fiber !== undefined && timer.at <= next.due) return Effect.void
      timer.fiber?.interruptUnsafe()
      timer.at = next.due
      return Effect.map(
        Effect.forkIn(Effect.andThen(Effect.sleep(next.due - now), endDue), scope, { startImmediately: true }),
        (fiber) => {
          // A timer that ended at once (calls of 0 seconds, nothing left) has already cleared itself.
          if (fiber.pollUnsafe() === undefined) timer.fiber = fiber
        }
      )
    })

  /** When the layer ends, calls still ringing end for their waiters as interrupted, so none hangs. */
  const shutdown = () => {
    for (let next = ringing.pop(); next !== undefined; next = ringing.pop()) {
      const waiters = next.entry.waiters
      next.entry.waiters = undefined
      if (waiters !== undefined) for (const resume of waiters) resume(Effect.interrupt)
    }
  }

  const lookup = (attemptId: string): Effect.Effect<AttemptStatus, TelephonyError> =>
    Effect.suspend((): Effect.Effect<AttemptStatus, TelephonyError> => {
      if (unreachable || (config.lookupFailWhen !== undefined && config.lookupFailWhen(attemptId))) {
        return Effect.fail(new TelephonyError({ message: "Simulated provider unreachable" }))
      }
      const entry = attempts.get(attemptId)
      if (entry === undefined) return Effect.succeed(notFound)
      return Effect.succeed(entry.result === undefined ? inProgress : { _tag: "Finished", result: entry.result })
    })

  const stats = (): Stats => ({
    placed,
    finished,
    inFlight: total.inFlight,
    maxInFlight: total.max,
    duplicateDials,
    refusedDials,
    outcomes: Object.fromEntries(CallOutcome.all.map((o, i) => [o, outcomeCounts[i]!])) as Stats["outcomes"]
  })

  const handle: SimulatedTelephony["Service"] = {
    calls: Effect.sync(() =>
      recorded.map((entry): Call => ({
        request: entry.request!,
        startedAt: entry.startedAt,
        endedAt: entry.endedAt,
        result: entry.result ?? null
      }))
    ),
    stats: Effect.sync(stats),
    inFlight: Effect.sync(() => total.inFlight),
    maxInFlight: Effect.sync(() => total.max),
    inFlightOf: (batchId) => Effect.sync(() => loads.get(batchId)?.inFlight ?? 0),
    maxInFlightOf: (batchId) => Effect.sync(() => loads.get(batchId)?.max ?? 0),
    duplicateDials: Effect.sync(() => duplicateDials),
    reset: Effect.sync(() => {
      recorded = []
      placed = 0
      finished = 0
      duplicateDials = 0
      refusedDials = 0
      outcomeCounts = CallOutcome.all.map(() => 0)
      total.max = total.inFlight
      for (const load of loads.values()) load.max = load.inFlight
    }),
    setUnreachable: (value) =>
      Effect.sync(() => {
        unreachable = value
      })
  }

  return { handle, shutdown, telephony: { dial, lookup } satisfies Telephony["Service"] }
}
