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

export const decodeInput = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => {
  const decode = decodeGuarded(schema)
  return (input: unknown): Effect.Effect<S["Type"], InvalidInput> => {
    const hostile = InputGuard.check(input)
    return hostile === undefined ? decode(input) : Effect.fail(hostile)
  }
}

/** `decodeInput` for a value `InputGuard.check` has already passed. */
export const decodeGuarded = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => {
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
