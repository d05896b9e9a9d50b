/**
 * The dashboard's entry: a header, and the page the URL's fragment names
 * (`#/`, `#/new`, `#/batches/<id>`, `#/do-not-call`, `#/webhooks`). On every
 * page change focus moves to the page's heading, so a screen reader says
 * where it landed.
 */
import { render } from "preact"
import { useEffect, useState } from "preact/hooks"
import { type Features, loadFeatures } from "./api.ts"
import "./app.css"
import { BatchDetail } from "./pages/BatchDetail.tsx"
import { BatchList } from "./pages/BatchList.tsx"
import { DoNotCall } from "./pages/DoNotCall.tsx"
import { NewBatch } from "./pages/NewBatch.tsx"
import { Webhooks } from "./pages/Webhooks.tsx"

const routeOf = (hash: string): { page: string; id?: string } => {
  const path = hash.replace(/^#/, "") || "/"
  const batch = /^\/batches\/([^/?]+)/.exec(path)
  if (batch) return { page: "batch", id: decodeURIComponent(batch[1]!) }
  if (path.startsWith("/new")) return { page: "new" }
  if (path.startsWith("/do-not-call")) return { page: "dnc" }
  if (path.startsWith("/webhooks")) return { page: "webhooks" }
  return { page: "list" }
}

const App = () => {
  const [hash, setHash] = useState(location.hash)
  const [features, setFeatures] = useState<Features | undefined>(undefined)
  useEffect(() => {
    const onChange = () => setHash(location.hash)
    addEventListener("hashchange", onChange)
    void loadFeatures().then(setFeatures)
    return () => removeEventListener("hashchange", onChange)
  }, [])
  const route = routeOf(hash)
  useEffect(() => {
    document.querySelector<HTMLElement>("main h1")?.focus()
  }, [hash])
  const dnc = features?.has("/do-not-call") ?? false
  const webhooks = features?.has("/webhooks", "post") ?? false
  const link = (href: string, page: string, text: string) => (
    <a href={href} aria-current={route.page === page ? "page" : undefined}>{text}</a>
  )
  return (
    <>
      <a class="skip" href="#main" onClick={(event) => {
        event.preventDefault()
        document.getElementById("main")?.focus()
      }}>Skip to content</a>
      <header class="top">
        <span class="brand">Outdial</span>
        <nav aria-label="Dashboard">
          {link("#/", "list", "Batches")}
          {link("#/new", "new", "New batch")}
          {dnc && link("#/do-not-call", "dnc", "Do not call")}
          {webhooks && link("#/webhooks", "webhooks", "Webhooks")}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === "list" && <BatchList />}
        {route.page === "new" && <NewBatch features={features} />}
        {route.page === "batch" && <BatchDetail key={route.id} id={route.id!} features={features} />}
        {route.page === "dnc" && <DoNotCall available={dnc} />}
        {route.page === "webhooks" && <Webhooks available={webhooks} eventTypes={features?.enumWith("batch.created") ?? []} />}
      </main>
    </>
  )
}

render(<App />, document.getElementById("app")!)
