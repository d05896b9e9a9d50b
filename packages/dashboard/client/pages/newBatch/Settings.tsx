/** A batch's settings, as the create request takes them, with each field's server error beside it. */
import { useMemo } from "preact/hooks"
import { days, retryableOutcomes, label, type Window } from "../../model.ts"
import { describedBy, Field } from "../../ui.tsx"

export interface Settings {
  name: string
  description: string
  agentId: string
  phoneNumberIds: string
  phoneRotationStrategy: "random" | "sequential" | "round_robin"
  concurrentCallLimit: number
  maxAttempts: number
  /** Minutes before a retry; per outcome when set there. */
  retryMinutes: number
  retryMinutesByOutcome: Record<string, string>
  timezone: string
  callingWindows: Array<Window>
  workingDays: Array<number>
  start: "now" | "at" | "draft"
  startAt: string
  maxCallsPerDay: string
  defaultCountry: string
  dropDuplicates: boolean
}

export const initialSettings = (): Settings => ({
  name: "",
  description: "",
  agentId: "",
  phoneNumberIds: "",
  phoneRotationStrategy: "round_robin",
  concurrentCallLimit: 5,
  maxAttempts: 3,
  retryMinutes: 60,
  retryMinutesByOutcome: {},
  timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
  callingWindows: [{ start: "09:00", end: "18:00" }],
  workingDays: [1, 2, 3, 4, 5],
  start: "now",
  startAt: "",
  maxCallsPerDay: "",
  defaultCountry: "",
  dropDuplicates: false
})

/** The create request's fields of these settings (contacts aside). */
export const requestFields = (s: Settings): Record<string, unknown> => {
  const byOutcome = Object.fromEntries(
    Object.entries(s.retryMinutesByOutcome).filter(([, v]) => v.trim() !== "").map(([k, v]) => [k, Math.round(Number(v) * 60)])
  )
  const ids = s.phoneNumberIds.split(/[\s,]+/).filter(Boolean)
  return {
    name: s.name,
    ...(s.description.trim() ? { description: s.description } : {}),
    agentId: s.agentId,
    ...(ids.length > 0 ? { phoneNumberIds: ids } : {}),
    phoneRotationStrategy: s.phoneRotationStrategy,
    concurrentCallLimit: s.concurrentCallLimit,
    maxAttempts: s.maxAttempts,
    retryDelay: { default: Math.round(s.retryMinutes * 60), ...byOutcome },
    timezone: s.timezone,
    callingWindows: s.callingWindows,
    workingDays: s.workingDays,
    ...(s.start === "at" ? { scheduledStartTime: s.startAt } : {}),
    ...(s.start === "draft" ? { draft: true } : {}),
    ...(s.maxCallsPerDay.trim() ? { maxCallsPerDay: Number(s.maxCallsPerDay) } : {}),
    ...(s.defaultCountry.trim() ? { defaultCountry: s.defaultCountry.trim().toUpperCase() } : {}),
    dropDuplicates: s.dropDuplicates
  }
}

/** The settings field an API error names; the engine calls the windows `callingWindow`. */
const fieldAliases: Record<string, string> = { callingWindow: "callingWindows", retryDelaySeconds: "retryDelay", fromPhoneNumberId: "phoneNumberIds" }
export const settingsField = (field: string | undefined): string | undefined =>
  field === undefined ? undefined : fieldAliases[field] ?? field.split(".")[0]

const timeZones = (): ReadonlyArray<string> => {
  const supported = (Intl as unknown as { supportedValuesOf?: (key: string) => Array<string> }).supportedValuesOf
  return supported ? ["UTC", ...supported("timeZone").filter((z) => z !== "UTC")] : ["UTC"]
}

