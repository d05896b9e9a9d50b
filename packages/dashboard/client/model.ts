/** The API's shapes the dashboard reads (see `@outdial/core` BatchView), and labels for them. */
export type BatchStatus = "draft" | "pending" | "scheduled" | "running" | "paused" | "completed" | "cancelled" | "failed"

export const batchStatuses: ReadonlyArray<BatchStatus> = [
  "draft", "pending", "scheduled", "running", "paused", "completed", "cancelled", "failed"
]

export const contactStatuses = [
  "pending", "queued", "dialing", "completed", "no_answer", "busy", "timeout", "blocked", "invalid_number",
  "carrier_error", "failed", "skipped", "cancelled"
] as const
export type ContactStatus = typeof contactStatuses[number]

export const retryableOutcomes = ["no_answer", "busy", "timeout", "carrier_error", "failed"] as const

export const isFinalBatch = (status: BatchStatus): boolean =>
  status === "completed" || status === "cancelled" || status === "failed"

export const label = (status: string): string => status.replace(/_/g, " ")

export interface Window { readonly start: string; readonly end: string }

export interface BatchSummary {
  readonly batchJobId: string
  readonly name: string
  readonly description: string | null
  readonly status: BatchStatus
  readonly statusReason: string | null
  readonly agentId: string
  readonly phoneNumberIds: ReadonlyArray<string>
  readonly phoneRotationStrategy: string
  readonly totalContacts: number
  readonly concurrentCallLimit: number
  readonly maxCallsPerDay: number | null
  readonly timezone: string
  readonly callingWindows: ReadonlyArray<Window>
  readonly workingDays: ReadonlyArray<number>
  readonly retryPolicy: { readonly maxAttempts: number; readonly retryDelaySeconds: ReadonlyArray<number> }
  readonly estimatedDuration: string
  readonly estimatedCost: string
  readonly scheduledStartTime: string | null
  readonly timing: {
    readonly scheduledStartTime: string | null
    readonly actualStartTime: string | null
    readonly completedAt: string | null
    readonly estimatedCompletionTime: string | null
    readonly createdAt: string
  }
}

export interface Progress {
  readonly totalContacts: number
  readonly contactsProcessed: number
  readonly successfulCalls: number
  readonly failedCalls: number
  readonly statusBreakdown: Readonly<Record<ContactStatus, number>>
}

export interface Decision {
  readonly kind: "dial" | "defer" | "skip"
  readonly policy: string
  readonly reason: string
  readonly at: string
  readonly until: string | null
}

/** A custom field as the API keeps it: file cells are text, JSON contacts keep their JSON types. */
export type FieldValue = string | number | boolean | null

export interface ContactView {
  readonly contactId: string
  readonly row: number
  readonly phoneNumber: string
  readonly numberValidated: boolean
  readonly name: string | null
  readonly externalId: string | null
  readonly customFields: Readonly<Record<string, FieldValue>>
  readonly status: ContactStatus
  readonly attemptCount: number
  readonly maxAttempts: number
  readonly lastAttemptAt: string | null
  readonly nextRetryAt: string | null
  readonly nextEligibleAt: string | null
  readonly completedAt: string | null
  readonly errorCode: number | null
  readonly failureReason: string | null
  readonly callDuration: number | null
  readonly roomName: string | null
  readonly lastDecision: Decision | null
}

/** One call placed to a contact (`@outdial/core` ContactHistory.AttemptView). */
export interface AttemptView {
  readonly attemptId: string
  readonly attemptNumber: number
  readonly state: "dialing" | "finished"
  readonly callerNumberId: string
  readonly callerNumber: string | null
  readonly startedAt: string
  readonly answeredAt: string | null
  readonly endedAt: string | null
  readonly outcome: string | null
  readonly sipCode: number | null
  readonly duration: number | null
  readonly failureReason: string | null
  readonly providerCallId: string | null
}

/** `GET /batches/:id/contacts/:contactId`: the contact, its attempts and its decisions, oldest first. */
export interface ContactDetails {
  readonly contact: ContactView
  readonly attempts: ReadonlyArray<AttemptView>
  readonly decisions: ReadonlyArray<Decision>
  /** False when the store keeps no history: only the last decision and open attempts are listed. */
  readonly historyComplete: boolean
}

/** `GET /batches/:id/contacts`: a page of contacts by status and search. */
export interface ContactPage {
  readonly contacts: ReadonlyArray<ContactView>
  readonly total: number
  readonly hasMore: boolean
  readonly nextCursor: string | null
}

export interface BatchDetails extends BatchSummary {
  readonly progress: Progress
  readonly contacts: ReadonlyArray<ContactView>
  readonly contactsTotal: number
  readonly contactsHasMore: boolean
  readonly contactsNextCursor: string | null
}

export interface BatchList {
  readonly batches: ReadonlyArray<BatchSummary>
  readonly pagination: { readonly total: number; readonly limit: number; readonly offset: number; readonly hasMore: boolean }
}

export interface RowContact {
  readonly phone: string
  readonly name: string | null
  readonly externalId: string | null
  readonly ignoreE164Validation: boolean
  readonly customFields: Readonly<Record<string, string>>
}

export interface RowError {
  readonly row: number
  readonly field: string
  readonly code: string
  readonly message: string
  readonly value?: string
  readonly contact?: RowContact
}

export interface AcceptedContact {
  readonly row: number
  readonly phone: string
  readonly name: string | null
  readonly externalId: string | null
  readonly customFields: Readonly<Record<string, string>>
}

export interface ValidationReport {
  readonly rowsReceived: number
  readonly acceptedContacts: number
  readonly rejectedContacts: number
  readonly rejected: ReadonlyArray<RowError>
  readonly errorGroups: ReadonlyArray<{ code: string; message: string; count: number; rows: ReadonlyArray<number> }>
  readonly duplicates: ReadonlyArray<{ phone: string; rows: ReadonlyArray<number> }>
  readonly variables: ReadonlyArray<string>
  readonly accepted: ReadonlyArray<AcceptedContact>
}

export interface ProgressEvent {
  readonly status: BatchStatus
  readonly statusReason: string | null
  readonly progress: Progress
  readonly estimatedCompletionTime: string | null
}

export interface DeferredEvent { readonly policy: string; readonly reason: string; readonly until: string | null; readonly at: string }

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" })

export const when = (iso: string | null | undefined): string => (iso ? dateTime.format(new Date(iso)) : "—")

/** Seconds of talk, to a tenth under ten seconds. */
export const seconds = (value: number | null): string =>
  value === null ? "—" : `${value < 10 ? value.toFixed(1) : Math.round(value)} s`

export const percent = (part: number, whole: number): number => (whole <= 0 ? 0 : Math.round((part / whole) * 100))

export const days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const
