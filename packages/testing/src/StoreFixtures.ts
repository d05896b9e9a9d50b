/**
 * Fixtures of stored batches and contacts, as the `BatchStore` conformance
 * suite writes them: fixed instants, ids no other test uses. Free of any
 * test runner, so benches and scripts may seed a store with them too.
 *
 * @since 0.1.0
 */
import type { Batch } from "@outdial/core/Batch"
import type { NewContact } from "@outdial/core/BatchStore"
import * as DateTime from "effect/DateTime"
import { randomUUID } from "node:crypto"


/**
 * An id no other test (nor an earlier run against the same database) uses.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const uniqueId = (prefix: string): string => `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 16)}`

/**
 * The instant the suite's batches are created at; every other time is an
 * offset from it.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const baseTime: DateTime.Utc = DateTime.makeUnsafe("2030-01-07T08:00:00.000Z")

/**
 * `seconds` after `baseTime`.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const after = (seconds: number): DateTime.Utc =>
  DateTime.makeUnsafe(DateTime.toEpochMillis(baseTime) + seconds * 1000)

/**
 * A draft with every field set, in an organization of its own unless
 * `overrides` says otherwise.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const makeBatch = (overrides: Partial<Batch> = {}): Batch => ({
  id: uniqueId("batch"),
  organizationId: uniqueId("org"),
  name: "Suite batch",
  description: "Made by the BatchStore conformance suite",
  agentId: "agent_suite",
  phoneNumberIds: ["num_suite_1", "num_suite_2"],
  phoneRotationStrategy: "round_robin",
  status: "draft",
  statusReason: null,
  concurrentCallLimit: 5,
  retryPolicy: {
    maxAttempts: 3,
    retryableOutcomes: ["no_answer", "busy", "timeout", "carrier_error", "failed"],
    delaySeconds: [1800, 3600],
    delayByOutcome: { busy: 300 }
  },
  defaultCountry: "DE",
  timezone: "Europe/Berlin",
  callingWindows: [{ start: "09:00", end: "20:00" }],
  workingDays: [1, 2, 3, 4, 5],
  maxCallsPerDay: 1000,
  scheduledStartTime: after(3600),
  actualStartTime: null,
  completedAt: null,
  estimatedCompletionTime: null,
  createdAt: baseTime,
  updatedAt: baseTime,
  totalContacts: 0,
  estimatedDuration: "about 1 hour",
  estimatedCost: "1.50",
  recipientLocalHours: { start: "08:00", end: "21:00", workingDays: [1, 2, 3, 4, 5, 6] },
  blackoutDates: ["2026-12-25"],
  holidays: { country: "DE", region: "BY", zone: "recipient" },
  completeBy: after(30 * 86_400),
  ...overrides
})

/**
 * `count` contacts as an import yields them, numbered from `from` (for
 * distinct phones across calls); rows count from 2, as in a CSV with a
 * header. With `externalIds`, contact n carries `ext-n`.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const newContacts = (
  count: number,
  options: { readonly from?: number; readonly externalIds?: boolean } = {}
): Array<NewContact> =>
  Array.from({ length: count }, (_, i) => {
    const n = (options.from ?? 0) + i + 1
    return {
      row: i + 2,
      phone: `+49151${String(20_000_000 + n)}`,
      numberValidated: true,
      name: `Contact ${n}`,
      externalId: options.externalIds === true ? `ext-${n}` : null,
      customFields: { index: String(n), plan: n % 2 === 0 ? "gold" : "basic" }
    }
  })
