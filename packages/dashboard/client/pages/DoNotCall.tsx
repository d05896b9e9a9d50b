/**
 * The organization's do-not-call list, when the API has it: a cursor-paged
 * list, add a number (with an optional expiry), check one, remove one, and
 * import a CSV / XLSX file of numbers.
 */
import { useEffect, useState } from "preact/hooks"
import { api, ApiError } from "../api.ts"
import { when } from "../model.ts"
import { ConfirmButton, describedBy, ErrorNote, Field } from "../ui.tsx"

interface Entry {
  readonly number: string
  readonly source: string
  readonly expiresAt: string | null
  readonly createdAt: string
}
interface Page {
  readonly items: ReadonlyArray<Entry>
  readonly nextCursor: string | null
}
interface Imported {
  readonly rowsReceived: number
  readonly added: number
  readonly rejectedRows: number
  readonly rejected: ReadonlyArray<{ readonly row: number; readonly message: string }>
}

const pageSize = 50

/** An error the API pinned on one of `fields` goes beside that field; any other goes to the page. */
const split = (failure: unknown, fields: ReadonlyArray<string>): { field?: Record<string, string>; page?: unknown } => {
  const field = failure instanceof ApiError && failure.field !== undefined
    ? fields.find((name) => failure.field === name || failure.field!.endsWith(`.${name}`))
    : undefined
  return field !== undefined ? { field: { [field]: (failure as ApiError).message } } : { page: failure }
}

/** A `datetime-local` value (the person's own zone) as the ISO instant the API takes. */
const instantOf = (local: string): string | undefined => (local === "" ? undefined : new Date(local).toISOString())

