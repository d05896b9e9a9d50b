/** The organization's batches: status filter, search by name, paging, progress of each. */
import { useEffect, useMemo, useState } from "preact/hooks"
import { api } from "../api.ts"
import { type BatchList as List, batchStatuses, label, when } from "../model.ts"
import { ErrorNote, StatusBadge, useDebounced } from "../ui.tsx"

const pageSize = 20

export const BatchList = () => {
  const [status, setStatus] = useState("")
  const [search, setSearch] = useState("")
  const [offset, setOffset] = useState(0)
  const [list, setList] = useState<List | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [progress, setProgress] = useState<Record<string, number>>({})
  const query = useDebounced(search.trim().toLowerCase(), 200)

  useEffect(() => {
    let live = true
    setError(undefined)
    // The API lists by status and page; a name search reads a wider page and filters it here.
    api<List>("/batches", { query: { status, limit: query === "" ? pageSize : 100, offset: query === "" ? offset : 0 } })
      .then((answer) => live && setList(answer), (failure) => live && setError(failure))
    return () => void (live = false)
  }, [status, offset, query])

  const shown = useMemo(
    () => (list?.batches ?? []).filter((batch) =>
      query === "" || batch.name.toLowerCase().includes(query) || batch.batchJobId.toLowerCase().includes(query)
    ),
    [list, query]
  )

  // Contacts done per batch: one small read each, for the bars on this page only.
  useEffect(() => {
    let live = true
    for (const batch of shown) {
      if (batch.status === "draft" || batch.totalContacts === 0) continue
      api<{ progress: { contactsProcessed: number } }>(`/batches/${encodeURIComponent(batch.batchJobId)}`, { query: { contactsPageSize: 1 } })
        .then((details) => live && setProgress((before) => ({ ...before, [batch.batchJobId]: details.progress.contactsProcessed })))
        .catch(() => undefined)
    }
    return () => void (live = false)
  }, [shown])

  const total = list?.pagination.total ?? 0
  return (
    <section aria-labelledby="batches-title">
      <div class="page-head">
        <h1 id="batches-title" tabIndex={-1}>Batches</h1>
        <a class="button primary" href="#/new">New batch</a>
      </div>
      <div class="filters">
        <div class="field">
          <label for="batch-status">Status</label>
          <select id="batch-status" value={status} onChange={(e) => { setStatus(e.currentTarget.value); setOffset(0) }}>
            <option value="">All</option>
            {batchStatuses.map((s) => <option value={s}>{label(s)}</option>)}
          </select>
        </div>
        <div class="field grow">
          <label for="batch-search">Search by name or id</label>
          <input id="batch-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </div>
      </div>
      <ErrorNote error={error} />
      {list === undefined && error === undefined && <p aria-live="polite">Loading…</p>}
      {list !== undefined && shown.length === 0 && <p class="empty">No batches{status ? ` ${label(status)}` : ""}{query ? ` matching “${search}”` : ""}.</p>}
      {shown.length > 0 && (
        <div class="table-wrap">
          <table class="batches">
            <caption class="visually-hidden">Batches, newest first</caption>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Contacts</th><th scope="col">Created</th></tr>
            </thead>
            <tbody>
              {shown.map((batch) => {
                const done = progress[batch.batchJobId] ?? 0
                return (
                  <tr key={batch.batchJobId}>
                    <td data-label="Name"><a href={`#/batches/${encodeURIComponent(batch.batchJobId)}`}>{batch.name}</a></td>
                    <td data-label="Status"><StatusBadge status={batch.status} /></td>
                    <td data-label="Progress">
                      <div class="progress-line">
                        <progress max={Math.max(1, batch.totalContacts)} value={done} aria-label={`${batch.name}: ${done} of ${batch.totalContacts} contacts done`} />
                        <span class="progress-text">{done}/{batch.totalContacts}</span>
                      </div>
                    </td>
                    <td data-label="Contacts">{batch.totalContacts}</td>
                    <td data-label="Created">{when(batch.timing.createdAt)}</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
      {query === "" && total > pageSize && (
        <nav class="pager" aria-label="Batch pages">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - pageSize))}>Previous</button>
          <span>{offset + 1}–{Math.min(offset + pageSize, total)} of {total}</span>
          <button type="button" disabled={!list?.pagination.hasMore} onClick={() => setOffset(offset + pageSize)}>Next</button>
        </nav>
      )}
    </section>
  )
}
