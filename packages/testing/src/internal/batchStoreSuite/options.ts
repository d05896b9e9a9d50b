import type * as Duration from "effect/Duration"

export interface Options {
  /** Contacts of the scale check's batch; 20,000 unless set. */
  readonly scaleContacts?: number | undefined
  /** How long building the layer may take (starting a database, say). */
  readonly timeout?: Duration.Input | undefined
}
