/**
 * The engine in one call: a host hands over its ports and gets the `Engine`
 * with its `Dispatcher` running, plus every port it passed (so a store that
 * also provides a `SqlClient`, say, keeps providing it). `Engine.layerWith`
 * re-exports this.
 *
 * ```ts
 * const engine = Engine.layerWith({
 *   store: PgStorage.layerEmbedded(),
 *   telephony: SimulatedTelephony.layer(),
 *   directory: Directory.layerStatic({ agents, callerNumbers })
 * })
 * const runtime = ManagedRuntime.make(engine)
 * ```
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import type { BatchStore } from "./BatchStore.ts"
import * as Credits from "./Credits.ts"
import type { Directory } from "./Directory.ts"
import * as Dispatcher from "./Dispatcher.ts"
// A cycle with Engine.ts, which re-exports `layerWith`: safe, since neither
// module reads the other's bindings while it is being evaluated.
import * as Engine from "./Engine.ts"
import * as EngineConfig from "./EngineConfig.ts"
import * as EngineEvents from "./EngineEvents.ts"
import type { Telephony } from "./Telephony.ts"

/**
 * The ports of `layerWith`. Credits default to unlimited at the default price,
 * events to an in-process stream, and config to `EngineConfig.defaults()`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions<
  Store extends Layer.Layer<BatchStore, any, any>,
  Phone extends Layer.Layer<Telephony, any, any>,
  Dir extends Layer.Layer<Directory, any, any>,
  Cred extends Layer.Layer<Credits.Credits, any, any>,
  Events extends Layer.Layer<EngineEvents.EngineEvents, any, any>
> {
  readonly store: Store
  readonly telephony: Phone
  readonly directory: Dir
  readonly credits?: Cred | undefined
  readonly events?: Events | undefined
  readonly config?: Partial<EngineConfig.EngineConfig> | undefined
}

/**
 * The `Engine` and its `Dispatcher` over the given ports, which it also
 * provides.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = <
  Store extends Layer.Layer<BatchStore, any, any>,
  Phone extends Layer.Layer<Telephony, any, any>,
  Dir extends Layer.Layer<Directory, any, any>,
  Cred extends Layer.Layer<Credits.Credits, any, any> = Layer.Layer<Credits.Credits>,
  Events extends Layer.Layer<EngineEvents.EngineEvents, any, any> = Layer.Layer<EngineEvents.EngineEvents>
>(
  options: LayerOptions<Store, Phone, Dir, Cred, Events>
): Layer.Layer<
  Engine.Engine | Dispatcher.Dispatcher | Layer.Success<Store | Phone | Dir | Cred | Events>,
  Layer.Error<Store | Phone | Dir | Cred | Events>,
  Layer.Services<Store | Phone | Dir | Cred | Events>
> => {
  const ports = Layer.mergeAll(
    options.store,
    options.telephony,
    options.directory,
    options.credits ?? Credits.layerUnlimited(),
    options.events ?? EngineEvents.layer()
  )
  // The ports cover everything engine and dispatcher need, which the
  // compiler cannot see through the generic layers: hence the cast.
  return Engine.layer.pipe(
    Layer.provideMerge(Dispatcher.layer),
    Layer.provide(EngineConfig.layer(options.config ?? {})),
    Layer.provideMerge(ports)
  ) as Layer.Layer<any, any, any>
}
