/**
 * @since 0.1.0
 */
export * as AgentRequests from "./AgentRequests.ts"
export * as LiveKitTelephony from "./LiveKitTelephony.ts"
export * as SipOutcome from "./SipOutcome.ts"
