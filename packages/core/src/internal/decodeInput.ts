/**
 * Decodes a request body with a schema, turning every schema issue into one
 * `validation_error` that names each field and what is wrong with it.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as InputGuard from "../InputGuard.ts"
import { InvalidInput } from "../OutdialError.ts"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The rows under `key` when every one is an object, as `Record(String, Unknown)` takes them. */
const recordRowsOf = (input: unknown, key: string): ReadonlyArray<Readonly<Record<string, unknown>>> | undefined => {
  if (!isRecord(input) || !Array.isArray(input[key])) return undefined
  const rows: ReadonlyArray<unknown> = input[key]
  for (let i = 0; i < rows.length; i++) if (!isRecord(rows[i])) return undefined
  return rows as ReadonlyArray<Readonly<Record<string, unknown>>>
}

/**
 * Checks a body with `InputGuard`, then decodes it with `schema`.
 *
 * `rowsKey` names a field whose rows the schema takes as
 * `Record(String, Unknown)` (a create's contacts): when every row is an
 * object the schema would only copy each one, and the import reads them key
 * by key and checks every cell itself, so they are kept as sent. A copy of
 * each of a large list's rows was a visible share of a create. Otherwise the
 * schema decodes the body whole and says what is wrong with it.
 */
export const decodeInput = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, rowsKey?: string) => {
  const decode = decodeGuarded(schema)
  return (input: unknown): Effect.Effect<S["Type"], InvalidInput> => {
    const hostile = InputGuard.check(input)
    if (hostile !== undefined) return Effect.fail(hostile)
    const rows = rowsKey === undefined ? undefined : recordRowsOf(input, rowsKey)
    if (rows === undefined || rowsKey === undefined) return decode(input)
    return Effect.map(
      decode({ ...(input as Record<string, unknown>), [rowsKey]: [] }),
      (decoded) => ({ ...(decoded as object), [rowsKey]: rows }) as S["Type"]
    )
  }
}

/** `decodeInput` for a value `InputGuard.check` has already passed. */
const decodeGuarded = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return (input: unknown): Effect.Effect<S["Type"], InvalidInput> =>
    decode(input, { errors: "all", onExcessProperty: "error" }).pipe(
      Effect.mapError((error) => {
        const issues = formatter(error.issue).issues.map((issue) => ({
          field: issue.path?.map((key) => (typeof key === "object" ? String(key.key) : String(key))).join(".") ?? "",
          message: issue.message
        }))
        const first = issues[0]
        return new InvalidInput({
          code: "validation_error",
          message: issues.map((issue) => (issue.field === "" ? issue.message : `${issue.field}: ${issue.message}`)).join("; "),
          ...(first !== undefined && first.field !== "" ? { field: first.field } : {}),
          details: { issues }
        })
      })
    )
}
