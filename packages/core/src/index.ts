/**
 * Outdial's engine: batches of outbound AI-agent calls.
 *
 * @since 0.1.0
 */
export * as Attempt from "./Attempt.ts"
export * as Batch from "./Batch.ts"
export * as BatchStore from "./BatchStore.ts"
export * as CallerRotation from "./CallerRotation.ts"
export * as CallingWindow from "./CallingWindow.ts"
export * as CallOutcome from "./CallOutcome.ts"
export * as Contact from "./Contact.ts"
export * as ContactImport from "./ContactImport.ts"
export * as Credits from "./Credits.ts"
export * as Directory from "./Directory.ts"
export * as Dispatcher from "./Dispatcher.ts"
export * as Eligibility from "./Eligibility.ts"
export * as Engine from "./Engine.ts"
export * as EngineConfig from "./EngineConfig.ts"
export * as EngineEvents from "./EngineEvents.ts"
export * as Estimate from "./Estimate.ts"
export * as InputGuard from "./InputGuard.ts"
export * as OutdialError from "./OutdialError.ts"
export * as PhoneNumber from "./PhoneNumber.ts"
export * as Retention from "./Retention.ts"
export * as RetryPolicy from "./RetryPolicy.ts"
export * as SimulatedTelephony from "./SimulatedTelephony.ts"
export * as Telephony from "./Telephony.ts"
