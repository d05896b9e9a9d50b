/**
 * A state machine as data: a table of edges, each an action that moves an
 * entity from one of some states to one of some states, and one function that
 * applies it. Batch and contact lifecycles are both built from it.
 *
 * @internal
 */
import * as Result from "effect/Result"
import { InvalidTransition } from "../OutdialError.ts"

export interface Edge<S extends string, A extends string> {
  readonly action: A
  readonly from: ReadonlyArray<S>
  readonly to: ReadonlyArray<S>
}

export interface Machine<S extends string, A extends string> {
  readonly edges: ReadonlyArray<Edge<S, A>>
  /** The states `action` may lead to from `from`; empty when it is not allowed. */
  readonly targets: (from: S, action: A) => ReadonlyArray<S>
  /**
   * Applies `action` to an entity in `from`. `to` picks the target when the
   * action has several (e.g. a dial's outcome); it may be left out when there
   * is only one.
   */
  readonly transition: (from: S, action: A, to?: S) => Result.Result<S, InvalidTransition>
}

export const make = <S extends string, A extends string>(
  entity: "batch" | "contact",
  edges: ReadonlyArray<Edge<S, A>>
): Machine<S, A> => {
  // By state, then action: two look-ups and no key to build on every call's transitions.
  const index = new Map<string, Map<string, ReadonlyArray<S>>>()
  for (const edge of edges) {
    for (const from of edge.from) {
      let byAction = index.get(from)
      if (byAction === undefined) index.set(from, byAction = new Map())
      byAction.set(edge.action, [...(byAction.get(edge.action) ?? []), ...edge.to])
    }
  }
  const none: ReadonlyArray<S> = []
  const targets = (from: S, action: A): ReadonlyArray<S> => index.get(from)?.get(action) ?? none
  const transition = (from: S, action: A, to?: S): Result.Result<S, InvalidTransition> => {
    const allowed = targets(from, action)
    const target = to ?? (allowed.length === 1 ? allowed[0] : undefined)
    return target !== undefined && allowed.includes(target)
      ? Result.succeed(target)
      : Result.fail(new InvalidTransition(to === undefined ? { entity, action, from } : { entity, action, from, to }))
  }
  return { edges, targets, transition }
}
