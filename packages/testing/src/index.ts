/**
 * Outdial's test kit: conformance suites for `BatchStore` and `Telephony`
 * adapters, and an engine for tests on `TestClock`. Needs `vitest` and
 * `@effect/vitest`; import it from tests only.
 *
 * @since 0.1.0
 */
export * as BatchStoreSuite from "./BatchStoreSuite.ts"
export * as DoNotCallSuite from "./DoNotCallSuite.ts"
export * as StoreFixtures from "./StoreFixtures.ts"
export * as TelephonySuite from "./TelephonySuite.ts"
export * as TestEngine from "./TestEngine.ts"
export * as WebhookReceiver from "./WebhookReceiver.ts"
export * as WebhookSuite from "./WebhookSuite.ts"
