/** Writing a call's end: on a shared store, with the other ends of its tick (`record`). */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as BatchStore from "../../BatchStore.ts"
import type { AttemptEnd, Begun, Lease, LeaseLost } from "../../BatchStore.ts"
import type { StoreError } from "../../OutdialError.ts"
import type { DispatchContext, Runner } from "./context.ts"

/** Ends waiting to be written together, per runner. */
const pendingEnds = new WeakMap<Runner, Array<PendingEnd>>()
interface PendingEnd {
  readonly lease: Lease
  readonly end: AttemptEnd
  readonly done: Deferred.Deferred<Begun, LeaseLost | StoreError>
}
/** Ends per batched write at most. */
const maxEndsPerWrite = 100

/**
 * Records an attempt's end. Calls end one by one, but on a shared store each
 * write is a round trip and a commit: ends of the same tick are gathered and
 * written with one `finishAttempts` (up to `maxEndsPerWrite`), each caller
 * answered with its own result or the write's error. A process-local store
 * has no round trips to save and writes at once.
 */
export const record = (context: DispatchContext, runner: Runner, lease: Lease, end: AttemptEnd) =>
  context.store.processLocal === true ? context.store.finishAttempt(lease, end) : Effect.suspend(() => {
    const done = Deferred.makeUnsafe<Begun, LeaseLost | StoreError>()
    let queue = pendingEnds.get(runner)
    if (queue === undefined || queue.length >= maxEndsPerWrite) {
      const fresh: Array<PendingEnd> = [{ lease, end, done }]
      pendingEnds.set(runner, fresh)
      // Written on the next tick, once the ends of this one have joined.
      const write = Effect.yieldNow.pipe(
        Effect.andThen(Effect.suspend(() => {
          if (pendingEnds.get(runner) === fresh) pendingEnds.delete(runner)
          return writeEnds(context, fresh)
        }))
      )
      return Effect.forkIn(write, context.scope).pipe(Effect.andThen(Deferred.await(done)))
    }
    queue.push({ lease, end, done })
    return Deferred.await(done)
  })

/** One write per lease epoch among `queue` (a renewal keeps the epoch, a retake changes it). */
const writeEnds = (context: DispatchContext, queue: ReadonlyArray<PendingEnd>) => {
  const byEpoch = new Map<number, Array<PendingEnd>>()
  for (const pending of queue) {
    const group = byEpoch.get(pending.lease.epoch)
    if (group === undefined) byEpoch.set(pending.lease.epoch, [pending])
    else group.push(pending)
  }
  return Effect.forEach(byEpoch.values(), (group) =>
    BatchStore.finishAttempts(context.store, group[0]!.lease, group.map((p) => p.end)).pipe(
      Effect.exit,
      Effect.flatMap((exit) =>
        Effect.sync(() => {
          group.forEach((pending, i) =>
            Deferred.doneUnsafe(pending.done, Exit.isSuccess(exit) ? Exit.succeed(exit.value[i]!) : Exit.failCause(exit.cause))
          )
        })
      )
    ), { discard: true, concurrency: "unbounded" })
}

