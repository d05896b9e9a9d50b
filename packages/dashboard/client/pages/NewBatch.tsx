/**
 * A new batch: contacts from a file or pasted rows, validated by the API
 * into a report (fix rejected rows in place, map the phone column when none
 * is recognised), the settings, the estimate, then the create. Server errors
 * land next to their field.
 */
import { useEffect, useMemo, useState } from "preact/hooks"
import { api, apiCsv, ApiError, type Features } from "../api.ts"
import { forecast } from "../estimate.ts"
import type { BatchList, ValidationReport } from "../model.ts"
import { download, ErrorNote, messageOf, navigate } from "../ui.tsx"
import { type Fix, isMissingPhoneColumn, Report, rowOf } from "./newBatch/Report.tsx"
import { initialSettings, requestFields, type Settings, SettingsForm, settingsField } from "./newBatch/Settings.tsx"
import { type Source, sourceBlob, SourcePicker } from "./newBatch/Source.tsx"

/** Fields as a multipart form carries them: text as is, anything else as JSON, which the API decodes. */
const appendFields = (form: FormData, fields: Record<string, unknown>) => {
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) form.append(key, typeof value === "string" ? value : JSON.stringify(value))
  }
}

export const NewBatch = (_: { features: Features | undefined }) => {
  const [source, setSource] = useState<Source | undefined>(undefined)
  const [settings, setSettings] = useState<Settings>(initialSettings)
  const [mapping, setMapping] = useState<{ phone?: string; name?: string }>({})
  const [report, setReport] = useState<ValidationReport | undefined>(undefined)
  const [validating, setValidating] = useState(false)
  const [reportError, setReportError] = useState<unknown>(undefined)
  // Each validation's report starts afresh: its tab, its open editor.
  const [reportKey, setReportKey] = useState(0)
  const [fixes, setFixes] = useState<Record<number, Fix>>({})
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [formError, setFormError] = useState<unknown>(undefined)
  const [submitting, setSubmitting] = useState(false)
  const [agents, setAgents] = useState<ReadonlyArray<string>>([])

  useEffect(() => {
    api<BatchList>("/batches", { query: { limit: 100 } })
      .then((list) => setAgents([...new Set(list.batches.map((b) => b.agentId))]))
      .catch(() => undefined)
  }, [])

  const columnMapping = mapping.phone ? { phone: mapping.phone, ...(mapping.name ? { name: mapping.name } : {}) } : undefined
  /** The validation request of the source as the settings read it. */
  const validationForm = (current: Source) => {
    const { blob, filename } = sourceBlob(current)
    const form = new FormData()
    appendFields(form, {
      dropDuplicates: settings.dropDuplicates,
      ...(settings.defaultCountry.trim().length === 2 ? { defaultCountry: settings.defaultCountry.trim().toUpperCase() } : {}),
      ...(columnMapping ? { columnMapping } : {})
    })
    form.append("file", blob, filename)
    return form
  }
  const exportRejected = async () => {
    if (source === undefined) return
    download("rejected-rows.csv", await apiCsv("/batches/validate", { form: validationForm(source), query: { format: "csv" } }))
  }

  useEffect(() => {
    if (source === undefined) return
    let live = true
    setValidating(true)
    setReportError(undefined)
    api<ValidationReport>("/batches/validate", { form: validationForm(source) })
      .then((answer) => {
        if (!live) return
        setReport(answer)
        setReportKey((n) => n + 1)
        setFixes({})
      }, (failure) => {
        if (!live) return
        setReport(undefined)
        setReportError(failure)
        const suggestion = isMissingPhoneColumn(failure) ? (failure.details.suggestions as Array<string> | undefined)?.[0] : undefined
        if (suggestion && !mapping.phone) setMapping({ ...mapping, phone: suggestion })
      })
      .finally(() => live && setValidating(false))
    return () => void (live = false)
  }, [source, mapping.phone, mapping.name, settings.dropDuplicates, settings.defaultCountry])

  const validFixes = Object.values(fixes).filter((fix) => fix.valid)
  const contacts = (report?.acceptedContacts ?? 0) + validFixes.length
  const estimate = useMemo(() => forecast({
    contacts,
    concurrentCallLimit: settings.concurrentCallLimit,
    windows: settings.callingWindows,
    workingDays: settings.workingDays,
    maxCallsPerDay: settings.maxCallsPerDay.trim() ? Number(settings.maxCallsPerDay) : null,
    maxAttempts: settings.maxAttempts,
    startAt: settings.start === "at" && settings.startAt ? settings.startAt : null
  }), [contacts, settings])

  const submit = async (event: Event) => {
    event.preventDefault()
    setErrors({})
    setFormError(undefined)
    if (source === undefined || report === undefined) {
      setFormError(new Error("Choose a contact file or paste rows first, and let them validate."))
      return
    }
    setSubmitting(true)
    try {
      const fields = { ...requestFields(settings), ...(columnMapping ? { columnMapping } : {}) }
      let created: { batchJobId: string }
      if (validFixes.length > 0) {
        // Fixed rows go back as JSON contacts, with the rows the file had right.
        const rows = [...report.accepted.map(rowOf), ...validFixes.map((fix) => rowOf(fix.contact))]
        const { columnMapping: _, ...rest } = fields
        created = await api("/batches", { json: { ...rest, contacts: rows } })
      } else {
        const form = new FormData()
        appendFields(form, fields)
        const { blob, filename } = sourceBlob(source)
        form.append("file", blob, filename)
        created = await api("/batches", { form })
      }
      navigate(`#/batches/${encodeURIComponent(created.batchJobId)}`)
    } catch (failure) {
      const field = failure instanceof ApiError ? settingsField(failure.field) : undefined
      if (field !== undefined && field !== "contacts" && field !== "file") {
        setErrors({ [field]: failure instanceof ApiError ? failure.message : messageOf(failure) })
        requestAnimationFrame(() => document.querySelector<HTMLElement>("[aria-invalid=true], .invalid input")?.focus())
      } else {
        setFormError(failure)
      }
    } finally {
      setSubmitting(false)
    }
  }

  const headers = isMissingPhoneColumn(reportError) ? (reportError.details.headers as Array<string> | undefined) ?? [] : []
  return (
    <form class="new-batch" onSubmit={submit} noValidate aria-labelledby="new-title">
      <div class="page-head"><h1 id="new-title" tabIndex={-1}>New batch</h1></div>
      <section aria-labelledby="contacts-title">
        <h2 id="contacts-title">Contacts</h2>
        <SourcePicker idPrefix="contacts" current={source} onSource={(next) => { setSource(next); setMapping({}) }} />
        {validating && <p aria-live="polite">Validating…</p>}
        {reportError !== undefined && !isMissingPhoneColumn(reportError) && <ErrorNote error={reportError} />}
        {(headers.length > 0 || mapping.phone) && (
          <div class="mapping" role="group" aria-labelledby="mapping-title">
            <h3 id="mapping-title">Column mapping</h3>
            {isMissingPhoneColumn(reportError) && <p class="error" role="alert">{reportError.message}</p>}
            <div class="grid">
              <div class="field">
                <label for="map-phone">Phone column</label>
                <select id="map-phone" value={mapping.phone ?? ""} onChange={(e) => setMapping({ ...mapping, phone: e.currentTarget.value || undefined })}>
                  <option value="">Choose a column</option>
                  {[...new Set([...headers, ...(mapping.phone ? [mapping.phone] : [])])].map((h) => <option value={h}>{h}</option>)}
                </select>
              </div>
              <div class="field">
                <label for="map-name">Name column (optional)</label>
                <select id="map-name" value={mapping.name ?? ""} onChange={(e) => setMapping({ ...mapping, name: e.currentTarget.value || undefined })}>
                  <option value="">Detected by its header</option>
                  {[...new Set([...headers, ...(mapping.name ? [mapping.name] : [])])].map((h) => <option value={h}>{h}</option>)}
                </select>
              </div>
            </div>
          </div>
        )}
        {report !== undefined && (
          <Report key={reportKey} report={report} fixes={fixes} onExportRejected={exportRejected} defaultCountry={settings.defaultCountry} onFix={(row, fix) => setFixes((before) => ({ ...before, [row]: fix }))} />
        )}
      </section>
      <SettingsForm settings={settings} onChange={setSettings} errors={errors} agents={agents} />
      <section class="estimate" aria-labelledby="estimate-title">
        <h2 id="estimate-title">Estimate</h2>
        <dl>
          <div><dt>Contacts</dt><dd>{contacts}</dd></div>
          <div><dt>Duration</dt><dd>{estimate.duration}</dd></div>
          <div><dt>Cost</dt><dd>{estimate.cost} <small>at $0.10 a connected minute; the created batch shows your price</small></dd></div>
          <div><dt>Feasible</dt><dd>{estimate.problems.length === 0 ? "Yes" : "Check:"}</dd></div>
        </dl>
        {estimate.problems.length > 0 && <ul class="problems">{estimate.problems.map((p) => <li key={p}>{p}</li>)}</ul>}
      </section>
      <ErrorNote error={formError} />
      {Object.keys(errors).length > 0 && <p class="error" role="alert">The server refused a setting: see the field marked above.</p>}
      <div class="actions submit">
        <a class="button" href="#/">Cancel</a>
        <button type="submit" class="primary" disabled={submitting}>
          {settings.start === "draft" ? "Save draft" : settings.start === "at" ? "Schedule batch" : "Create and start"}
        </button>
      </div>
    </form>
  )
}
