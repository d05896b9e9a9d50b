/** Where the contacts come from: a dropped or picked file, or rows pasted as CSV. */
import { useState } from "preact/hooks"

export type Source =
  | { readonly _tag: "File"; readonly file: File }
  | { readonly _tag: "Pasted"; readonly text: string }

export const sourceBlob = (source: Source): { blob: Blob; filename: string } =>
  source._tag === "File"
    ? { blob: source.file, filename: source.file.name }
    : { blob: new Blob([source.text], { type: "text/csv" }), filename: "pasted.csv" }

export const SourcePicker = ({ onSource, idPrefix, current }: { onSource: (source: Source) => void; idPrefix: string; current: Source | undefined }) => {
  const [over, setOver] = useState(false)
  const [pasted, setPasted] = useState("")
  const pick = (files: FileList | null | undefined) => {
    const file = files?.[0]
    if (file) onSource({ _tag: "File", file })
  }
  return (
    <div class="source">
      <div
        class={`dropzone${over ? " over" : ""}`}
        onDragOver={(event) => { event.preventDefault(); setOver(true) }}
        onDragLeave={() => setOver(false)}
        onDrop={(event) => { event.preventDefault(); setOver(false); pick(event.dataTransfer?.files) }}
      >
        <label for={`${idPrefix}-file`}>Contact file (CSV, XLSX, XLS or JSON)</label>
        <input
          id={`${idPrefix}-file`}
          type="file"
          accept=".csv,.xlsx,.xls,.json,text/csv,application/json,application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
          onChange={(event) => pick(event.currentTarget.files)}
        />
        <small>Drop a file here or pick one. A header row names the columns: phone, name, and any variables for the agent.</small>
        {current?._tag === "File" && <p class="picked">Selected: <strong>{current.file.name}</strong> ({Math.ceil(current.file.size / 1024)} KB)</p>}
      </div>
      <details class="paste">
        <summary>Or paste rows</summary>
        <label for={`${idPrefix}-paste`}>Rows as CSV, the first line the header</label>
        <textarea id={`${idPrefix}-paste`} rows={6} value={pasted} placeholder={"phone,name,plan\n+14155550100,Ada,pro"} onInput={(event) => setPasted(event.currentTarget.value)} />
        <button type="button" disabled={pasted.trim() === ""} onClick={() => onSource({ _tag: "Pasted", text: pasted })}>Use these rows</button>
      </details>
    </div>
  )
}
