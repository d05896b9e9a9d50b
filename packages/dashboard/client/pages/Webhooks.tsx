/** The organization's webhook endpoints, when the API has them: list, add, remove. */
import { useEffect, useState } from "preact/hooks"
import { api } from "../api.ts"
import { ConfirmButton, ErrorNote } from "../ui.tsx"
import { firstString, itemsOf } from "./resource.ts"

export const Webhooks = ({ available }: { available: boolean }) => {
  const [body, setBody] = useState<unknown>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [target, setTarget] = useState("")
  const [reloads, setReloads] = useState(0)
  const [secret, setSecret] = useState("")
  useEffect(() => {
    if (available) api("/webhooks/endpoints").then(setBody, setError)
  }, [available, reloads])
  if (!available) {
    return <section><h1 tabIndex={-1}>Webhooks</h1><p>This server's API has no webhook endpoints.</p></section>
  }
  const add = async (event: Event) => {
    event.preventDefault()
    setError(undefined)
    try {
      const created = await api<Record<string, unknown>>("/webhooks/endpoints", { json: { url: target } })
      // A signing secret is shown once, at creation.
      setSecret(firstString(created ?? {}, ["secret", "signingSecret"]))
      setTarget("")
      setReloads((n) => n + 1)
    } catch (failure) {
      setError(failure)
    }
  }
  return (
    <section aria-labelledby="hooks-title">
      <div class="page-head"><h1 id="hooks-title" tabIndex={-1}>Webhooks</h1></div>
      <form class="filters" onSubmit={add}>
        <div class="field grow"><label for="hook-url">Endpoint URL (https)</label><input id="hook-url" type="url" required value={target} onInput={(e) => setTarget(e.currentTarget.value)} /></div>
        <button type="submit" class="primary">Add endpoint</button>
      </form>
      {secret && <p role="status">Signing secret (shown once): <code>{secret}</code></p>}
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Webhook endpoints</caption>
          <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {itemsOf(body).map((item) => {
              const id = firstString(item, ["id", "endpointId"])
              const address = firstString(item, ["url"])
              return (
                <tr key={id}>
                  <td data-label="URL">{address}</td>
                  <td data-label="Events">{Array.isArray(item.events) ? item.events.join(", ") : "all"}</td>
                  <td><ConfirmButton danger title={`Remove ${address}?`} question="No more events are sent to it." confirmLabel="Remove endpoint" onConfirm={async () => { await api(`/webhooks/endpoints/${encodeURIComponent(id)}`, { method: "DELETE" }); setReloads((n) => n + 1) }}>Remove</ConfirmButton></td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
    </section>
  )
}
