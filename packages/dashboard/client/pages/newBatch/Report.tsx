/**
 * The validation report: Accepted and Rejected tabs with row numbers and
 * reasons, duplicate numbers flagged, and an inline editor for a rejected
 * row that re-validates as you type. A fixed row joins the batch as a JSON
 * contact when it is created.
 */
import { useEffect, useMemo, useState } from "preact/hooks"
import { api, ApiError } from "../../api.ts"
import type { RowContact, RowError, ValidationReport } from "../../model.ts"
import { ErrorNote, messageOf, TabPanel, Tabs, useDebounced } from "../../ui.tsx"

/** A rejected row as edited, and whether the API accepts it now. */
export interface Fix {
  readonly contact: RowContact
  readonly valid: boolean
  readonly message: string
}

/** A JSON contact row, as `POST /batches` reads one. */
export const rowOf = (contact: { phone: string; name: string | null; externalId: string | null; customFields: Readonly<Record<string, string>>; ignoreE164Validation?: boolean }) => ({
  ...contact.customFields,
  phone: contact.phone,
  ...(contact.name ? { name: contact.name } : {}),
  ...(contact.externalId ? { externalId: contact.externalId } : {}),
  ...(contact.ignoreE164Validation ? { ignoreE164Validation: true } : {})
})

