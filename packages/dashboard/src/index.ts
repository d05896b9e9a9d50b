/**
 * @since 0.1.0
 */
export * as Dashboard from "./Dashboard.ts"
