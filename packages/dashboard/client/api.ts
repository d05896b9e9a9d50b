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

interface Init {
  readonly method?: string
  readonly json?: unknown
  readonly form?: FormData
  readonly query?: Record<string, string | number | undefined | null>
}

const request = (path: string, init: Init, accept: string): Promise<Response> =>
  fetch(url(path, init.query), {
    method: init.method ?? (init.json !== undefined || init.form !== undefined ? "POST" : "GET"),
    credentials: "same-origin",
    headers: init.json !== undefined ? { "content-type": "application/json", accept } : { accept },
    body: init.json !== undefined ? JSON.stringify(init.json) : init.form
  })

export const api = async <A>(path: string, init: Init = {}): Promise<A> => {
  const response = await request(path, init, "application/json")
  if (response.status === 204) return undefined as A
  if (!response.ok) throw await failureOf(response)
  return await response.json().catch(() => undefined) as A
}

/** A CSV the API answers, for the browser to save. */
export const apiCsv = async (path: string, init: Init = {}): Promise<Blob> => {
  const response = await request(path, init, "text/csv")
  if (!response.ok) throw await failureOf(response)
  return await response.blob()
}

const failureOf = async (response: Response): Promise<ApiError> => {
  const body = await response.json().catch(() => undefined) as any
  const error = body?.error ?? {}
  const details = (error.details ?? {}) as Record<string, unknown>
  return new ApiError(
    response.status,
    String(error.code ?? "http_error"),
    String(error.message ?? `The server answered ${response.status}`),
    typeof details.field === "string" ? details.field : typeof error.field === "string" ? error.field : undefined,
    details
  )
}

/** The routes the mounted API has, from its OpenAPI document: pages for routes still to come hide until they exist. */
export interface Features {
  readonly paths: ReadonlySet<string>
  has(path: string, method?: string): boolean
  /** The values of the first enum in the document that holds `member` (the webhook event types, say). */
  enumWith(member: string): ReadonlyArray<string>
}

const findEnum = (node: unknown, member: string): ReadonlyArray<string> | undefined => {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = findEnum(item, member)
      if (found) return found
    }
  } else if (node && typeof node === "object") {
    const values = (node as { enum?: unknown }).enum
    if (Array.isArray(values) && values.includes(member)) return values.map(String)
    for (const value of Object.values(node)) {
      const found = findEnum(value, member)
      if (found) return found
    }
  }
  return undefined
}

let features: Promise<Features> | undefined

export const loadFeatures = (): Promise<Features> => {
  features ??= api<any>("/openapi.json").then(
    (document) => {
      const paths = (document?.paths ?? {}) as Record<string, Record<string, any>>
      return {
        paths: new Set(Object.keys(paths)),
        has: (path: string, method = "get") => paths[path]?.[method] !== undefined,
        enumWith: (member: string) => findEnum(document, member) ?? []
      }
    },
    () => ({ paths: new Set<string>(), has: () => false, enumWith: () => [] })
  )
  return features
}