export const SettingsForm = (
  { settings, onChange, errors, agents }: {
    settings: Settings
    onChange: (settings: Settings) => void
    errors: Readonly<Record<string, string>>
    agents: ReadonlyArray<string>
  }
) => {
  const zones = useMemo(timeZones, [])
  const set = <K extends keyof Settings>(key: K, value: Settings[K]) => onChange({ ...settings, [key]: value })
  const input = (key: "name" | "description" | "agentId" | "phoneNumberIds" | "defaultCountry", text: string, hint?: string, extra: Record<string, unknown> = {}) => (
    <Field id={`s-${key}`} label={text} error={errors[key]} hint={hint}>
      <input
        id={`s-${key}`}
        value={settings[key]}
        aria-invalid={errors[key] ? true : undefined}
        aria-describedby={describedBy(`s-${key}`, hint !== undefined, errors[key])}
        onInput={(e) => set(key, e.currentTarget.value)}
        {...extra}
      />
    </Field>
  )
  const number = (key: "concurrentCallLimit" | "maxAttempts" | "retryMinutes", text: string, min: number, max: number, errorKey: string = key) => (
    <Field id={`s-${key}`} label={text} error={errors[errorKey]}>
      <input
        id={`s-${key}`}
        type="number"
        min={min}
        max={max}
        value={settings[key]}
        aria-invalid={errors[errorKey] ? true : undefined}
        aria-describedby={describedBy(`s-${key}`, false, errors[errorKey])}
        onInput={(e) => set(key, Number(e.currentTarget.value))}
      />
    </Field>
  )
  const windows = settings.callingWindows
  return (
    <section class="settings" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <fieldset>
        <legend>Batch</legend>
        <div class="grid">
          {input("name", "Name", undefined, { required: true, autocomplete: "off" })}
          {input("description", "Description (optional)")}
        </div>
      </fieldset>
      <fieldset>
        <legend>Agent and caller numbers</legend>
        <div class="grid">
          {input("agentId", "Agent id", undefined, { required: true, list: "known-agents", autocomplete: "off" })}
          <datalist id="known-agents">{agents.map((a) => <option value={a} />)}</datalist>
          {input("phoneNumberIds", "Caller number ids", "Comma-separated; empty uses all of the agent's outbound numbers.")}
          <Field id="s-rotation" label="Caller number rotation" error={errors.phoneRotationStrategy}>
            <select id="s-rotation" value={settings.phoneRotationStrategy} onChange={(e) => set("phoneRotationStrategy", e.currentTarget.value as Settings["phoneRotationStrategy"])}>
              <option value="round_robin">Round robin</option>
              <option value="sequential">Sequential</option>
              <option value="random">Random</option>
            </select>
          </Field>
          {number("concurrentCallLimit", "Concurrent calls", 1, 100)}
        </div>
      </fieldset>
      <fieldset>
        <legend>Attempts and retries</legend>
        <div class="grid">
          {number("maxAttempts", "Attempts per contact", 1, 10)}
          {number("retryMinutes", "Minutes before a retry", 0, 10080, "retryDelay")}
          {retryableOutcomes.map((outcome) => (
            <Field id={`s-delay-${outcome}`} label={`After ${label(outcome)} (minutes)`} key={outcome}>
              <input
                id={`s-delay-${outcome}`}
                type="number"
                min={0}
                placeholder={String(settings.retryMinutes)}
                value={settings.retryMinutesByOutcome[outcome] ?? ""}
                onInput={(e) => set("retryMinutesByOutcome", { ...settings.retryMinutesByOutcome, [outcome]: e.currentTarget.value })}
              />
            </Field>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>When to call</legend>
        <div class="grid">
          <Field id="s-timezone" label="Time zone" error={errors.timezone} hint="Type to search the IANA time zones.">
            <input
              id="s-timezone"
              list="time-zones"
              value={settings.timezone}
              autocomplete="off"
              aria-invalid={errors.timezone ? true : undefined}
              aria-describedby={describedBy("s-timezone", true, errors.timezone)}
              onInput={(e) => set("timezone", e.currentTarget.value)}
            />
          </Field>
          <datalist id="time-zones">{zones.map((zone) => <option value={zone} />)}</datalist>
          {input("defaultCountry", "Default country", "Two letters (US, DE) for numbers written without +country code.", { maxLength: 2, autocomplete: "off" })}
        </div>
        <div class={`windows${errors.callingWindows ? " invalid" : ""}`} role="group" aria-labelledby="windows-label">
          <p id="windows-label" class="group-label">Calling windows (local time in the zone above; none means any time)</p>
          {windows.map((window, index) => (
            <div class="window" key={index}>
              <label for={`w-${index}-start`}>From</label>
              <input id={`w-${index}-start`} type="time" value={window.start} onInput={(e) => set("callingWindows", windows.map((w, i) => i === index ? { ...w, start: e.currentTarget.value } : w))} />
              <label for={`w-${index}-end`}>to</label>
              <input id={`w-${index}-end`} type="time" value={window.end} onInput={(e) => set("callingWindows", windows.map((w, i) => i === index ? { ...w, end: e.currentTarget.value } : w))} />
              <button type="button" aria-label={`Remove window ${index + 1}`} onClick={() => set("callingWindows", windows.filter((_, i) => i !== index))}>Remove</button>
            </div>
          ))}
          {windows.length < 12 && <button type="button" onClick={() => set("callingWindows", [...windows, { start: "13:00", end: "17:00" }])}>Add a window</button>}
          {errors.callingWindows && <small class="field-error" role="alert">{errors.callingWindows}</small>}
        </div>
        <fieldset class={`days${errors.workingDays ? " invalid" : ""}`}>
          <legend>Working days</legend>
          {days.map((day, index) => {
            const iso = index + 1
            return (
              <span class="day" key={day}>
                <input
                  id={`day-${iso}`}
                  type="checkbox"
                  checked={settings.workingDays.includes(iso)}
                  onChange={(e) => set("workingDays", e.currentTarget.checked ? [...settings.workingDays, iso].sort() : settings.workingDays.filter((d) => d !== iso))}
                />
                <label for={`day-${iso}`}>{day}</label>
              </span>
            )
          })}
          {errors.workingDays && <small class="field-error" role="alert">{errors.workingDays}</small>}
        </fieldset>
        <fieldset class="start">
          <legend>Start</legend>
          {([["now", "Now"], ["at", "At a time"], ["draft", "Save as draft"]] as const).map(([value, text]) => (
            <span class="choice" key={value}>
              <input id={`start-${value}`} type="radio" name="start" value={value} checked={settings.start === value} onChange={() => set("start", value)} />
              <label for={`start-${value}`}>{text}</label>
            </span>
          ))}
          {settings.start === "at" && (
            <Field id="s-startAt" label="Start time (in the batch's time zone)" error={errors.scheduledStartTime}>
              <input
                id="s-startAt"
                type="datetime-local"
                value={settings.startAt}
                required
                aria-invalid={errors.scheduledStartTime ? true : undefined}
                aria-describedby={describedBy("s-startAt", false, errors.scheduledStartTime)}
                onInput={(e) => set("startAt", e.currentTarget.value)}
              />
            </Field>
          )}
        </fieldset>
      </fieldset>
      <fieldset>
        <legend>Limits and compliance</legend>
        <div class="grid">
          <Field id="s-cap" label="Daily cap (calls a day, optional)" error={errors.maxCallsPerDay}>
            <input
              id="s-cap"
              type="number"
              min={1}
              value={settings.maxCallsPerDay}
              aria-invalid={errors.maxCallsPerDay ? true : undefined}
              aria-describedby={describedBy("s-cap", false, errors.maxCallsPerDay)}
              onInput={(e) => set("maxCallsPerDay", e.currentTarget.value)}
            />
          </Field>
          <div class="field checkbox">
            <input id="s-dedupe" type="checkbox" checked={settings.dropDuplicates} onChange={(e) => set("dropDuplicates", e.currentTarget.checked)} />
            <label for="s-dedupe">Drop duplicates (call each number once)</label>
          </div>
        </div>
      </fieldset>
    </section>
  )
}
