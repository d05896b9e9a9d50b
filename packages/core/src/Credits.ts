/**
 * The credits port, optional for a host: prices calls and says whether an
 * organization can pay for more. Without it (`layerUnlimited`) every batch
 * may run and estimates use the default price.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * @since 0.1.0
 * @category services
 */
export class Credits extends Context.Service<Credits, {
  /** USD per connected minute for this organization. */
  readonly pricePerMinute: (organizationId: string) => Effect.Effect<number>
  /** USD the organization can still spend; `Infinity` when it is not metered. */
  readonly balance: (organizationId: string) => Effect.Effect<number>
}>()("@outdial/core/Credits") {}

/**
 * Defaults to `0.10` USD a minute.
 *
 * @since 0.1.0
 * @category configuration
 */
export const defaultPricePerMinute = 0.1

/**
 * No metering: an infinite balance at the given price.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnlimited = (pricePerMinute: number = defaultPricePerMinute): Layer.Layer<Credits> =>
  Layer.succeed(Credits)({
    pricePerMinute: () => Effect.succeed(pricePerMinute),
    balance: () => Effect.succeed(Number.POSITIVE_INFINITY)
  })
