/** The organization's do-not-call list, when the API has it: paged list, add, remove, import a file. */
import { useEffect, useState } from "preact/hooks"
import { api } from "../api.ts"
import { when } from "../model.ts"
import { ConfirmButton, ErrorNote } from "../ui.tsx"
import { firstString, itemsOf, totalOf } from "./resource.ts"

const pageSize = 50

export const DoNotCall = ({ available }: { available: boolean }) => {
  const [offset, setOffset] = useState(0)
  const [body, setBody] = useState<unknown>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [number, setNumber] = useState("")
  const [reason, setReason] = useState("")
  const [reloads, setReloads] = useState(0)
  const [note, setNote] = useState("")
  useEffect(() => {
    if (!available) return
    api("/do-not-call", { query: { limit: pageSize, offset } }).then(setBody, setError)
  }, [available, offset, reloads])
  if (!available) {
    return <section><h1 tabIndex={-1}>Do not call</h1><p>This server's API has no do-not-call list.</p></section>
  }
  const items = itemsOf(body)
  const total = totalOf(body)
  const run = async (work: () => Promise<unknown>, done: string) => {
    setError(undefined)
    try {
      await work()
      setNote(done)
      setReloads((n) => n + 1)
    } catch (failure) {
      setError(failure)
    }
  }
  return (
    <section aria-labelledby="dnc-title">
      <div class="page-head"><h1 id="dnc-title" tabIndex={-1}>Do not call</h1></div>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); void run(() => api("/do-not-call", { json: { phone: number, number, ...(reason ? { reason } : {}) } }), `${number} added.`).then(() => setNumber("")) }}>
        <div class="field"><label for="dnc-number">Phone number</label><input id="dnc-number" required value={number} onInput={(e) => setNumber(e.currentTarget.value)} /></div>
        <div class="field grow"><label for="dnc-reason">Reason (optional)</label><input id="dnc-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} /></div>
        <button type="submit" class="primary">Add</button>
      </form>
      <div class="field">
        <label for="dnc-file">Import a file of numbers (CSV, XLSX)</label>
        <input id="dnc-file" type="file" accept=".csv,.xlsx,.xls,.json" onChange={(e) => {
          const file = e.currentTarget.files?.[0]
          if (!file) return
          const form = new FormData()
          form.append("file", file, file.name)
          void run(() => api("/do-not-call/import", { form }), `${file.name} imported.`)
        }} />
      </div>
      {note && <p role="status">{note}</p>}
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Numbers never to call</caption>
          <thead><tr><th scope="col">Number</th><th scope="col">Reason</th><th scope="col">Added</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {items.map((item) => {
              const phone = firstString(item, ["phone", "number", "phoneNumber", "e164"])
              return (
                <tr key={phone}>
                  <td data-label="Number">{phone}</td>
                  <td data-label="Reason">{firstString(item, ["reason", "source"])}</td>
                  <td data-label="Added">{when(firstString(item, ["createdAt", "addedAt"]) || null)}</td>
                  <td>
                    <ConfirmButton danger title={`Remove ${phone}?`} question="Batches may call this number again." confirmLabel={`Remove ${phone}`} onConfirm={() => run(() => api(`/do-not-call/${encodeURIComponent(phone)}`, { method: "DELETE" }), `${phone} removed.`)}>Remove</ConfirmButton>
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Do-not-call pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - pageSize))}>Previous</button>
        <span>{items.length === 0 ? 0 : offset + 1}–{offset + items.length}{total !== undefined ? ` of ${total}` : ""}</span>
        <button type="button" disabled={items.length < pageSize} onClick={() => setOffset(offset + pageSize)}>Next</button>
      </nav>
    </section>
  )
}
