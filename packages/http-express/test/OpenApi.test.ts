/**
 * The OpenAPI document against the Schemas it is derived from: every value a
 * Schema accepts (or answers with) must be one the document describes, so a
 * client generated from the document never meets a request or response it
 * cannot represent.
 */
import { Batch, OutdialError } from "@outdial/core"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createRequire } from "node:module"
import { describe, expect, it } from "vitest"
import * as OpenApi from "../src/OpenApi.ts"

// The validator of OpenAPI documents brings a JSON Schema 2020-12 validator; this test borrows it.
const requireHere = createRequire(import.meta.url)
const requireValidator = createRequire(requireHere.resolve("@seriousme/openapi-schema-validator"))
const Ajv2020 = requireValidator("ajv/dist/2020").default as new (options: object) => {
  addSchema: (schema: object, key: string) => void
  getSchema: (ref: string) => ((value: unknown) => boolean) & { errors?: unknown } | undefined
}

const document = JSON.parse(JSON.stringify(OpenApi.document)) as {
  components: { schemas: Record<string, Record<string, any>> }
}
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
ajv.addSchema({ components: document.components }, "openapi")

/** Whether the document's component `name` describes `value`, and why not. */
const describes = (name: string, value: unknown) => {
  const validate = ajv.getSchema(`openapi#/components/schemas/${name}`)!
  return validate(value) ? true : validate.errors
}

describe("OpenAPI document", () => {
  for (const [name, schema] of Object.entries(OpenApi.schemas)) {
    it(`describes every value the ${name} Schema accepts`, async () => {
      const encode = Schema.encodeUnknownSync(schema as Schema.Codec<unknown, unknown>)
      const samples = await Effect.runPromise(
        Arbitrary.sampleEffect(Arbitrary.schema(schema), { count: 200, seed: 14 })
      )
      for (const sample of samples) {
        const wire = JSON.parse(JSON.stringify(encode(sample)))
        expect({ wire, verdict: describes(name, wire) }).toEqual({ wire, verdict: true })
      }
    })
  }

  it("describes an escalating retryDelay list and per-outcome delays", () => {
    for (const retryDelay of [[60, "PT1H", 7200], { default: ["PT5M", "PT30M"], busy: 300 }]) {
      const request = { name: "Escalating", agentId: "agent", retryDelay, contacts: [{ phone: "+12025550100" }] }
      expect(Schema.decodeUnknownExit(Batch.CreateBatchInput)(request)._tag).toBe("Success")
      expect(describes("CreateBatch", request)).toBe(true)
      expect(describes("BatchSettings", { retryDelay })).toBe(true)
    }
  })

  it("lists a row error's codes as an enum", () => {
    const code = document.components.schemas.RowError!.properties.code
    expect([...code.enum].sort()).toEqual([...OutdialError.RowErrorCode.literals].sort())
    expect(describes("RowError", { row: 2, field: "phone", code: "no_such_code", message: "?" })).not.toBe(true)
  })

  it("answers a retry with the count re-queued, and a summary's delays as a list", () => {
    expect(document.components.schemas.RetryResponse!.required).toContain("requeued")
    expect(document.components.schemas.BatchSummary!.properties.retryPolicy.properties.retryDelaySeconds.type).toBe("array")
  })
})
