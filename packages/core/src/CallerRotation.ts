/**
 * Which caller number places the next call of a batch:
 * - `random`: each call draws a number at random;
 * - `round_robin`: each call takes the next number in turn;
 * - `sequential`: numbers are handed out in list order by contact row, and a
 *   contact keeps its number on every attempt, so a person who is called
 *   again sees the same caller id.
 *
 * @since 0.1.0
 */
import type { PhoneRotationStrategy } from "./Batch.ts"

/**
 * A picker over a batch's numbers, asked once per call with the contact's
 * row. `random` draws from the given source so tests can fix it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  strategy: PhoneRotationStrategy,
  numbers: ReadonlyArray<string>,
  random: () => number
): (contactRow: number) => string => {
  if (numbers.length === 0) throw new Error("a batch has at least one caller number")
  switch (strategy) {
    case "sequential":
      return (row) => numbers[Math.abs(row) % numbers.length]!
    case "round_robin": {
      let next = 0
      return () => numbers[next++ % numbers.length]!
    }
    case "random":
      return () => numbers[Math.floor(random() * numbers.length) % numbers.length]!
  }
}
