/** Reading list answers whose exact shape may vary: the first array in the body holds the items. */
export const itemsOf = (body: unknown): ReadonlyArray<Record<string, unknown>> => {
  if (Array.isArray(body)) return body
  if (body && typeof body === "object") {
    for (const value of Object.values(body)) if (Array.isArray(value)) return value as Array<Record<string, unknown>>
  }
  return []
}

export const totalOf = (body: unknown): number | undefined => {
  const pagination = (body as { pagination?: { total?: unknown }; total?: unknown } | undefined)
  const total = pagination?.pagination?.total ?? pagination?.total
  return typeof total === "number" ? total : undefined
}

export const firstString = (item: Record<string, unknown>, keys: ReadonlyArray<string>): string =>
  String(keys.map((k) => item[k]).find((v) => typeof v === "string") ?? "")
