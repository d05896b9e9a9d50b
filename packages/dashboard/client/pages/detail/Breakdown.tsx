/** The contacts by status: one stacked bar, and the same counts as a list a screen reader reads. */
import { type ContactStatus, contactStatuses, label, percent } from "../../model.ts"

export const Breakdown = ({ breakdown, total }: { breakdown: Readonly<Record<ContactStatus, number>>; total: number }) => {
  const present = contactStatuses.filter((status) => (breakdown[status] ?? 0) > 0)
  return (
    <div class="breakdown">
      <div class="stack" aria-hidden="true">
        {present.map((status) => (
          <span key={status} class={`seg seg-${status}`} style={{ width: `${Math.max(0.5, (breakdown[status] / Math.max(1, total)) * 100)}%` }} title={`${label(status)}: ${breakdown[status]}`} />
        ))}
      </div>
      <ul class="legend" aria-label="Contacts by status">
        {present.map((status) => (
          <li key={status}><span class={`dot seg-${status}`} aria-hidden="true" />{label(status)} <strong>{breakdown[status]}</strong> <span class="muted">({percent(breakdown[status], total)}%)</span></li>
        ))}
      </ul>
    </div>
  )
}
