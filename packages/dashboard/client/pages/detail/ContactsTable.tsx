/**
 * A batch's contacts: status filter, search (a name by substring, a number
 * by its digits or prefix) and cursor paging (a keyset read, as fast on page
 * 20,000 as on page 1), read from `GET /batches/:id/contacts`; the export
 * link downloads the contacts the filters select as CSV. Rows follow the
 * stream's `contact` events; a row opens the contact's drawer.
 */
import { useEffect, useRef, useState } from "preact/hooks"
import { api, type Features, url } from "../../api.ts"
import { type BatchDetails, type ContactPage, type ContactView, contactStatuses, label, when } from "../../model.ts"
import { ConfirmButton, ErrorNote, StatusBadge, useDebounced } from "../../ui.tsx"
import { ContactDrawer } from "./ContactDrawer.tsx"

export const pageSize = 25

interface Shown { readonly contacts: ReadonlyArray<ContactView>; readonly total: number; readonly next: string | null }

/** A page by status, search and cursor: the contacts route when the API has it, else the batch read (no search there). */
const readPage = (path: string, features: Features | undefined, status: string, search: string, cursor: string | undefined): Promise<Shown> =>
  features?.has("/batches/{id}/contacts")
    ? api<ContactPage>(`${path}/contacts`, { query: { status, search, pageSize, cursor } })
      .then((page) => ({ contacts: page.contacts, total: page.total, next: page.nextCursor }))
    : api<BatchDetails>(path, { query: { contactStatus: status, contactsPageSize: pageSize, contactsCursor: cursor } })
      .then((details) => ({ contacts: details.contacts, total: details.contactsTotal, next: details.contactsNextCursor }))

export const ContactsTable = (
  { path, batch, features, changed, onRemoved }: {
    path: string
    batch: BatchDetails
    features: Features | undefined
    changed: ContactView | undefined
    onRemoved: () => void
  }
) => {
  const [status, setStatus] = useState("")
  const [search, setSearch] = useState("")
  const [cursors, setCursors] = useState<ReadonlyArray<string | undefined>>([undefined])
  // The batch's own read carried the first page: the table shows it without asking again.
  const [page, setPage] = useState<Shown | undefined>(
    () => ({ contacts: batch.contacts, total: batch.contactsTotal, next: batch.contactsNextCursor })
  )
  const initial = useRef(true)
  const [error, setError] = useState<unknown>(undefined)
  const [open, setOpen] = useState<ContactView | undefined>(undefined)
  const [reloads, setReloads] = useState(0)
  const searchable = features?.has("/batches/{id}/contacts") ?? false
  const exportable = features?.has("/batches/{id}/contacts.csv") ?? false
  const query = useDebounced(search.trim(), 250)
  const cursor = cursors[cursors.length - 1]

  useEffect(() => {
    if (initial.current) return void (initial.current = false)
    let live = true
    readPage(path, features, status, searchable ? query : "", cursor).then(
      (shown) => live && (setPage(shown), setError(undefined)),
      (failure) => live && setError(failure)
    )
    return () => void (live = false)
  }, [path, status, query, cursor, reloads, batch.status, batch.totalContacts])

  // A contact the stream reports changed: its row shows the change, unless the filter no longer holds it.
  useEffect(() => {
    if (changed === undefined) return
    setPage((before) => before && {
      ...before,
      contacts: before.contacts.map((c) => c.contactId === changed.contactId ? changed : c)
    })
  }, [changed])

  const restart = () => setCursors([undefined])
  const first = (cursors.length - 1) * pageSize
  return (
    <section class="card contacts" aria-labelledby="contacts-title">
      <h2 id="contacts-title">Contacts</h2>
      <div class="filters">
        <div class="field">
          <label for="contact-status">Status</label>
          <select id="contact-status" value={status} onChange={(e) => { setStatus(e.currentTarget.value); restart() }}>
            <option value="">All</option>
            {contactStatuses.map((s) => <option value={s}>{label(s)} ({batch.progress.statusBreakdown[s] ?? 0})</option>)}
          </select>
        </div>
        {searchable && (
          <div class="field grow">
            <label for="contact-search">Search by name or number</label>
            <input id="contact-search" type="search" value={search} onInput={(e) => { setSearch(e.currentTarget.value); restart() }} />
          </div>
        )}
        {exportable && (
          <a class="button" id="contacts-export" href={url(`${path}/contacts.csv`, { status, search: searchable ? query : "" })} download>
            {status || query ? "Export these contacts (CSV)" : "Export results (CSV)"}
          </a>
        )}
      </div>
      <ErrorNote error={error} />
      {page && page.contacts.length === 0 && <p class="empty">No contact{status ? ` is ${label(status)}` : ""}{query ? ` matching “${query}”` : ""}.</p>}
      {page && page.contacts.length > 0 && (
        <div class="table-wrap">
          <table class="contacts-table">
            <caption class="visually-hidden">Contacts{status ? `, ${label(status)}` : ""}</caption>
            <thead>
              <tr><th scope="col">Row</th><th scope="col">Phone</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last attempt</th><th scope="col">Details</th></tr>
            </thead>
            <tbody>
              {page.contacts.map((contact) => (
                <tr key={contact.contactId}>
                  <td data-label="Row">{contact.row}</td>
                  <td data-label="Phone">{contact.phoneNumber}</td>
                  <td data-label="Name">{contact.name ?? ""}</td>
                  <td data-label="Status"><StatusBadge status={contact.status} /></td>
                  <td data-label="Attempts">{contact.attemptCount}/{contact.maxAttempts}</td>
                  <td data-label="Last attempt">{when(contact.lastAttemptAt)}</td>
                  <td data-label="Details" class="row-actions">
                    <button type="button" onClick={() => setOpen(contact)} aria-label={`History of ${contact.phoneNumber}`}>History</button>
                    {batch.status === "draft" && contact.attemptCount === 0 && (
                      <ConfirmButton
                        danger
                        title={`Remove ${contact.phoneNumber}?`}
                        question="It has not been dialed; it leaves the batch."
                        confirmLabel={`Remove ${contact.phoneNumber}`}
                        onConfirm={async () => {
                          await api(`${path}/contacts/${encodeURIComponent(contact.contactId)}`, { method: "DELETE" })
                          setReloads((n) => n + 1)
                          onRemoved()
                        }}
                      >
                        Remove
                      </ConfirmButton>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && (
        <nav class="pager" aria-label="Contact pages">
          <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
          <span>{page.total === 0 ? 0 : first + 1}–{first + page.contacts.length} of {page.total}</span>
          <button type="button" disabled={page.next === null} onClick={() => page.next && setCursors([...cursors, page.next])}>Next</button>
        </nav>
      )}
      {open && <ContactDrawer path={path} contact={open} features={features} onClose={() => setOpen(undefined)} />}
    </section>
  )
}
