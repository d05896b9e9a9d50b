/**
 * One contact's history in a side drawer (a modal dialog: focus stays in it,
 * Escape closes it): its attempts and the decisions that dialed, deferred or
 * skipped it, from `GET /batches/:id/contacts/:contactId` when the API has
 * that route, otherwise what the list row carries.
 */
import { useEffect, useRef, useState } from "preact/hooks"
import { api, type Features } from "../../api.ts"
import { type ContactView, type Decision, label, when } from "../../model.ts"
import { ErrorNote, StatusBadge } from "../../ui.tsx"

interface History {
  readonly attempts?: ReadonlyArray<Record<string, unknown>>
  readonly decisions?: ReadonlyArray<Decision>
}

const text = (value: unknown): string =>
  value === null || value === undefined ? "—" : typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value) ? when(value) : String(value)

export const ContactDrawer = (
  { path, contact, features, onClose }: { path: string; contact: ContactView; features: Features | undefined; onClose: () => void }
) => {
  const dialog = useRef<HTMLDialogElement>(null)
  const [history, setHistory] = useState<History | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const detailed = features?.has("/batches/{id}/contacts/{contactId}") ?? false
  useEffect(() => {
    dialog.current?.showModal()
    if (!detailed) return
    api<History & { contact?: ContactView }>(`${path}/contacts/${encodeURIComponent(contact.contactId)}`).then(setHistory, setError)
  }, [contact.contactId])
  const decisions = history?.decisions ?? (contact.lastDecision ? [contact.lastDecision] : [])
  return (
    <dialog ref={dialog} class="drawer" aria-labelledby="drawer-title" onClose={onClose}>
      <div class="drawer-head">
        <h2 id="drawer-title">{contact.phoneNumber}</h2>
        <button type="button" onClick={() => dialog.current?.close()}>Close</button>
      </div>
      <p>{contact.name ?? "No name"} · row {contact.row} · <StatusBadge status={contact.status} /></p>
      <dl class="facts">
        <div><dt>Attempts</dt><dd>{contact.attemptCount} of {contact.maxAttempts}</dd></div>
        <div><dt>Last attempt</dt><dd>{when(contact.lastAttemptAt)}</dd></div>
        <div><dt>Next retry</dt><dd>{when(contact.nextRetryAt)}</dd></div>
        <div><dt>Finished</dt><dd>{when(contact.completedAt)}</dd></div>
        <div><dt>Call length</dt><dd>{contact.callDuration === null ? "—" : `${contact.callDuration < 10 ? contact.callDuration.toFixed(1) : Math.round(contact.callDuration)} s`}</dd></div>
        <div><dt>Reason</dt><dd>{contact.failureReason ?? "—"}</dd></div>
        {Object.entries(contact.customFields).map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}
      </dl>
      <ErrorNote error={error} />
      {history?.attempts && (
        <>
          <h3>Attempts</h3>
          <ol class="timeline">
            {history.attempts.map((attempt, index) => (
              <li key={index}>
                {Object.entries(attempt).filter(([, v]) => typeof v !== "object" || v === null).map(([k, v]) => <span key={k}><span class="muted">{label(k)}:</span> {text(v)} </span>)}
              </li>
            ))}
          </ol>
        </>
      )}
      <h3>Decisions</h3>
      {decisions.length === 0 ? <p class="muted">No decision yet.</p> : (
        <ol class="timeline">
          {decisions.map((d, index) => (
            <li key={index}><strong>{d.kind}</strong> by {d.policy}: {d.reason} <span class="muted">{when(d.at)}{d.until ? ` → until ${when(d.until)}` : ""}</span></li>
          ))}
        </ol>
      )}
    </dialog>
  )
}
