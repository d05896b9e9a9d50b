/**
 * @since 0.1.0
 */
export * as OutdialError from "./OutdialError.ts"
