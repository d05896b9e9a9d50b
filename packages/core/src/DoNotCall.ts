/**
 * The do-not-call port: per organization, the numbers (E.164) that must not
 * be dialed, each with where it came from (`manual`, `import`, `opt_out`, a
 * host's own source) and an optional expiry. The dispatcher asks it once per
 * dispatch step for all the numbers it is about to dial (`matching`), so a
 * list of millions costs one lookup per step, not one per contact.
 *
 * `layerMemory` keeps the lists in a `Map` per organization; the PostgreSQL
 * adapter keeps them in a table (`PgDoNotCall`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Eligibility from "./Eligibility.ts"
import * as NumberList from "./internal/numberList.ts"
import type { StoreError } from "./OutdialError.ts"

/**
 * Where an entry came from. `opt_out` is written by the engine when a callee
 * asks, during a call, not to be called again.
 *
 * @since 0.1.0
 * @category models
 */
export const Source = Schema.String.check(Schema.isPattern(/^[a-z][a-z0-9_]{0,39}$/))

/**
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  /** E.164. */
  readonly number: string
  readonly source: string
  /** After this instant the number may be called again; never when `null`. */
  readonly expiresAt: DateTime.Utc | null
  readonly createdAt: DateTime.Utc
}

/**
 * A page of an organization's list in number order; `next` is the cursor of
 * the following page (the last number of this one), `null` at the end.
 *
 * @since 0.1.0
 * @category models
 */
export interface EntryPage {
  readonly items: ReadonlyArray<Entry>
  readonly next: string | null
}

/**
 * @since 0.1.0
 * @category services
 */
export class DoNotCall extends Context.Service<DoNotCall, {
  /**
   * Adds the entries, or replaces those already listed (the newest source
   * and expiry win); returns how many were written. Numbers must be E.164
   * already (the API validates them).
   */
  readonly add: (organizationId: string, entries: ReadonlyArray<Entry>) => Effect.Effect<number, StoreError>
  /** Whether the number was listed. */
  readonly remove: (organizationId: string, number: string) => Effect.Effect<boolean, StoreError>
  /** The entry in force at `now`, if any (an expired entry is none). */
  readonly find: (organizationId: string, number: string, now: DateTime.Utc) => Effect.Effect<Entry | undefined, StoreError>
  /**
   * Whether `number` is listed and in force at `at` (epoch millis), answered
   * in place: only a list in this process has it (`layerMemory`), and the
   * dispatcher then asks it without an effect per step.
   */
  readonly listedNow?: ((organizationId: string, number: string, at: number) => boolean) | undefined
  /** Those of `numbers` listed and in force at `now`: one lookup for a whole dispatch step. */
  readonly matching: (
    organizationId: string,
    numbers: ReadonlyArray<string>,
    now: DateTime.Utc
  ) => Effect.Effect<ReadonlySet<string>, StoreError>
  /** Entries in force at `now`, in number order, after the number `after`. */
  readonly list: (
    organizationId: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly now: DateTime.Utc }
  ) => Effect.Effect<EntryPage, StoreError>
}>()("@outdial/core/DoNotCall") {}

/**
 * Lists in memory, one per organization (`internal/numberList.ts`): a
 * step's lookup is a hash or binary search per number, and a million
 * numbers weigh a few typed arrays, not a million objects.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): DoNotCall["Service"] => {
  const lists = new Map<string, NumberList.NumberList>()
  const listOf = (organizationId: string) => {
    let list = lists.get(organizationId)
    if (list === undefined) lists.set(organizationId, list = NumberList.make())
    return list
  }
  const listedNow = (organizationId: string, number: string, at: number) =>
    lists.get(organizationId)?.get(number, at) !== undefined
  return DoNotCall.of({
    add: (organizationId, entries) =>
      Effect.sync(() => {
        const list = listOf(organizationId)
        for (const entry of entries) list.set(entry)
        return entries.length
      }),
    remove: (organizationId, number) => Effect.sync(() => lists.get(organizationId)?.remove(number) ?? false),
    find: (organizationId, number, now) =>
      Effect.sync(() => lists.get(organizationId)?.get(number, DateTime.toEpochMillis(now))),
    listedNow,
    matching: (organizationId, numbers, now) =>
      Effect.sync(() => {
        const at = DateTime.toEpochMillis(now)
        return new Set(numbers.filter((number) => listedNow(organizationId, number, at)))
      }),
    list: (organizationId, { after, limit, now }) =>
      Effect.sync(() => {
        const list = lists.get(organizationId)
        if (list === undefined) return { items: [], next: null }
        const sorted = list.sorted(DateTime.toEpochMillis(now))
        const from = after === undefined ? 0 : upperBound(sorted, after)
        const items = sorted.slice(from, from + limit)
        return { items, next: from + limit < sorted.length ? items[items.length - 1]!.number : null }
      })
  })
}

/** The first index whose number sorts after `key`. */
const upperBound = (sorted: ReadonlyArray<Entry>, key: string): number => {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (sorted[mid]!.number <= key) low = mid + 1
    else high = mid
  }
  return low
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (): Layer.Layer<DoNotCall> => Layer.sync(DoNotCall)(makeMemory)

// Engines built without a `DoNotCall` over the same store share one list in
// memory, as they share the store: a list per store, not per engine.
const fallbacks = new WeakMap<object, DoNotCall["Service"]>()

/**
 * The `DoNotCall` in context, or else an in-memory list shared by everything
 * built over `store` (the same object): a host that gives no list still gets
 * opt-outs honoured and the API working, for as long as the process lives.
 *
 * @since 0.1.0
 * @category constructors
 */
export const orMemoryFor = (store: object): Effect.Effect<DoNotCall["Service"]> =>
  Effect.map(Effect.serviceOption(DoNotCall), (found) => {
    if (found._tag === "Some") return found.value
    let list = fallbacks.get(store)
    if (list === undefined) {
      list = makeMemory()
      fallbacks.set(store, list)
    }
    return list
  })

/** How long a step waits when the list cannot be read: never dial a number unchecked. */
const unavailableRetryMillis = 30_000

/**
 * The eligibility link: a listed number is skipped (policy `do_not_call`),
 * checked for a whole dispatch step with one `matching`. A list that cannot
 * be read defers the step's contacts rather than dial them unchecked.
 *
 * @since 0.1.0
 * @category policies
 */
export const policy = (list: DoNotCall["Service"]): Eligibility.Policy => {
  const listedNow = list.listedNow
  return {
    name: "do_not_call",
    // Data-first, not a pipe: asked on every dispatch step. A list in this process answers
    // in place, its verdicts an effect already done (see `Eligibility.decideContacts`).
    forContacts: (view, contacts) =>
      listedNow !== undefined
        ? Effect.succeed(contacts.map((contact) =>
          listedNow(view.batch.organizationId, contact.phone, view.now) ? listedVerdict : Eligibility.dial
        ))
        : Effect.catchCause(
          Effect.map(
            list.matching(view.batch.organizationId, contacts.map((contact) => contact.phone), DateTime.makeUnsafe(view.now)),
            (listed) => contacts.map((contact) => listed.has(contact.phone) ? listedVerdict : Eligibility.dial)
          ),
          (cause) =>
            Effect.as(
              Effect.logWarning("outdial: could not read the do-not-call list; deferring", cause),
              contacts.map(() => Eligibility.defer(view.now + unavailableRetryMillis, "do-not-call list unavailable; checking again"))
            )
        )
  }
}

const listedVerdict = Eligibility.skip("do_not_call: the number is on the organization's do-not-call list")