const RowEditor = (
  { error, defaultCountry, onChange, onClose }: {
    error: RowError
    defaultCountry: string
    onChange: (fix: Fix) => void
    onClose: () => void
  }
) => {
  const initial: RowContact = error.contact ?? { phone: error.value ?? "", name: null, externalId: null, ignoreE164Validation: false, customFields: {} }
  const [contact, setContact] = useState<RowContact>(initial)
  const [verdict, setVerdict] = useState<{ valid: boolean; message: string } | undefined>(undefined)
  const settled = useDebounced(contact, 250)
  useEffect(() => {
    let live = true
    api<ValidationReport>("/batches/validate", { json: { contacts: [rowOf(settled)], defaultCountry: defaultCountry || undefined } })
      .then((report) => {
        const problem = report.rejected[0]
        const result = problem === undefined
          ? { valid: true, message: `Accepted as ${report.accepted[0]?.phone ?? settled.phone}` }
          : { valid: false, message: problem.message }
        if (!live) return
        setVerdict(result)
        onChange({ contact: settled, ...result })
      })
      .catch((failure) => live && setVerdict({ valid: false, message: messageOf(failure) }))
    return () => void (live = false)
  }, [settled])
  const id = `fix-${error.row}`
  const set = (patch: Partial<RowContact>) => setContact({ ...contact, ...patch })
  return (
    <div class="row-editor" role="group" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Fix row {error.row}</h3>
      <div class="grid">
        <div class="field">
          <label for={`${id}-phone`}>Phone</label>
          <input id={`${id}-phone`} value={contact.phone} aria-describedby={`${id}-verdict`} onInput={(e) => set({ phone: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for={`${id}-name`}>Name</label>
          <input id={`${id}-name`} value={contact.name ?? ""} onInput={(e) => set({ name: e.currentTarget.value || null })} />
        </div>
        {Object.entries(contact.customFields).map(([key, value]) => (
          <div class="field" key={key}>
            <label for={`${id}-var-${key}`}>{key}</label>
            <input id={`${id}-var-${key}`} value={value} onInput={(e) => set({ customFields: { ...contact.customFields, [key]: e.currentTarget.value } })} />
          </div>
        ))}
        <div class="field checkbox">
          <input id={`${id}-ignore`} type="checkbox" checked={contact.ignoreE164Validation} onChange={(e) => set({ ignoreE164Validation: e.currentTarget.checked })} />
          <label for={`${id}-ignore`}>Dial as written (skip number validation)</label>
        </div>
      </div>
      <p id={`${id}-verdict`} class={verdict?.valid ? "ok" : "error"} aria-live="polite">
        {verdict === undefined ? "Checking…" : verdict.valid ? `✓ ${verdict.message}; it will be added to the batch.` : `✗ ${verdict.message}`}
      </p>
      <button type="button" onClick={onClose}>Done</button>
    </div>
  )
}

export const Report = (
  { report, fixes, onFix, onExportRejected, defaultCountry }: {
    report: ValidationReport
    /** Downloads the rejected rows as the API writes them (formula cells neutralised), to correct in a spreadsheet. */
    onExportRejected: () => Promise<void>
    fixes: Readonly<Record<number, Fix>>
    onFix: (row: number, fix: Fix) => void
    defaultCountry: string
  }
) => {
  const [tab, setTab] = useState<"accepted" | "rejected">(report.rejectedContacts > 0 ? "rejected" : "accepted")
  const [editing, setEditing] = useState<number | undefined>(undefined)
  const duplicateOf = useMemo(() => {
    const byRow = new Map<number, number>()
    for (const duplicate of report.duplicates) for (const row of duplicate.rows.slice(1)) byRow.set(row, duplicate.rows[0]!)
    return byRow
  }, [report])
  const fixed = Object.values(fixes).filter((fix) => fix.valid).length
  const shownAccepted = report.accepted.slice(0, 500)
  const [exportError, setExportError] = useState<unknown>(undefined)
  const exportRejected = () => onExportRejected().then(() => setExportError(undefined), setExportError)
  return (
    <section class="report" aria-labelledby="report-title">
      <h2 id="report-title">Validation report</h2>
      <p class="summary" aria-live="polite">
        {report.rowsReceived} rows read: <strong>{report.acceptedContacts} accepted</strong>, <strong>{report.rejectedContacts} rejected</strong>
        {report.duplicates.length > 0 && <>, {report.duplicates.length} duplicate number{report.duplicates.length === 1 ? "" : "s"}</>}
        {fixed > 0 && <>, {fixed} fixed</>}.
        {report.variables.length > 0 && <> Variables for the agent: {report.variables.join(", ")}.</>}
      </p>
      <Tabs
        id="report"
        current={tab}
        onChange={setTab}
        tabs={[
          { key: "accepted", title: `Accepted (${report.acceptedContacts})` },
          { key: "rejected", title: `Rejected (${report.rejectedContacts})` }
        ]}
      />
      {tab === "accepted" && (
        <TabPanel id="report" tab="accepted">
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Accepted rows</caption>
              <thead><tr><th scope="col">Row</th><th scope="col">Phone</th><th scope="col">Name</th><th scope="col">Variables</th><th scope="col">Note</th></tr></thead>
              <tbody>
                {shownAccepted.map((contact) => (
                  <tr key={contact.row}>
                    <td data-label="Row">{contact.row}</td>
                    <td data-label="Phone">{contact.phone}</td>
                    <td data-label="Name">{contact.name ?? ""}</td>
                    <td data-label="Variables">{Object.entries(contact.customFields).map(([k, v]) => `${k}: ${v}`).join(", ")}</td>
                    <td data-label="Note">{duplicateOf.has(contact.row) && <span class="badge badge-duplicate">duplicate of row {duplicateOf.get(contact.row)}</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {report.accepted.length > shownAccepted.length && <p>First {shownAccepted.length} of {report.accepted.length} shown.</p>}
          {report.duplicates.length > 0 && (
            <p class="note">Duplicates: {report.duplicates.slice(0, 10).map((d) => `${d.phone} on rows ${d.rows.join(", ")}`).join("; ")}. Tick “Drop duplicates” to keep only the first row of each.</p>
          )}
        </TabPanel>
      )}
      {tab === "rejected" && (
        <TabPanel id="report" tab="rejected">
          {report.rejected.length === 0 ? <p class="empty">No row was rejected.</p> : (
            <>
              <ul class="groups">
                {report.errorGroups.map((group) => <li key={group.code}>{group.count} × {group.message} (rows {group.rows.slice(0, 20).join(", ")}{group.rows.length > 20 ? "…" : ""})</li>)}
              </ul>
              <button type="button" onClick={exportRejected}>Export rejected rows (CSV)</button>
              <ErrorNote error={exportError} />
              <div class="table-wrap">
                <table>
                  <caption class="visually-hidden">Rejected rows</caption>
                  <thead><tr><th scope="col">Row</th><th scope="col">Value</th><th scope="col">Reason</th><th scope="col">Fix</th></tr></thead>
                  <tbody>
                    {report.rejected.map((error) => {
                      const fix = fixes[error.row]
                      return [
                        <tr key={error.row} class={fix?.valid ? "fixed" : ""}>
                          <td data-label="Row">{error.row}</td>
                          <td data-label="Value">{fix?.contact.phone ?? error.value ?? error.contact?.phone ?? ""}</td>
                          <td data-label="Reason">{fix?.valid ? <span class="ok">Fixed</span> : (fix?.message ?? error.message)}</td>
                          <td data-label="Fix">
                            {error.contact !== undefined || error.value !== undefined
                              ? <button type="button" class="nowrap" aria-expanded={editing === error.row} onClick={() => setEditing(editing === error.row ? undefined : error.row)}>Edit row {error.row}</button>
                              : null}
                          </td>
                        </tr>,
                        editing === error.row && (
                          <tr key={`${error.row}-edit`} class="editing">
                            <td colSpan={4}>
                              <RowEditor error={error} defaultCountry={defaultCountry} onChange={(f) => onFix(error.row, f)} onClose={() => setEditing(undefined)} />
                            </td>
                          </tr>
                        )
                      ]
                    })}
                  </tbody>
                </table>
              </div>
            </>
          )}
        </TabPanel>
      )}
    </section>
  )
}

export const isMissingPhoneColumn = (error: unknown): error is ApiError =>
  error instanceof ApiError && error.code === "missing_phone_column"
