/** Small building blocks every page uses: status badges, progress bars, tabs, a confirmation dialog, fields. */
import type { ComponentChildren } from "preact"
import { useEffect, useRef, useState } from "preact/hooks"
import { ApiError } from "./api.ts"
import { label, percent } from "./model.ts"

export const navigate = (hash: string) => {
  location.hash = hash
}

export const StatusBadge = ({ status }: { status: string }) => (
  <span class={`badge badge-${status}`}>{label(status)}</span>
)

export const ProgressBar = ({ done, total, label: name }: { done: number; total: number; label: string }) => (
  <div class="progress-line">
    <div
      class="progress"
      role="progressbar"
      aria-label={name}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
      aria-valuetext={`${done} of ${total} done`}
    >
      <div class="progress-fill" style={{ width: `${percent(done, total)}%` }} />
    </div>
    <span class="progress-text">{done}/{total}</span>
  </div>
)

/** An error from the API, or anything else thrown, as a message a person can act on. */
export const messageOf = (error: unknown): string =>
  error instanceof ApiError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error)

export const ErrorNote = ({ error }: { error: unknown }) =>
  error === undefined || error === null ? null : <p class="error" role="alert">{messageOf(error)}</p>

/** Tabs as WAI-ARIA describes them: arrow keys move between tabs. */
export const Tabs = <K extends string>(
  { tabs, current, onChange, id }: {
    tabs: ReadonlyArray<{ key: K; title: ComponentChildren }>
    current: K
    onChange: (key: K) => void
    id: string
  }
) => {
  const refs = useRef<Record<string, HTMLButtonElement | null>>({})
  const move = (event: KeyboardEvent, index: number) => {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0
    if (step === 0) return
    event.preventDefault()
    const next = tabs[(index + step + tabs.length) % tabs.length]!
    onChange(next.key)
    refs.current[next.key]?.focus()
  }
  return (
    <div role="tablist" class="tabs">
      {tabs.map((tab, index) => (
        <button
          type="button"
          role="tab"
          id={`${id}-tab-${tab.key}`}
          aria-controls={`${id}-panel-${tab.key}`}
          aria-selected={tab.key === current}
          tabIndex={tab.key === current ? 0 : -1}
          ref={(element) => void (refs.current[tab.key] = element)}
          onClick={() => onChange(tab.key)}
          onKeyDown={(event) => move(event, index)}
        >
          {tab.title}
        </button>
      ))}
    </div>
  )
}

export const TabPanel = ({ id, tab, children }: { id: string; tab: string; children: ComponentChildren }) => (
  <div role="tabpanel" id={`${id}-panel-${tab}`} aria-labelledby={`${id}-tab-${tab}`} tabIndex={0}>
    {children}
  </div>
)

/**
 * A confirmation in the browser's modal dialog: focus moves into it, Escape
 * closes it, and focus returns to what opened it.
 */
export const ConfirmButton = (
  { title, question, confirmLabel, onConfirm, danger, disabled, children }: {
    title: string
    question: ComponentChildren
    confirmLabel: string
    onConfirm: () => Promise<unknown>
    danger?: boolean
    disabled?: boolean
    children: ComponentChildren
  }
) => {
  const dialog = useRef<HTMLDialogElement>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const confirm = async () => {
    setBusy(true)
    setError(undefined)
    try {
      await onConfirm()
      dialog.current?.close()
    } catch (failure) {
      setError(failure)
    } finally {
      setBusy(false)
    }
  }
  return (
    <>
      <button type="button" class={danger ? "danger" : ""} disabled={disabled} onClick={() => dialog.current?.showModal()}>
        {children}
      </button>
      <dialog ref={dialog} aria-labelledby={`${confirmLabel}-title`.replace(/\W/g, "-")}>
        <h2 id={`${confirmLabel}-title`.replace(/\W/g, "-")}>{title}</h2>
        <p>{question}</p>
        <ErrorNote error={error} />
        <div class="actions">
          <button type="button" onClick={() => dialog.current?.close()}>Keep as is</button>
          <button type="button" class={danger ? "danger" : "primary"} disabled={busy} onClick={confirm}>
            {confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  )
}

/** A labelled form field with its server error beside it. */
export const Field = (
  { label: text, error, hint, children, id }: {
    label: ComponentChildren
    error?: string | undefined
    hint?: string | undefined
    id: string
    children: ComponentChildren
  }
) => (
  <div class={`field${error ? " invalid" : ""}`}>
    <label for={id}>{text}</label>
    {children}
    {hint && <small id={`${id}-hint`}>{hint}</small>}
    {error && <small class="field-error" id={`${id}-error`} role="alert">{error}</small>}
  </div>
)

/** Describes an input by its hint and error, as `Field` renders them. */
export const describedBy = (id: string, hint: boolean, error: string | undefined): string | undefined =>
  [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined

/** A value that follows `value`, `millis` after it stops changing. */
export const useDebounced = <A,>(value: A, millis: number): A => {
  const [settled, setSettled] = useState(value)
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), millis)
    return () => clearTimeout(timer)
  }, [value, millis])
  return settled
}

/** A file the browser saves under `filename`. */
export const download = (filename: string, file: Blob) => {
  const link = document.createElement("a")
  link.href = URL.createObjectURL(file)
  link.download = filename
  link.click()
  setTimeout(() => URL.revokeObjectURL(link.href), 1_000)
}
