/**
 * Rows as PostgreSQL returns them and their mapping to domain values, and
 * the encodings of what is stored as JSON (a batch's settings, a decision).
 */
import * as Attempt from "@outdial/core/Attempt"
import * as BatchModel from "@outdial/core/Batch"
import type { Batch, BatchStatus } from "@outdial/core/Batch"
import type { CallOutcome } from "@outdial/core/CallOutcome"
import * as Contact from "@outdial/core/Contact"
import { StoreError } from "@outdial/core/OutdialError"
import type { PgConnection } from "@effect/sql-pg"
import { PgTypes } from "@effect/sql-pg"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type { SqlError } from "effect/sql/SqlError"

export const BatchJson = Schema.toCodecJson(BatchModel.Batch)
export const encodeBatch = Schema.encodeSync(BatchJson)
export const decodeBatch = Schema.decodeUnknownSync(BatchJson)
export const DecisionJson = Schema.toCodecJson(Contact.Decision)
export const encodeDecision = Schema.encodeSync(DecisionJson)
export const decodeDecision = Schema.decodeUnknownSync(DecisionJson)

export const contactIdOf = (position: number) => `c${position}`
export const positionOf = (contactId: string): number | undefined => {
  const match = /^c(\d{1,9})$/.exec(contactId)
  return match === null ? undefined : Number(match[1])
}

// Typed array parameters: the driver cannot infer an element type from nulls.
export const arrayOf = (oid: number) => (values: ReadonlyArray<unknown>): PgTypes.Parameter =>
  Result.getOrThrow(PgTypes.array(values, oid))
export const int4Array = arrayOf(PgTypes.OID.int4)
export const textArray = arrayOf(PgTypes.OID.text)
export const boolArray = arrayOf(PgTypes.OID.bool)

/** The rows a statement wrote, from its command tag: what `.raw` gives on this client is the connection's result. */
export const rowCount = (raw: unknown): number => (raw as PgConnection.Result).rowCount

export const utc = (value: Date | null): DateTime.Utc | null => value === null ? null : DateTime.makeUnsafe(value)
export const dateOf = (value: DateTime.Utc | null | undefined): Date | null =>
  value === null || value === undefined ? null : DateTime.toDateUtc(value)
export const iso = (time: DateTime.Utc | null): string | null => time === null ? null : DateTime.toDateUtc(time).toISOString()
export const jsonText = (value: unknown): string | null => value === undefined ? null : JSON.stringify(value)

export interface ContactRow {
  readonly batch_id: string
  readonly position: number
  readonly row_number: number
  readonly phone: string
  readonly number_validated: boolean
  readonly name: string | null
  readonly external_id: string | null
  readonly custom_fields: Contact.CustomFields
  readonly status: Contact.ContactStatus
  readonly attempt_count: number
  readonly max_attempts: number
  readonly last_attempt_at: Date | null
  readonly next_retry_at: Date | null
  readonly completed_at: Date | null
  readonly error_code: number | null
  readonly failure_reason: string | null
  readonly call_duration: number | null
  readonly room_name: string | null
  readonly last_decision: unknown
}

export const toContact = (row: ContactRow): Contact.Contact => ({
  id: contactIdOf(row.position),
  batchId: row.batch_id,
  row: row.row_number,
  phone: row.phone,
  numberValidated: row.number_validated,
  name: row.name,
  externalId: row.external_id,
  customFields: row.custom_fields,
  status: row.status,
  attemptCount: row.attempt_count,
  maxAttempts: row.max_attempts,
  lastAttemptAt: utc(row.last_attempt_at),
  nextRetryAt: utc(row.next_retry_at),
  completedAt: utc(row.completed_at),
  errorCode: row.error_code,
  failureReason: row.failure_reason,
  callDuration: row.call_duration,
  roomName: row.room_name,
  lastDecision: row.last_decision === null ? null : decodeDecision(row.last_decision)
})

export interface AttemptRow {
  readonly id: string
  readonly batch_id: string
  readonly contact_position: number
  readonly attempt_number: number
  readonly state: Attempt.AttemptState
  readonly caller_number_id: string
  readonly started_at: Date
  readonly ended_at: Date | null
  readonly outcome: CallOutcome | null
  readonly sip_code: number | null
  readonly duration: number | null
  readonly room_name: string | null
  readonly failure_reason: string | null
}

export const toAttempt = (row: AttemptRow): Attempt.Attempt => ({
  id: row.id,
  batchId: row.batch_id,
  contactId: contactIdOf(row.contact_position),
  attemptNumber: row.attempt_number,
  state: row.state,
  callerNumberId: row.caller_number_id,
  startedAt: DateTime.makeUnsafe(row.started_at),
  endedAt: utc(row.ended_at),
  outcome: row.outcome,
  sipCode: row.sip_code,
  duration: row.duration,
  roomName: row.room_name,
  failureReason: row.failure_reason
})

export interface BatchRow {
  readonly settings: unknown
  readonly status: BatchStatus
  readonly total_contacts: number
}

export const toBatch = (row: BatchRow): Batch => ({
  ...decodeBatch(row.settings),
  status: row.status,
  totalContacts: row.total_contacts
})

export const storeError = (operation: string) => (cause: SqlError) =>
  new StoreError({ message: `PostgreSQL store: ${operation} failed: ${cause.message}`, cause })

/** The engine only names attempts and contacts the store gave it; any other is a bug, not a failure. */
export const defect = (message: string) => Effect.die(new Error(message))

