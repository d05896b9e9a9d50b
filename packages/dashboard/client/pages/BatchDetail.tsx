/**
 * One batch: live progress over Server-Sent Events (no polling), the
 * breakdown by status, timing, why it waits, the lifecycle actions behind a
 * confirmation, its contacts (searched, and exported as CSV), adding
 * recipients to a draft.
 */
import { useEffect, useState } from "preact/hooks"
import { api, type Features, url } from "../api.ts"
import {
  type BatchDetails, type BatchSummary, type ContactView, type DeferredEvent, isFinalBatch, type ProgressEvent, when
} from "../model.ts"
import { ConfirmButton, ErrorNote, navigate, ProgressBar, StatusBadge } from "../ui.tsx"
import { AddRecipients } from "./detail/AddRecipients.tsx"
import { Breakdown } from "./detail/Breakdown.tsx"
import { ContactsTable, pageSize as contactsPageSize } from "./detail/ContactsTable.tsx"

const waitingReason = (batch: BatchSummary, deferred: DeferredEvent | undefined): string | undefined => {
  if (batch.status === "draft") return "It is a draft: start it to dial."
  if (batch.status === "scheduled") return `Scheduled to start ${when(batch.timing.scheduledStartTime)}.`
  if (batch.status === "paused") return batch.statusReason ? `Paused: ${batch.statusReason}` : "Paused: resume it to go on dialing."
  if (batch.status === "failed") return batch.statusReason ?? undefined
  if (isFinalBatch(batch.status)) return undefined
  if (deferred !== undefined) return `${deferred.reason}${deferred.until ? ` — until ${when(deferred.until)}` : ""} (${deferred.policy})`
  return batch.statusReason ?? undefined
}