export const DoNotCall = ({ available }: { available: boolean }) => {
  // Cursors of the pages before this one, for Previous; the API pages forward only.
  const [cursors, setCursors] = useState<ReadonlyArray<string | undefined>>([undefined])
  const [page, setPage] = useState<Page | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [reloads, setReloads] = useState(0)
  const [note, setNote] = useState("")
  const [number, setNumber] = useState("")
  const [expires, setExpires] = useState("")
  const [addErrors, setAddErrors] = useState<Record<string, string>>({})
  const [checking, setChecking] = useState("")
  const [checkError, setCheckError] = useState<string | undefined>(undefined)
  const [imported, setImported] = useState<Imported | undefined>(undefined)
  const [fileError, setFileError] = useState<string | undefined>(undefined)
  const cursor = cursors[cursors.length - 1]
  useEffect(() => {
    if (!available) return
    api<Page>("/do-not-call", { query: { limit: pageSize, cursor } }).then(setPage, setError)
  }, [available, cursor, reloads])
  if (!available) {
    return <section><h1 tabIndex={-1}>Do not call</h1><p>This server's API has no do-not-call list.</p></section>
  }
  const reload = (done: string) => {
    setNote(done)
    setError(undefined)
    setReloads((n) => n + 1)
  }
  const add = async (event: Event) => {
    event.preventDefault()
    setAddErrors({})
    try {
      const expiresAt = instantOf(expires)
      const added = await api<{ entries: ReadonlyArray<Entry> }>("/do-not-call", { json: { number, ...(expiresAt ? { expiresAt } : {}) } })
      setNumber("")
      setExpires("")
      reload(`${added.entries[0]?.number ?? number} added.`)
    } catch (failure) {
      const { field, page } = split(failure, ["number", "expiresAt"])
      setAddErrors(field ?? {})
      setError(page)
    }
  }
  const check = async (event: Event) => {
    event.preventDefault()
    setCheckError(undefined)
    try {
      const answer = await api<{ number: string; listed: boolean; entry: Entry | null }>(`/do-not-call/${encodeURIComponent(checking)}`)
      setNote(
        answer.listed
          ? `${answer.number} is on the list${answer.entry?.expiresAt ? ` until ${when(answer.entry.expiresAt)}` : ""}.`
          : `${answer.number} is not on the list.`
      )
    } catch (failure) {
      if (failure instanceof ApiError && failure.status < 500) setCheckError(failure.message)
      else setError(failure)
    }
  }
  const importFile = async (file: File) => {
    setFileError(undefined)
    setImported(undefined)
    const form = new FormData()
    form.append("file", file, file.name)
    try {
      const result = await api<Imported>("/do-not-call/import", { form })
      setImported(result)
      reload(`${file.name}: ${result.added} of ${result.rowsReceived} rows added${result.rejectedRows ? `, ${result.rejectedRows} refused` : ""}.`)
    } catch (failure) {
      if (failure instanceof ApiError && failure.status < 500) setFileError(failure.message)
      else setError(failure)
    }
  }
  const items = page?.items ?? []
  const first = (cursors.length - 1) * pageSize
  return (
    <section aria-labelledby="dnc-title">
      <div class="page-head"><h1 id="dnc-title" tabIndex={-1}>Do not call</h1></div>
      <div class="dnc-forms">
        <form class="card" onSubmit={add} aria-labelledby="dnc-add-title">
          <h2 id="dnc-add-title">Add a number</h2>
          <div class="filters">
            <Field id="dnc-number" label="Phone number" error={addErrors.number}>
              <input id="dnc-number" required autoComplete="off" value={number} aria-invalid={addErrors.number ? true : undefined}
                aria-describedby={describedBy("dnc-number", false, addErrors.number)} onInput={(e) => setNumber(e.currentTarget.value)} />
            </Field>
            <Field id="dnc-expires" label="Expires (optional)" hint="Never, unless set" error={addErrors.expiresAt}>
              <input id="dnc-expires" type="datetime-local" value={expires} aria-invalid={addErrors.expiresAt ? true : undefined}
                aria-describedby={describedBy("dnc-expires", true, addErrors.expiresAt)} onInput={(e) => setExpires(e.currentTarget.value)} />
            </Field>
          </div>
          <button type="submit" class="primary">Add</button>
        </form>
        <form class="card" onSubmit={check} aria-labelledby="dnc-check-title">
          <h2 id="dnc-check-title">Check a number</h2>
          <div class="filters">
            <Field id="dnc-check" label="Phone number" error={checkError}>
              <input id="dnc-check" required autoComplete="off" value={checking} aria-invalid={checkError ? true : undefined}
                aria-describedby={describedBy("dnc-check", false, checkError)} onInput={(e) => setChecking(e.currentTarget.value)} />
            </Field>
            <button type="submit">Check</button>
          </div>
        </form>
        <div class="card">
          <h2>Import a file</h2>
          <Field id="dnc-file" label="Numbers (CSV or XLSX, one number a row)" error={fileError}>
            <input id="dnc-file" type="file" accept=".csv,.xlsx,text/csv" aria-describedby={describedBy("dnc-file", false, fileError)}
              onChange={(e) => {
                const file = e.currentTarget.files?.[0]
                if (file) void importFile(file)
                e.currentTarget.value = ""
              }} />
          </Field>
          {imported && imported.rejected.length > 0 && (
            <ul class="problems">
              {imported.rejected.slice(0, 10).map((row) => <li key={row.row}>Row {row.row}: {row.message}</li>)}
              {imported.rejected.length > 10 && <li>…and {imported.rejectedRows - 10} more</li>}
            </ul>
          )}
        </div>
      </div>
      <p role="status">{note}</p>
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table class="dnc-table">
          <caption class="visually-hidden">Numbers never to call</caption>
          <thead><tr><th scope="col">Number</th><th scope="col">Source</th><th scope="col">Expires</th><th scope="col">Added</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {page && items.length === 0 && <tr><td colSpan={5} class="empty">No numbers on the list.</td></tr>}
            {items.map((entry) => (
              <tr key={entry.number}>
                <td data-label="Number" class="nowrap">{entry.number}</td>
                <td data-label="Source">{entry.source}</td>
                <td data-label="Expires">{entry.expiresAt ? when(entry.expiresAt) : "Never"}</td>
                <td data-label="Added">{when(entry.createdAt)}</td>
                <td>
                  <ConfirmButton danger title={`Remove ${entry.number}?`} question="Batches may call this number again." confirmLabel={`Remove ${entry.number}`}
                    onConfirm={async () => {
                      await api(`/do-not-call/${encodeURIComponent(entry.number)}`, { method: "DELETE" })
                      reload(`${entry.number} removed.`)
                    }}>Remove</ConfirmButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Do-not-call pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <span>{items.length === 0 ? 0 : first + 1}–{first + items.length}</span>
        <button type="button" disabled={!page?.nextCursor} onClick={() => setCursors([...cursors, page!.nextCursor!])}>Next</button>
      </nav>
    </section>
  )
}
