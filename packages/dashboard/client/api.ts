/**
 * Calls to the batch API on the page's origin. `apiBase` comes from the
 * page's meta tag, which the router writes; credentials are the browser's
 * own, so the host's auth applies.
 */
export const apiBase: string =
  document.querySelector<HTMLMetaElement>('meta[name="outdial-api-base"]')?.content ?? "/api/v1"

/** The API's error envelope, thrown by `api`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | undefined,
    readonly details: Record<string, unknown>
  ) {
    super(message)
  }
}

export const url = (path: string, query?: Record<string, string | number | undefined | null>): string => {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value))
  }
  const text = search.toString()
  return `${apiBase}${path}${text === "" ? "" : `?${text}`}`
}

export const api = async <A>(
  path: string,
  init: { method?: string; json?: unknown; form?: FormData; query?: Record<string, string | number | undefined | null> } = {}
): Promise<A> => {
  const response = await fetch(url(path, init.query), {
    method: init.method ?? (init.json !== undefined || init.form !== undefined ? "POST" : "GET"),
    credentials: "same-origin",
    headers: init.json !== undefined ? { "content-type": "application/json", accept: "application/json" } : { accept: "application/json" },
    body: init.json !== undefined ? JSON.stringify(init.json) : init.form
  })
  if (response.status === 204) return undefined as A
  const body = await response.json().catch(() => undefined) as any
  if (!response.ok) {
    const error = body?.error ?? {}
    const details = (error.details ?? {}) as Record<string, unknown>
    throw new ApiError(
      response.status,
      String(error.code ?? "http_error"),
      String(error.message ?? `The server answered ${response.status}`),
      typeof details.field === "string" ? details.field : typeof error.field === "string" ? error.field : undefined,
      details
    )
  }
  return body as A
}

/** The routes the mounted API has, from its OpenAPI document: pages for routes still to come hide until they exist. */
export interface Features {
  readonly paths: ReadonlySet<string>
  /** The query parameters of `GET /batches/{id}`. */
  readonly batchQuery: ReadonlySet<string>
  has(path: string, method?: string): boolean
}

let features: Promise<Features> | undefined

export const loadFeatures = (): Promise<Features> => {
  features ??= api<any>("/openapi.json").then(
    (document) => {
      const paths = (document?.paths ?? {}) as Record<string, Record<string, any>>
      const parameters = (paths["/batches/{id}"]?.get?.parameters ?? []) as Array<{ name?: string }>
      return {
        paths: new Set(Object.keys(paths)),
        batchQuery: new Set(parameters.map((p) => p.name ?? "")),
        has: (path: string, method = "get") => paths[path]?.[method] !== undefined
      }
    },
    () => ({ paths: new Set<string>(), batchQuery: new Set<string>(), has: () => false })
  )
  return features
}
