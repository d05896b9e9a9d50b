/**
 * The organization's webhook endpoints, when the API has them: list, create
 * (showing the signing secret once), enable / disable, rotate the secret,
 * delete, and an endpoint's delivery log with redelivery.
 */
import { useEffect, useState } from "preact/hooks"
import { api, ApiError } from "../api.ts"
import { label, when } from "../model.ts"
import { ConfirmButton, describedBy, ErrorNote, Field, StatusBadge } from "../ui.tsx"

interface Endpoint {
  readonly id: string
  readonly url: string
  readonly description: string | null
  readonly eventTypes: ReadonlyArray<string>
  readonly enabled: boolean
  readonly disabledReason: string | null
  readonly failingSince: string | null
  readonly createdAt: string
}
interface Delivery {
  readonly id: string
  readonly eventType: string
  readonly status: "pending" | "delivered" | "failed"
  readonly attempts: number
  readonly lastResponseCode: number | null
  readonly lastError: string | null
  readonly nextAttemptAt: string | null
  readonly createdAt: string
}

const formFields = ["url", "description", "eventTypes"]

export const Webhooks = ({ available, eventTypes }: { available: boolean; eventTypes: ReadonlyArray<string> }) => {
  const [endpoints, setEndpoints] = useState<ReadonlyArray<Endpoint> | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [reloads, setReloads] = useState(0)
  const [target, setTarget] = useState("")
  const [description, setDescription] = useState("")
  const [types, setTypes] = useState<ReadonlySet<string>>(new Set())
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({})
  // A signing secret the API shows once: at creation and at rotation.
  const [secret, setSecret] = useState<{ url: string; secret: string } | undefined>(undefined)
  const [open, setOpen] = useState<string | undefined>(undefined)
  useEffect(() => {
    if (available) api<{ items: ReadonlyArray<Endpoint> }>("/webhooks").then((body) => setEndpoints(body.items), setError)
  }, [available, reloads])
  if (!available) {
    return <section><h1 tabIndex={-1}>Webhooks</h1><p>This server's API has no webhook endpoints.</p></section>
  }
  const reload = () => setReloads((n) => n + 1)
  const create = async (event: Event) => {
    event.preventDefault()
    setFieldErrors({})
    setError(undefined)
    try {
      const created = await api<Endpoint & { secret: string }>("/webhooks", {
        json: { url: target, ...(description ? { description } : {}), ...(types.size > 0 ? { eventTypes: [...types] } : {}) }
      })
      setSecret({ url: created.url, secret: created.secret })
      setTarget("")
      setDescription("")
      setTypes(new Set())
      reload()
    } catch (failure) {
      const field = failure instanceof ApiError ? formFields.find((name) => name === failure.field) : undefined
      if (field !== undefined) setFieldErrors({ [field]: (failure as ApiError).message })
      else setError(failure)
    }
  }
  const act = async (work: () => Promise<unknown>) => {
    setError(undefined)
    try {
      await work()
      reload()
    } catch (failure) {
      setError(failure)
    }
  }
  const toggle = (type: string, on: boolean) => {
    const next = new Set(types)
    if (on) next.add(type)
    else next.delete(type)
    setTypes(next)
  }
  const group = (prefix: string, title: string) => (
    <fieldset class="event-types">
      <legend>{title}</legend>
      {eventTypes.filter((type) => type.startsWith(prefix)).map((type) => (
        <label key={type} class="choice">
          <input type="checkbox" checked={types.has(type)} onChange={(e) => toggle(type, e.currentTarget.checked)} />
          {label(type.slice(prefix.length))}
        </label>
      ))}
    </fieldset>
  )
  const openEndpoint = endpoints?.find((endpoint) => endpoint.id === open)
  return (
    <section aria-labelledby="hooks-title">
      <div class="page-head"><h1 id="hooks-title" tabIndex={-1}>Webhooks</h1></div>
      <form class="card" onSubmit={create} aria-labelledby="hook-new-title">
        <h2 id="hook-new-title">Add an endpoint</h2>
        <div class="filters">
          <div class="grow">
            <Field id="hook-url" label="Endpoint URL" error={fieldErrors.url}>
              <input id="hook-url" type="url" required placeholder="https://" value={target} aria-invalid={fieldErrors.url ? true : undefined}
                aria-describedby={describedBy("hook-url", false, fieldErrors.url)} onInput={(e) => setTarget(e.currentTarget.value)} />
            </Field>
          </div>
          <div class="grow">
            <Field id="hook-description" label="Description (optional)" error={fieldErrors.description}>
              <input id="hook-description" maxLength={500} value={description} aria-invalid={fieldErrors.description ? true : undefined}
                aria-describedby={describedBy("hook-description", false, fieldErrors.description)}
                onInput={(e) => setDescription(e.currentTarget.value)} />
            </Field>
          </div>
        </div>
        {eventTypes.length > 0 && (
          <details class="paste">
            <summary>Events to send: {types.size === 0 ? "all" : `${types.size} chosen`}</summary>
            {group("batch.", "Batch events")}
            {group("contact.", "Contact events")}
          </details>
        )}
        {fieldErrors.eventTypes && <p class="field-error" role="alert">{fieldErrors.eventTypes}</p>}
        <div class="actions"><button type="submit" class="primary">Add endpoint</button></div>
      </form>
      {secret && (
        <div class="card secret" role="status">
          <p>Signing secret of {secret.url}. Copy it now: it is not shown again.</p>
          <code class="secret-value">{secret.secret}</code>
          <div class="actions"><button type="button" onClick={() => setSecret(undefined)}>I have copied it</button></div>
        </div>
      )}
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table class="hooks-table">
          <caption class="visually-hidden">Webhook endpoints</caption>
          <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {endpoints?.length === 0 && <tr><td colSpan={4} class="empty">No endpoints yet.</td></tr>}
            {endpoints?.map((endpoint) => (
              <tr key={endpoint.id}>
                <td data-label="URL"><span class="url">{endpoint.url}</span>{endpoint.description && <small class="muted block">{endpoint.description}</small>}</td>
                <td data-label="Events">{endpoint.eventTypes.length === 0 ? "All" : endpoint.eventTypes.join(", ")}</td>
                <td data-label="State">
                  <StatusBadge status={endpoint.enabled ? "enabled" : "disabled"} />
                  {endpoint.disabledReason && <small class="muted block">{endpoint.disabledReason}</small>}
                  {endpoint.failingSince && <small class="muted block">Failing since {when(endpoint.failingSince)}</small>}
                </td>
                <td>
                  <div class="row-actions">
                    <button type="button" aria-expanded={open === endpoint.id} onClick={() => setOpen(open === endpoint.id ? undefined : endpoint.id)}>Deliveries</button>
                    <button type="button" onClick={() => act(() => api(`/webhooks/${endpoint.id}`, { method: "PATCH", json: { enabled: !endpoint.enabled } }))}>
                      {endpoint.enabled ? "Disable" : "Enable"}
                    </button>
                    <ConfirmButton title={`New secret for ${endpoint.url}?`} question="The current secret stops working: the receiver must switch to the new one." confirmLabel={`Rotate secret ${endpoint.id}`}
                      onConfirm={async () => {
                        const rotated = await api<{ url: string; secret: string }>(`/webhooks/${endpoint.id}/rotate-secret`, { method: "POST" })
                        setSecret({ url: rotated.url, secret: rotated.secret })
                      }}>Rotate secret</ConfirmButton>
                    <ConfirmButton danger title={`Delete ${endpoint.url}?`} question="No more events are sent to it, and its delivery log is deleted." confirmLabel={`Delete endpoint ${endpoint.id}`}
                      onConfirm={async () => {
                        await api(`/webhooks/${endpoint.id}`, { method: "DELETE" })
                        if (open === endpoint.id) setOpen(undefined)
                        reload()
                      }}>Delete</ConfirmButton>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {openEndpoint && <Deliveries key={openEndpoint.id} endpoint={openEndpoint} />}
    </section>
  )
}

/** An endpoint's delivery log, newest first, with a status filter and redelivery. */
const Deliveries = ({ endpoint }: { endpoint: Endpoint }) => {
  const [status, setStatus] = useState("")
  const [items, setItems] = useState<ReadonlyArray<Delivery> | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [reloads, setReloads] = useState(0)
  useEffect(() => {
    api<{ items: ReadonlyArray<Delivery> }>(`/webhooks/${endpoint.id}/deliveries`, { query: { status, limit: 100 } })
      .then((body) => setItems(body.items), setError)
  }, [endpoint.id, status, reloads])
  const redeliver = async (delivery: Delivery) => {
    setError(undefined)
    try {
      await api(`/webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`, { method: "POST" })
      setReloads((n) => n + 1)
    } catch (failure) {
      setError(failure)
    }
  }
  return (
    <section class="deliveries" aria-labelledby="deliveries-title">
      <div class="page-head">
        <h2 id="deliveries-title">Deliveries to {endpoint.url}</h2>
        <div class="field">
          <label for="delivery-status">Status</label>
          <select id="delivery-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">All</option>
            <option value="pending">Pending</option>
            <option value="delivered">Delivered</option>
            <option value="failed">Failed</option>
          </select>
        </div>
        <button type="button" onClick={() => setReloads((n) => n + 1)}>Refresh</button>
      </div>
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Deliveries to {endpoint.url}</caption>
          <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Tries</th><th scope="col">Last answer</th><th scope="col">Next try</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {items?.length === 0 && <tr><td colSpan={7} class="empty">No deliveries{status ? ` ${status}` : ""} yet.</td></tr>}
            {items?.map((delivery) => (
              <tr key={delivery.id}>
                <td data-label="Event">{delivery.eventType}</td>
                <td data-label="Status"><StatusBadge status={delivery.status} /></td>
                <td data-label="Tries">{delivery.attempts}</td>
                <td data-label="Last answer">{delivery.lastResponseCode ?? "—"}{delivery.lastError && delivery.lastError !== `HTTP ${delivery.lastResponseCode}` && <small class="muted block">{delivery.lastError}</small>}</td>
                <td data-label="Next try">{when(delivery.nextAttemptAt)}</td>
                <td data-label="Created">{when(delivery.createdAt)}</td>
                <td><button type="button" onClick={() => redeliver(delivery)}>Redeliver</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}
