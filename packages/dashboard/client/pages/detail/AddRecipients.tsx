/** Adding recipients to a draft: a file or pasted rows, reported as the API validated them. */
import { useState } from "preact/hooks"
import { api } from "../../api.ts"
import { ErrorNote } from "../../ui.tsx"
import { type Source, sourceBlob, SourcePicker } from "../newBatch/Source.tsx"

interface Added { added: number; skipped: number; rejectedContacts: number; totalContacts: number; errorGroups: ReadonlyArray<{ code: string; message: string; count: number }> }

export const AddRecipients = ({ path, onAdded }: { path: string; onAdded: () => void }) => {
  const [result, setResult] = useState<Added | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [busy, setBusy] = useState(false)
  const add = async (source: Source) => {
    setBusy(true)
    setError(undefined)
    try {
      const form = new FormData()
      const { blob, filename } = sourceBlob(source)
      form.append("file", blob, filename)
      setResult(await api<Added>(`${path}/contacts`, { form }))
      onAdded()
    } catch (failure) {
      setError(failure)
    } finally {
      setBusy(false)
    }
  }
  return (
    <section class="card" aria-labelledby="add-title">
      <h2 id="add-title">Add recipients</h2>
      <SourcePicker idPrefix="add" current={undefined} onSource={(source) => void add(source)} />
      {busy && <p aria-live="polite">Adding…</p>}
      <ErrorNote error={error} />
      {result && (
        <p role="status">
          Added {result.added}, skipped {result.skipped}, rejected {result.rejectedContacts}; the batch has {result.totalContacts} contacts.
          {result.errorGroups.map((g) => ` ${g.count} × ${g.message}.`).join("")}
        </p>
      )}
    </section>
  )
}
