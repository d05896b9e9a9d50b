import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as ContactImport from "../src/ContactImport.ts"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/contacts/${name}`, import.meta.url)))

const validate = (name: string, options: ContactImport.Options = {}) =>
  ContactImport.validate({ content: fixture(name), filename: name }, options)

/** Accepted rows as [row, phone, name, externalId, customFields]. */
const accepted = (report: ContactImport.ValidatedReport) =>
  report.accepted.map((c) => [c.row, c.phone, c.name, c.externalId, c.customFields])

const failure = (name: string, options: ContactImport.Options = {}) =>
  Effect.map(Effect.flip(validate(name, options)), (e) => ({ code: e.code, message: e.message, details: e.details }))

const text = (value: string) => new TextEncoder().encode(value)

describe("ContactImport: the seeds' tables", () => {
  it.effect("a TalkifAI-style CSV with a phone column", () =>
    Effect.gen(function*() {
      const report = yield* validate("talkifai.csv")
      assert.deepStrictEqual(accepted(report), [
        [2, "+12025550101", "John Doe", null, { company: "Acme" }],
        [3, "+442071838750", "Jane Smith", null, { company: "Globex" }]
      ])
      assert.deepStrictEqual(report.customFieldNames, ["company"])
    }))

  for (const file of ["loans.csv", "loans.xlsx", "loans.xls"]) {
    it.effect(`the phone_number loan table as ${file.split(".")[1]}: other columns become dynamic variables`, () =>
      Effect.gen(function*() {
        const report = yield* validate(file, { defaultCountry: "IN" })
        assert.deepStrictEqual(accepted(report), [
          [2, "+919876543210", null, null, { customer_name: "Priya Sharma", loan_amount: "500000", product: "home_loan" }],
          [3, "+919123456789", null, null, { customer_name: "Rahul Mehra", loan_amount: "250000", product: "car_loan" }]
        ])
      }))
  }

  it.effect("national numbers without a default country are refused, naming the fix", () =>
    Effect.gen(function*() {
      const error = yield* failure("loans.csv")
      assert.strictEqual(error.code, "no_valid_contacts")
      const groups = (error.details as { errorGroups: ReadonlyArray<{ code: string; rows: ReadonlyArray<number> }> }).errorGroups
      assert.deepStrictEqual(groups.map((g) => [g.code, g.rows]), [["invalid_phone_format", [2, 3]]])
    }))

  it.effect("the dashboard table: ignore_e164_validation keeps a number libphonenumber refuses", () =>
    Effect.gen(function*() {
      const report = yield* validate("dashboard.csv")
      assert.deepStrictEqual(report.accepted.map((c) => c.phone), ["+12025551234", "+12025551235", "+99912345678"])
      assert.deepStrictEqual(report.accepted[0]!.customFields, { dynamic_variable1: "value1", dynamic_variable2: "value2" })
      assert.deepStrictEqual(report.rejected, [{
        row: 5,
        field: "phone_number",
        code: "invalid_number",
        message: "+99912345679 is not a valid phone number for its country",
        value: "+99912345679",
        // Issue 16: the row's data, for a client to show and send back corrected.
        contact: {
          phone: "+99912345679",
          name: "Not Flagged",
          externalId: null,
          ignoreE164Validation: false,
          customFields: { dynamic_variable1: "value7", dynamic_variable2: "value8" }
        }
      }])
      assert.deepStrictEqual(report.errorGroups, [{ code: "invalid_number", message: "Not a valid number for its country", count: 1, rows: [5] }])
    }))

  it.effect("the camelCase spellings, phoneNumber and ignoreE164Validation", () =>
    Effect.gen(function*() {
      const report = yield* validate("ignore-camel.csv")
      assert.deepStrictEqual(accepted(report), [[2, "+99912345678", null, null, {}]])
      assert.deepStrictEqual(report.rejected.map((r) => [r.row, r.field, r.code]), [[3, "phoneNumber", "invalid_number"]])
    }))
})

describe("ContactImport: formats and encodings", () => {
  it.effect("semicolons and tabs are detected", () =>
    Effect.gen(function*() {
      for (const file of ["semicolon.csv", "tab.tsv"]) {
        const report = yield* validate(file)
        assert.deepStrictEqual(accepted(report), [
          [2, "+12025551234", "John", null, { plan: "Pro" }],
          [3, "+12025551235", "Jane", null, { plan: "Basic" }]
        ])
      }
    }))

  it.effect("a UTF-8 byte-order mark is dropped from the first header", () =>
    Effect.map(validate("bom.csv"), (report) => assert.deepStrictEqual(accepted(report), [[2, "+12025551234", "John", null, {}]])))

  it.effect("UTF-16 with a byte-order mark is decoded", () =>
    Effect.map(validate("utf16.csv"), (report) => assert.deepStrictEqual(accepted(report), [[2, "+12025551234", "Zoë", null, {}]])))

  it.effect("a quoted field may hold a newline; rows count records as a spreadsheet shows them", () =>
    Effect.gen(function*() {
      const report = yield* validate("multiline.csv")
      assert.deepStrictEqual(accepted(report), [
        [2, "+12025551234", "John", null, { notes: "first line\nsecond line" }],
        [3, "+12025551235", "Jane", null, { notes: "plain" }]
      ])
      assert.deepStrictEqual(report.rejected.map((r) => [r.row, r.code, r.value]), [[4, "invalid_phone_format", "not-a-number"]])
    }))

  it.effect("a formula-looking cell is kept as plain text", () =>
    Effect.map(validate("formula.csv"), (report) =>
      assert.deepStrictEqual(report.accepted[0]!.customFields, { website: "=HYPERLINK(\"http://x\",\"y\")" })))

  it.effect("headers match whatever their case and spaces; externalId is the host's id", () =>
    Effect.map(validate("headers.csv"), (report) =>
      assert.deepStrictEqual(accepted(report), [[2, "+12025551234", "John", "crm-1", { "Favourite Colour": "blue" }]])))

  it.effect("XLSX cells read as a person sees them: numbers without exponent, dates, rich text, formula results", () =>
    Effect.map(validate("typed.xlsx", { defaultCountry: "US" }), (report) =>
      assert.deepStrictEqual(accepted(report), [
        [2, "+12025550143", "Numeric Phone", null, { renewal: "2027-01-15", score: "4.5", vip: "true" }],
        [4, "+12025550144", "Rich Text", null, { score: "2", vip: "false" }]
      ])))

  it.effect("a file streamed in small chunks gives the same report as the whole file", () =>
    Effect.gen(function*() {
      for (const file of ["multiline.csv", "utf16.csv", "loans.xlsx"]) {
        const bytes = fixture(file)
        const chunks = async function*() {
          for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7)
        }
        const streamed = yield* ContactImport.validate({ content: chunks() }, { defaultCountry: "IN" })
        const whole = yield* ContactImport.validate({ content: bytes }, { defaultCountry: "IN" })
        assert.deepStrictEqual(streamed, whole)
      }
    }))

  it.effect("JSON contacts go through the same checks, rows counting from 1", () =>
    Effect.gen(function*() {
      const report = yield* ContactImport.validateRows([
        { phone: "+12025551234", name: "John", plan: "Pro", seats: 3 },
        { phone_number: "12345" },
        { phoneNumber: "+12025551235", external_id: "crm-9", ignore_e164_validation: "false" }
      ], {})
      assert.deepStrictEqual(accepted(report), [
        // Issue 16: a JSON number stays a number.
        [1, "+12025551234", "John", null, { plan: "Pro", seats: 3 }],
        [3, "+12025551235", null, "crm-9", {}]
      ])
      assert.deepStrictEqual(report.rejected.map((r) => [r.row, r.code]), [[2, "invalid_phone_format"]])
    }))

  it.effect("JSON custom fields keep their JSON types; a file's cells stay text", () =>
    Effect.gen(function*() {
      const report = yield* ContactImport.validateRows([
        { phone: "+12025551234", seats: 3, ratio: 0.25, vip: true, churned: false, note: null, plan: "Pro", zip: "02134" }
      ], {})
      assert.deepStrictEqual(report.accepted[0]!.customFields, {
        seats: 3,
        ratio: 0.25,
        vip: true,
        churned: false,
        note: null,
        plan: "Pro",
        zip: "02134"
      })
      const file = yield* ContactImport.validate({
        content: new TextEncoder().encode("phone,seats,vip\n+12025551234,3,true\n"),
        filename: "contacts.csv"
      }, {})
      assert.deepStrictEqual(file.accepted[0]!.customFields, { seats: "3", vip: "true" })
    }))

  it.effect("a JSON custom field holding an object, a list or a number too large to keep rejects its row", () =>
    Effect.gen(function*() {
      const report = yield* ContactImport.validateRows([
        { phone: "+12025551234", address: { city: "Boston" } },
        { phone: "+12025551235", tags: ["a", "b"] },
        // JSON.parse reads 1e400 as Infinity, which JSON cannot write back.
        { phone: "+12025551236", score: Number.POSITIVE_INFINITY },
        // Read from 12345678901234567890: already rounded.
        { phone: "+12025551238", score: 12345678901234567000 },
        { phone: "+12025551237", plan: "Pro" }
      ], {})
      assert.deepStrictEqual(report.rejected.map((r) => [r.row, r.field, r.code]), [
        [1, "address", "invalid_field"],
        [2, "tags", "invalid_field"],
        [3, "score", "invalid_field"],
        [4, "score", "invalid_field"]
      ])
      assert.deepStrictEqual(report.accepted.map((c) => c.phone), ["+12025551237"])
    }))

  it.effect("a number kept as written under ignoreE164Validation is marked unvalidated", () =>
    Effect.gen(function*() {
      const report = yield* ContactImport.validateRows([
        { phone: "(123) 456-7890", ignoreE164Validation: true },
        { phone: "+99912345678", ignoreE164Validation: true },
        { phone: "+12025551234", ignoreE164Validation: true },
        { phone: "+12025551235" }
      ], {})
      assert.deepStrictEqual(report.accepted.map((c) => [c.phone, c.numberValidated]), [
        ["1234567890", false],
        ["+99912345678", false],
        ["+12025551234", true],
        ["+12025551235", true]
      ])
    }))
})

describe("ContactImport: files refused as a whole", () => {
  it.effect("an unterminated quote is invalid_csv naming the line", () =>
    Effect.map(failure("unterminated.csv"), (error) =>
      assert.deepStrictEqual(error, {
        code: "invalid_csv",
        message: "Unreadable CSV: quoted field unterminated at line 3 (row 3)",
        details: { line: 3 }
      })))

  it.effect("binary garbage is unsupported_file_type", () =>
    Effect.map(failure("garbage.png"), (error) => {
      assert.strictEqual(error.code, "unsupported_file_type")
      assert.match(error.message, /upload a CSV, XLSX or XLS file/)
    }))

  it.effect("an empty file and a header without rows are invalid_csv", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* failure("empty.csv"), { code: "invalid_csv", message: "The file is empty", details: undefined })
      assert.deepStrictEqual(yield* failure("header-only.csv"), {
        code: "invalid_csv",
        message: "The file has a header row but no contacts",
        details: undefined
      })
    }))

  it.effect("a pipe-delimited file has no phone column", () =>
    Effect.map(failure("pipe.csv"), (error) =>
      assert.deepStrictEqual(error, {
        code: "missing_phone_column",
        message: "No phone column: add a column named phone, phone_number or phoneNumber (found \"phone|name\"); " +
          "or map one with columnMapping.phone (likeliest: \"phone|name\")",
        details: { headers: ["phone|name"], headerCount: 1, suggestions: ["phone|name"] }
      })))

  it.effect("10,001 contacts pass the default limit of 10,000", () =>
    Effect.gen(function*() {
      const lines = ["phone"]
      for (let i = 0; i < 10_001; i++) lines.push(`+49151${20_000_000 + i}`)
      const error = yield* Effect.flip(ContactImport.validate({ content: text(lines.join("\n")) }, {}))
      assert.strictEqual(error.code, "too_many_contacts")
      assert.deepStrictEqual(error.details, { limit: 10_000, row: 10_002 })
      const fine = yield* ContactImport.validate({ content: text(lines.slice(0, 10_001).join("\n")) }, {})
      assert.strictEqual(fine.acceptedCount, 10_000)
    }))

  it.effect("a file over the byte limit is file_too_large, streamed or whole", () =>
    Effect.gen(function*() {
      const bytes = fixture("dashboard.csv")
      const whole = yield* Effect.flip(ContactImport.validate({ content: bytes }, { maxFileBytes: 100 }))
      assert.strictEqual(whole.code, "file_too_large")
      const chunks = async function*() {
        for (let i = 0; i < bytes.length; i += 16) yield bytes.subarray(i, i + 16)
      }
      const streamed = yield* Effect.flip(ContactImport.validate({ content: chunks() }, { maxFileBytes: 100 }))
      assert.deepStrictEqual([streamed.code, streamed.details], ["file_too_large", { limitBytes: 100 }])
    }))
})

describe("ContactImport: duplicates and destinations", () => {
  it.effect("duplicate numbers are warnings with their rows; dropDuplicates keeps the first", () =>
    Effect.gen(function*() {
      const kept = yield* validate("duplicates.csv", { defaultCountry: "US" })
      assert.strictEqual(kept.acceptedCount, 4)
      assert.deepStrictEqual(kept.duplicates, [{ phone: "+12025551234", rows: [2, 3, 5] }])
      const dropped = yield* validate("duplicates.csv", { defaultCountry: "US", dropDuplicates: true })
      assert.deepStrictEqual(dropped.accepted.map((c) => c.row), [2, 4])
      assert.strictEqual(dropped.droppedDuplicates, 2)
      assert.deepStrictEqual(dropped.duplicates, kept.duplicates)
    }))

  it.effect("a destination policy names why each number may not be called", () =>
    Effect.gen(function*() {
      const report = yield* ContactImport.validateRows([
        { phone: "+12025551234" },
        { phone: "+442071838750" },
        { phone: "+19005550100" },
        { phone: "+12644971234" },
        { phone: "+18005550100" }
      ], {
        destinationPolicy: {
          allowedCountries: ["US", "AI"],
          blockedPrefixes: ["+1264"],
          blockedNumberTypes: ["PREMIUM_RATE", "TOLL_FREE"]
        }
      })
      assert.deepStrictEqual(report.accepted.map((c) => c.phone), ["+12025551234"])
      assert.deepStrictEqual(report.rejected.map((r) => [r.row, r.code]), [
        [2, "unsupported_country"],
        [3, "blocked_number_type"],
        [4, "blocked_prefix"],
        [5, "blocked_number_type"]
      ])
    }))

  it.effect("a sink receives accepted contacts in chunks and the report keeps none", () =>
    Effect.gen(function*() {
      const rows = Array.from({ length: 1_234 }, (_, i) => ({ phone: `+49151${20_000_000 + i}` }))
      const chunks: Array<number> = []
      const report = yield* ContactImport.runRows(rows, {}, (chunk) => Effect.sync(() => void chunks.push(chunk.length)))
      assert.strictEqual(chunks.reduce((a, b) => a + b, 0), 1_234)
      assert.isTrue(chunks.length > 1)
      assert.isFalse("accepted" in report)
    }))
})
