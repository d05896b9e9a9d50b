/**
 * One contact's history in a side drawer (a modal dialog: focus stays in it,
 * Escape closes it): every attempt (the caller number it used — caller-id
 * rotation shows here — its times, outcome, SIP code and talk time) and every
 * decision that dialed, deferred or skipped it, with its policy and reason,
 * oldest first, from `GET /batches/:id/contacts/:contactId`. Without that
 * route it shows what the list row carries.
 */
import { useEffect, useRef, useState } from "preact/hooks"
import { api, type Features } from "../../api.ts"
import { type ContactDetails, type ContactView, label, seconds, when } from "../../model.ts"
import { ErrorNote, StatusBadge } from "../../ui.tsx"

const time = (iso: string | null): string => (iso ? new Date(iso).toLocaleTimeString() : "—")

export const ContactDrawer = (
  { path, contact: listed, features, onClose }: { path: string; contact: ContactView; features: Features | undefined; onClose: () => void }
) => {
  const dialog = useRef<HTMLDialogElement>(null)
  const [details, setDetails] = useState<ContactDetails | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const detailed = features?.has("/batches/{id}/contacts/{contactId}") ?? false
  useEffect(() => {
    dialog.current?.showModal()
    if (!detailed) return
    let live = true
    api<ContactDetails>(`${path}/contacts/${encodeURIComponent(listed.contactId)}`).then(
      (answer) => live && setDetails(answer),
      (failure) => live && setError(failure)
    )
    return () => void (live = false)
  }, [listed.contactId, detailed])
  // The detail read is fresher than the row the list showed.
  const contact = details?.contact ?? listed
  const decisions = details?.decisions ?? (contact.lastDecision ? [contact.lastDecision] : [])
  return (
    <dialog ref={dialog} class="drawer" aria-labelledby="drawer-title" onClose={onClose}>
      <div class="drawer-head">
        <h2 id="drawer-title">{contact.phoneNumber}</h2>
        <button type="button" onClick={() => dialog.current?.close()}>Close</button>
      </div>
      <p>
        {contact.name ?? "No name"} · row {contact.row}{contact.externalId ? ` · ${contact.externalId}` : ""} · <StatusBadge status={contact.status} />
        {!contact.numberValidated && <> · <span class="muted">number dialed as written</span></>}
      </p>
      <dl class="facts">
        <div><dt>Attempts</dt><dd>{contact.attemptCount} of {contact.maxAttempts}</dd></div>
        <div><dt>Last attempt</dt><dd>{when(contact.lastAttemptAt)}</dd></div>
        <div><dt>Next call</dt><dd>{when(contact.nextEligibleAt ?? contact.nextRetryAt)}</dd></div>
        <div><dt>Finished</dt><dd>{when(contact.completedAt)}</dd></div>
        <div><dt>Call length</dt><dd>{seconds(contact.callDuration)}</dd></div>
        <div><dt>Reason</dt><dd>{contact.failureReason ?? "—"}</dd></div>
        {Object.entries(contact.customFields).map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v === null ? "—" : String(v)}</dd></div>)}
      </dl>
      <ErrorNote error={error} />
      {details && (
        <>
          <h3 id="attempts-title">Attempts</h3>
          {details.attempts.length === 0 ? <p class="muted">Not dialed yet.</p> : (
            <div class="table-wrap">
              <table class="attempts-table" aria-labelledby="attempts-title">
                <thead>
                  <tr>
                    <th scope="col">#</th><th scope="col">Caller</th><th scope="col">Started</th><th scope="col">Answered</th>
                    <th scope="col">Ended</th><th scope="col">Outcome</th><th scope="col">SIP</th><th scope="col">Talk</th>
                  </tr>
                </thead>
                <tbody>
                  {details.attempts.map((attempt) => (
                    <tr key={attempt.attemptId} title={attempt.providerCallId ? `Call ${attempt.providerCallId}` : undefined}>
                      <td data-label="#">{attempt.attemptNumber}</td>
                      <td data-label="Caller">{attempt.callerNumber ?? attempt.callerNumberId}</td>
                      <td data-label="Started">{when(attempt.startedAt)}</td>
                      <td data-label="Answered">{time(attempt.answeredAt)}</td>
                      <td data-label="Ended">{time(attempt.endedAt)}</td>
                      <td data-label="Outcome">
                        {attempt.outcome ? <StatusBadge status={attempt.outcome} /> : label(attempt.state)}
                        {attempt.failureReason && <span class="muted"> {attempt.failureReason}</span>}
                      </td>
                      <td data-label="SIP">{attempt.sipCode ?? "—"}</td>
                      <td data-label="Talk">{seconds(attempt.duration)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
      <h3>Decisions</h3>
      {decisions.length === 0 ? <p class="muted">No decision yet.</p> : (
        <ol class="timeline decisions">
          {decisions.map((d, index) => (
            <li key={index}>
              <strong>{d.kind}</strong> by <code>{d.policy}</code>: {d.reason}{" "}
              <span class="muted">{when(d.at)}{d.until ? ` → until ${when(d.until)}` : ""}</span>
            </li>
          ))}
        </ol>
      )}
      {details && !details.historyComplete && <p class="muted">This store keeps no full history: the last decision and open attempts only.</p>}
    </dialog>
  )
}