export const BatchDetail = ({ id, features }: { id: string; features: Features | undefined }) => {
  const [batch, setBatch] = useState<BatchDetails | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [deferred, setDeferred] = useState<DeferredEvent | undefined>(undefined)
  const [live, setLive] = useState<"connecting" | "live" | "ended" | "reconnecting">("connecting")
  const [changedContact, setChangedContact] = useState<ContactView | undefined>(undefined)
  const [generation, setGeneration] = useState(0)
  const path = `/batches/${encodeURIComponent(id)}`

  // One read gives the batch, its progress and the first page of contacts the table shows.
  const reload = () =>
    api<BatchDetails>(path, { query: { contactsPageSize: contactsPageSize } }).then(setBatch, setError)

  useEffect(() => void reload(), [id])

  // A User Timing mark once the batch first shows, for whoever measures the page (bench:dashboard does).
  const shown = batch !== undefined
  useEffect(() => {
    if (shown) performance.mark("outdial:batch-page-rendered")
  }, [shown])

  // Live progress: the stream sends a snapshot at once, then changes; it ends once the batch is final.
  useEffect(() => {
    const source = new EventSource(url(`${path}/events`), { withCredentials: true })
    source.onopen = () => setLive("live")
    source.onerror = () => setLive(source.readyState === EventSource.CLOSED ? "ended" : "reconnecting")
    source.addEventListener("progress", (event) => {
      const data = JSON.parse((event as MessageEvent).data) as ProgressEvent
      setBatch((before) => before && {
        ...before,
        status: data.status,
        statusReason: data.statusReason,
        progress: data.progress,
        timing: { ...before.timing, estimatedCompletionTime: data.estimatedCompletionTime }
      })
    })
    source.addEventListener("batch", (event) => {
      const summary = JSON.parse((event as MessageEvent).data) as BatchSummary
      setBatch((before) => before && { ...before, ...summary })
    })
    source.addEventListener("deferred", (event) => setDeferred(JSON.parse((event as MessageEvent).data)))
    source.addEventListener("contact", (event) => setChangedContact(JSON.parse((event as MessageEvent).data)))
    source.addEventListener("end", () => {
      source.close()
      setLive("ended")
      void reload()
    })
    return () => source.close()
  }, [id, generation])

  if (batch === undefined) {
    return (
      <section aria-labelledby="detail-title">
        <h1 id="detail-title" tabIndex={-1}>Batch</h1>
        {error ? <ErrorNote error={error} /> : <p aria-live="polite">Loading…</p>}
      </section>
    )
  }

  /** Runs a lifecycle action, then follows the batch again (a retried batch streams anew). */
  const act = (action: string, method = "POST") => async () => {
    const answer = await api<BatchSummary | undefined>(`${path}${action === "delete" ? "" : `/${action}`}`, { method, json: method === "POST" ? {} : undefined })
    if (action === "delete") return navigate("#/")
    if (answer) setBatch((before) => before && { ...before, ...answer })
    setDeferred(undefined)
    await reload()
    if (live === "ended") setGeneration((g) => g + 1)
  }

  const status = batch.status
  const reason = waitingReason(batch, deferred)
  const p = batch.progress
  return (
    <section aria-labelledby="detail-title" class="detail">
      <p class="crumbs"><a href="#/">Batches</a> / {batch.name}</p>
      <div class="page-head">
        <h1 id="detail-title" tabIndex={-1}>{batch.name}</h1>
        <StatusBadge status={status} />
        <span class={`live live-${live}`} aria-live="polite">{live === "live" ? "Live" : live === "ended" ? "Final" : live === "reconnecting" ? "Reconnecting…" : "Connecting…"}</span>
      </div>
      {batch.description && <p>{batch.description}</p>}
      <div class="actions" role="group" aria-label="Batch actions">
        {status === "draft" && <ConfirmButton title="Start this batch?" question="Dialing begins now, within the calling windows." confirmLabel="Start" onConfirm={act("schedule")}>Start</ConfirmButton>}
        {(status === "pending" || status === "scheduled" || status === "running") && (
          <ConfirmButton title="Pause this batch?" question="Calls in progress finish; no new call starts until you resume." confirmLabel="Pause" onConfirm={act("pause")}>Pause</ConfirmButton>
        )}
        {status === "paused" && <ConfirmButton title="Resume this batch?" question="Dialing goes on where it stopped." confirmLabel="Resume" onConfirm={act("resume")}>Resume</ConfirmButton>}
        {isFinalBatch(status) && (
          <ConfirmButton title="Retry this batch?" question="The contacts it left undone (retryable failures, and those a cancel ended) are dialed again." confirmLabel="Retry" onConfirm={act("retry")}>Retry</ConfirmButton>
        )}
        {!isFinalBatch(status) && (
          <ConfirmButton danger title="Cancel this batch?" question="No contact is dialed again; this cannot be undone (a retry can pick it up later)." confirmLabel="Cancel batch" onConfirm={act("cancel")}>Cancel batch</ConfirmButton>
        )}
        {status !== "running" && (
          <ConfirmButton danger title="Delete this batch?" question={`“${batch.name}” and its ${batch.totalContacts} contacts are deleted for good.`} confirmLabel="Delete" onConfirm={act("delete", "DELETE")}>Delete</ConfirmButton>
        )}
      </div>
      {reason && <p class="waiting" role="status">{reason}</p>}
      <div class="cards">
        <section class="card progress-card" aria-labelledby="progress-title">
          <h2 id="progress-title">Progress</h2>
          <ProgressBar done={p.contactsProcessed} total={p.totalContacts} label="Contacts done" />
          <p class="big" aria-live="polite" id="progress-summary">{p.contactsProcessed} of {p.totalContacts} done · {p.successfulCalls} reached · {p.failedCalls} not reached</p>
          <Breakdown breakdown={p.statusBreakdown} total={p.totalContacts} />
        </section>
        <section class="card" aria-labelledby="timing-title">
          <h2 id="timing-title">Timing and cost</h2>
          <dl class="facts">
            <div><dt>Created</dt><dd>{when(batch.timing.createdAt)}</dd></div>
            <div><dt>Scheduled</dt><dd>{when(batch.timing.scheduledStartTime)}</dd></div>
            <div><dt>Started</dt><dd>{when(batch.timing.actualStartTime)}</dd></div>
            <div><dt>{batch.timing.completedAt ? "Finished" : "ETA"}</dt><dd>{when(batch.timing.completedAt ?? batch.timing.estimatedCompletionTime)}</dd></div>
            <div><dt>Estimated</dt><dd>{batch.estimatedDuration}, {batch.estimatedCost}</dd></div>
            <div><dt>Agent</dt><dd>{batch.agentId}</dd></div>
            <div><dt>Concurrency</dt><dd>{batch.concurrentCallLimit} lines{batch.maxCallsPerDay ? `, ${batch.maxCallsPerDay} calls a day` : ""}</dd></div>
            <div><dt>Windows</dt><dd>{batch.callingWindows.length === 0 ? "Any time" : batch.callingWindows.map((w) => `${w.start}–${w.end}`).join(", ")} ({batch.timezone})</dd></div>
            <div><dt>Attempts</dt><dd>up to {batch.retryPolicy.maxAttempts}</dd></div>
          </dl>
        </section>
      </div>
      {status === "draft" && <AddRecipients path={path} onAdded={() => void reload()} />}
      <ContactsTable path={path} batch={batch} features={features} changed={changedContact} onRemoved={() => void reload()} />
    </section>
  )
}
