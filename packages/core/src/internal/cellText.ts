/** What a spreadsheet library hands over for a cell, as the text a person sees in it. */
const integerText = (n: number): string =>
  Number.isInteger(n) && Math.abs(n) < 1e21 ? n.toFixed(0) : String(n)

const dateText = (date: Date): string => {
  const iso = date.toISOString()
  return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso
}

/** A spreadsheet cell as the text a person sees in it. */
export const cellText = (value: unknown): string => {
  if (value === null || value === undefined) return ""
  if (typeof value === "string") return value
  if (typeof value === "number") return integerText(value)
  if (typeof value === "boolean") return value ? "true" : "false"
  if (value instanceof Date) return dateText(value)
  if (typeof value === "object") {
    const cell = value as Record<string, unknown>
    if (Array.isArray(cell.richText)) return cell.richText.map((run: { text?: string }) => run.text ?? "").join("")
    if ("result" in cell) return cellText(cell.result)
    if ("formula" in cell || "sharedFormula" in cell) return ""
    if (typeof cell.text === "string") return cell.text
    if ("error" in cell) return String(cell.error)
  }
  return String(value)
}
