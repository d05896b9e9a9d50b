/**
 * The dashboard as an Express router a host mounts anywhere, beside the
 * batch API it drives:
 *
 * ```ts
 * app.use("/api/v1", Router.makeRouter(runtime, { resolveOrganization }))
 * app.use("/outdial", Dashboard.makeRouter({ apiBase: "/api/v1" }))
 * ```
 *
 * It serves one HTML page and its two assets, nothing else: every call the
 * page makes goes to `apiBase` on the same origin, so the host's own auth
 * (cookies, headers set by its proxy) applies to the dashboard as it does to
 * the API. Pages are addressed by the URL's fragment, so the router needs no
 * fallback route and works under any mount path.
 *
 * @since 0.1.0
 */
import express, { type Request, type Response } from "express"
import * as ClientBundle from "./internal/ClientBundle.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Where the batch API is mounted, as the browser reaches it: a path on the
   * same origin (`"/api/v1"`), or one relative to the dashboard's own mount
   * (`"../api/v1"`).
   */
  readonly apiBase: string
  /** The page title; `"Outdial"` unless set. */
  readonly title?: string | undefined
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The API's base as the page should call it: relative bases are resolved against the mount. */
const apiBaseFor = (apiBase: string, mount: string): string => {
  const trimmed = apiBase.replace(/\/+$/, "")
  if (trimmed.startsWith("/") || /^https?:\/\//i.test(trimmed)) return trimmed
  return new URL(trimmed, `http://host${mount}/`).pathname.replace(/\/+$/, "")
}

const page = (options: Options, mount: string): string => {
  const title = escapeHtml(options.title ?? "Outdial")
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="outdial-api-base" content="${escapeHtml(apiBaseFor(options.apiBase, mount))}">
<title>${title}</title>
<link rel="stylesheet" href="${escapeHtml(mount)}/assets/app.css">
<script type="module" src="${escapeHtml(mount)}/assets/app.js"></script>
</head>
<body>
<div id="app"><noscript>The Outdial dashboard needs JavaScript.</noscript></div>
</body>
</html>
`
}

const serveAsset = (name: keyof ClientBundle.Assets) => async (request: Request, response: Response) => {
  try {
    const asset = (await ClientBundle.load())[name]
    response.set({ "content-type": asset.contentType, etag: asset.etag, "cache-control": "no-cache" })
    if (request.get("if-none-match") === asset.etag) return void response.status(304).end()
    response.send(asset.body)
  } catch (error) {
    console.error("outdial dashboard: could not build the client", error)
    response.status(500).type("text/plain").send("The dashboard's client could not be built; see the server log.")
  }
}

/**
 * The router. `GET /` is the page; `GET /assets/app.js` and
 * `GET /assets/app.css` its assets. Other paths go on to the host.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRouter = (options: Options): express.Router => {
  const router = express.Router({ strict: true })
  router.get("/", (request, response) => {
    // `/outdial` without its slash: answer the page all the same, its URLs are absolute.
    response.set({
      "cache-control": "no-cache",
      "content-security-policy":
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'",
      "x-content-type-options": "nosniff",
      "referrer-policy": "same-origin"
    })
    response.type("html").send(page(options, request.baseUrl))
  })
  router.get("/assets/app.js", serveAsset("app.js"))
  router.get("/assets/app.css", serveAsset("app.css"))
  return router
}

/**
 * The built assets, for a host that wants to measure or pre-warm them.
 *
 * @since 0.1.0
 * @category accessors
 */
export const assets = (): Promise<ClientBundle.Assets> => ClientBundle.load()
