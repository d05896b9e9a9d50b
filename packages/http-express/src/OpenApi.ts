/**
 * The OpenAPI 3.1 description of the router, served at `/openapi.json`.
 * This module writes the paths only: every request and response body is a
 * component derived from the Schema the engine decodes or answers with
 * (effect's Schema → JSON Schema), so the document cannot drift from them.
 *
 * Longer than ~400 lines because the paths are one document a client reads
 * whole: split, each route's description would sit away from its neighbours'.
 *
 * @since 0.1.0
 */
// Module paths, not the index: the index's bundled declarations keep only the type
// of a name that is both a Schema and its type (CallingWindow.Window, Batch.CreateBatchInput…).
import * as Batch from "@outdial/core/Batch"
import * as BatchLifecycle from "@outdial/core/BatchLifecycle"
import * as BatchQueries from "@outdial/core/BatchQueries"
import * as BatchView from "@outdial/core/BatchView"
import * as CallLimits from "@outdial/core/CallLimits"
import * as CallingWindow from "@outdial/core/CallingWindow"
import * as ContactHistory from "@outdial/core/ContactHistory"
import * as ContactQueries from "@outdial/core/ContactQueries"
import * as Feasibility from "@outdial/core/Feasibility"
import * as DoNotCallList from "@outdial/core/DoNotCallList"
import * as OutdialError from "@outdial/core/OutdialError"
import * as Schema from "effect/Schema"
import * as WebhookOpenApi from "./internal/webhookOpenApi.ts"

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: unknown) => ({ "application/json": { schema } })
const errorResponse = (description: string) => ({ description, content: json(ref("Error")) })
const csv = (description: string) => ({ "text/csv": { schema: { type: "string", description } } })
const csvFormat = {
  name: "format",
  in: "query",
  required: false,
  schema: { type: "string", enum: ["csv"] },
  description: "`csv` (or `Accept: text/csv`): answer with the rejected rows as CSV"
}
const rejectedRowsCsv = csv(
  "A header, then one line per rejected row: `row`, `error_code`, `error_field`, `error_message`, `phone`, `name`, `external_id`, `ignore_e164_validation`, then each custom field. Cells a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab, CR) carry a leading `'`, which the importer takes off."
)

const batchId = { name: "id", in: "path", required: true, schema: { type: "string" }, description: "The batch id (`batchJobId`)" }
const idempotencyKey = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  schema: { type: "string", maxLength: 255 },
  description: "Makes a repeat return the first response (`X-Idempotency-Key` works too). Another body with the same key is a 422; a repeat while the first runs is a 409."
}

const common = {
  "401": errorResponse("No organization could be resolved from the request"),
  "500": errorResponse("The server failed (`store_error`, `internal_error`)")
}
const lifecycle = {
  "404": errorResponse("No such batch in this organization (`batch_not_found`)"),
  "422": errorResponse("Not allowed in the batch's current state (`invalid_state_transition`)")
}

/** A Schema as a JSON Schema of this document: its definitions become components too. */
const definitions: Record<string, unknown> = {}
const jsonSchemaOf = (schema: Schema.Top): Record<string, any> => {
  const document = Schema.toJsonSchemaDocument(schema)
  const rewrite = (json: unknown): any =>
    typeof json === "string" && json.startsWith("#/$defs/")
      ? `#/components/schemas/${json.slice("#/$defs/".length)}`
      : Array.isArray(json)
      ? json.map(rewrite)
      : typeof json === "object" && json !== null
      ? Object.fromEntries(Object.entries(json).map(([key, value]) => [key, rewrite(value)]))
      : json
  for (const [name, definition] of Object.entries(document.definitions ?? {})) definitions[name] = rewrite(definition)
  return rewrite(document.schema)
}

/**
 * Each component and the Schema it is derived from; the drift test holds
 * every one to what its Schema accepts.
 *
 * @since 0.1.0
 * @category documents
 */
export const schemas = {
  Window: CallingWindow.Window,
  BatchSettings: Batch.UpdateBatchInput,
  CreateBatch: Batch.CreateBatchInput,
  RowError: OutdialError.RowError,
  RowErrorGroup: OutdialError.RowErrorGroup,
  ValidationReport: BatchView.ValidationReport,
  CreateBatchResponse: BatchView.CreateBatchResponse,
  AddContactsResponse: BatchView.AddContactsResponse,
  BatchSummary: BatchView.BatchSummary,
  RetryResponse: BatchView.RetryResponse,
  Progress: BatchView.Progress,
  Contact: BatchView.ContactView,
  BatchDetails: BatchView.BatchDetails,
  BatchList: BatchView.BatchList,
  ProgressEvent: BatchView.ProgressEvent,
  BatchEvent: BatchView.BatchEvent,
  ContactEvent: BatchView.ContactEvent,
  DeferredEvent: BatchView.DeferredEvent,
  RetryRequest: BatchLifecycle.RetryInput,
  ContactPage: ContactQueries.ContactPage,
  ContactDetails: ContactHistory.ContactDetails,
  Attempt: ContactHistory.AttemptView,
  FrequencyCap: CallLimits.FrequencyCap,
  DoNotCallEntry: DoNotCallList.EntryView,
  DoNotCallAdd: DoNotCallList.AddInput,
  DoNotCallAddResponse: DoNotCallList.AddResponse,
  DoNotCallCheck: DoNotCallList.CheckResponse,
  DoNotCallRemoveResponse: DoNotCallList.RemoveResponse,
  DoNotCallPage: DoNotCallList.ListResponse,
  DoNotCallImportReport: DoNotCallList.ImportResponse,
  ...WebhookOpenApi.schemas
} as const

const derived = Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, jsonSchemaOf(schema)]))

const settings = derived.BatchSettings!.properties as Record<string, unknown>

const queryParameters = (schema: Schema.Top) =>
  Object.entries(jsonSchemaOf(Schema.toType(schema as Schema.Struct<Schema.Struct.Fields>)).properties as Record<string, unknown>)
    .map(([name, schema]) => ({ name, in: "query", schema }))

const contactRows = {
  type: "array",
  description: "Contacts as rows: `phone` (or `phone_number`, `phoneNumber`), `name`, `externalId`, `ignoreE164Validation`; any other key is a custom field, kept with its JSON type (string, number, boolean or null; an object or list rejects the row)",
  items: { type: "object", additionalProperties: true }
}

const multipart = (fields: Record<string, unknown>) => ({
  "multipart/form-data": {
    schema: {
      type: "object",
      properties: {
        file: { type: "string", format: "binary", description: "A CSV, XLSX or XLS contact file (≤ 50 MB)" },
        ...fields
      }
    }
  }
})

const number = {
  name: "number",
  in: "path",
  required: true,
  schema: { type: "string", maxLength: 40 },
  description: "The number in E.164 (`+` percent-encoded as `%2B`)"
}
const malformedNumber = errorResponse("A malformed number, expiry or source (`validation_error`), with the field")

const doNotCallPaths = {
  "/do-not-call": {
    post: {
      operationId: "addDoNotCall",
      summary: "Add one number (`number`) or many (`numbers`) to the organization's do-not-call list",
      description: "Numbers are stored in E.164; a listed number is skipped before every dial (reason `do_not_call`). Adding a listed number replaces its source and expiry. A malformed number refuses the whole request.",
      requestBody: { required: true, content: json(ref("DoNotCallAdd")) },
      responses: {
        "200": { description: "The numbers as stored", content: json(ref("DoNotCallAddResponse")) },
        "400": malformedNumber,
        ...common
      }
    },
    get: {
      operationId: "listDoNotCall",
      summary: "A page of the list in number order; follow `nextCursor`",
      parameters: [
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
        { name: "cursor", in: "query", schema: { type: "string" }, description: "`nextCursor` of the previous page" }
      ],
      responses: {
        "200": { description: "A page of entries in force", content: json(ref("DoNotCallPage")) },
        "400": errorResponse("A bad `limit` (`invalid_page_size`) or `cursor` (`invalid_cursor`)"),
        ...common
      }
    }
  },
  "/do-not-call/import": {
    post: {
      operationId: "importDoNotCall",
      summary: "Add every number of a CSV or XLSX file (a phone column, as for contacts), read as a stream",
      requestBody: {
        required: true,
        content: {
          "multipart/form-data": {
            schema: {
              type: "object",
              required: ["file"],
              properties: {
                file: { type: "string", format: "binary", description: "A CSV, XLSX or XLS file of numbers" },
                source: { type: "string", description: "Stored with each number; `import` unless given" },
                expiresAt: { type: "string", description: "ISO 8601; the numbers may be called again after it" }
              }
            }
          }
        }
      },
      responses: {
        "200": { description: "Rows read, numbers added, rows refused with why", content: json(ref("DoNotCallImportReport")) },
        "400": errorResponse("No file, an unreadable file, or a bad `source` / `expiresAt`"),
        "413": errorResponse("The file is too large (`file_too_large`)"),
        "415": errorResponse("Not a CSV, XLSX or XLS file (`unsupported_file_type`)"),
        ...common
      }
    }
  },
  "/do-not-call/{number}": {
    parameters: [number],
    get: {
      operationId: "checkDoNotCall",
      summary: "Whether a number is on the list now",
      responses: {
        "200": { description: "The entry in force, if any", content: json(ref("DoNotCallCheck")) },
        "400": malformedNumber,
        ...common
      }
    },
    delete: {
      operationId: "removeDoNotCall",
      summary: "Take a number off the list",
      responses: {
        "200": { description: "Whether it was listed", content: json(ref("DoNotCallRemoveResponse")) },
        "400": malformedNumber,
        ...common
      }
    }
  }
}

/**
 * @since 0.1.0
 * @category documents
 */
export const document = {
  openapi: "3.1.0",
  info: {
    title: "Outdial batch calling API",
    version: "0.1.0",
    description: "Batches of outbound calls placed by AI voice agents: create from a contact file or JSON, validate, schedule, pause, resume, cancel, retry, and follow progress."
  },
  paths: {
    "/batches": {
      post: {
        operationId: "createBatch",
        summary: "Create a batch from JSON contacts or a contact file",
        parameters: [idempotencyKey, csvFormat],
        requestBody: {
          required: true,
          content: {
            ...json(ref("CreateBatch")),
            ...multipart({ ...settings, draft: { type: "boolean" }, dropDuplicates: { type: "boolean" } })
          }
        },
        responses: {
          "201": {
            description: "Created (or the first response replayed). In CSV, the rows refused, the batch in the `Location` and `Outdial-Batch-Id` headers",
            content: { ...json(ref("CreateBatchResponse")), ...rejectedRowsCsv }
          },
          "400": errorResponse("Invalid settings or contacts, with rejected rows grouped by error"),
          "402": errorResponse("Not enough credits (`insufficient_credits`)"),
          "409": errorResponse("A request with this idempotency key is still running"),
          "413": errorResponse("The file is too large (`file_too_large`)"),
          "415": errorResponse("Not a CSV, XLSX or XLS file, or not JSON / multipart (`unsupported_file_type`)"),
          "422": errorResponse(
            "The idempotency key was used with another body (`idempotency_key_reused`), or the batch cannot finish by its " +
              "`completeBy` and refusal was asked for (`infeasible_batch`, details: completeBy, estimatedFinish, shortfallContacts, shortfallSeconds)"
          ),
          ...common
        }
      },
      get: {
        operationId: "listBatches",
        summary: "List the organization's batches, newest first",
        parameters: queryParameters(BatchQueries.ListQuery),
        responses: {
          "200": { description: "A page of batches", content: json(ref("BatchList")) },
          "400": errorResponse("Invalid filter or pagination"),
          ...common
        }
      }
    },
    "/batches/validate": {
      post: {
        operationId: "validateContacts",
        summary: "Validate contacts as a create would, storing nothing",
        parameters: [csvFormat],
        requestBody: {
          required: true,
          content: {
            ...json({
              type: "object",
              properties: {
                contacts: contactRows,
                defaultCountry: settings.defaultCountry,
                dropDuplicates: { type: "boolean" },
                phoneNumberIds: settings.phoneNumberIds,
                // With `completeBy`, the report estimates whether a batch of these contacts would fit.
                ...Object.fromEntries(Feasibility.settingKeys.map((key) => [key, settings[key]]))
              }
            }),
            ...multipart({ defaultCountry: settings.defaultCountry, dropDuplicates: { type: "boolean" } })
          }
        },
        responses: {
          "200": { description: "Accepted and rejected rows; in CSV, the rejected rows", content: { ...json(ref("ValidationReport")), ...rejectedRowsCsv } },
          "400": errorResponse("The file is unreadable or has no phone column"),
          "413": errorResponse("The file is too large"),
          "415": errorResponse("Not a contact file"),
          ...common
        }
      }
    },
    "/batches/{id}": {
      parameters: [batchId],
      get: {
        operationId: "getBatch",
        summary: "A batch with progress, timing and a page of contacts",
        parameters: queryParameters(BatchQueries.ContactsQuery),
        responses: {
          "200": { description: "The batch", content: json(ref("BatchDetails")) },
          "400": errorResponse("`invalid_contact_status`, `invalid_page`, `invalid_page_size`"),
          "404": lifecycle["404"],
          ...common
        }
      },
      patch: {
        operationId: "updateDraft",
        summary: "Edit a draft",
        requestBody: { required: true, content: json(ref("BatchSettings")) },
        responses: {
          "200": { description: "The batch", content: json(ref("BatchSummary")) },
          "400": errorResponse("Invalid settings"),
          ...lifecycle,
          ...common
        }
      },
      delete: {
        operationId: "deleteBatch",
        summary: "Delete a batch that is not running, with its contacts",
        responses: { "204": { description: "Deleted" }, ...lifecycle, ...common }
      }
    },
    "/batches/{id}/contacts": {
      parameters: [batchId],
      get: {
        operationId: "listContacts",
        summary: "A page of the batch's contacts, by status and a search of names and numbers",
        parameters: queryParameters(ContactQueries.ContactsPageQuery),
        responses: {
          "200": { description: "A page of contacts", content: json(ref("ContactPage")) },
          "400": errorResponse("`invalid_contact_status`, `invalid_page`, `invalid_page_size`, `invalid_cursor`, or a search that is blank, too long or holds NUL (`validation_error`)"),
          "404": lifecycle["404"],
          ...common
        }
      },
      post: {
        operationId: "addContacts",
        summary: "Add contacts to a live batch (draft, pending, scheduled, running or paused; JSON rows or another file)",
        description: "A running batch dials the contacts added at once. Contacts repeating an `externalId` the batch holds are skipped, so a retried add stores nothing twice; numbers the batch already holds are listed in `alreadyInBatch` (and skipped with `dropDuplicates`). Refused with 422 once the batch is completed, cancelled or failed.",
        parameters: [idempotencyKey],
        requestBody: {
          required: true,
          content: {
            ...json({ type: "object", properties: { contacts: contactRows, dropDuplicates: { type: "boolean" } } }),
            ...multipart({ dropDuplicates: { type: "boolean" } })
          }
        },
        responses: {
          "200": { description: "What was added and skipped", content: json(ref("AddContactsResponse")) },
          "400": errorResponse("Invalid contacts"),
          "402": errorResponse("The balance does not cover the contacts added to a batch that calls"),
          "409": errorResponse("A request with this idempotency key is still running"),
          "413": errorResponse("The file is too large"),
          "415": errorResponse("Not a contact file"),
          ...lifecycle,
          ...common
        }
      }
    },
    "/batches/{id}/contacts.csv": {
      parameters: [batchId],
      get: {
        operationId: "exportContacts",
        summary: "The batch's contacts as CSV, streamed: any size",
        parameters: queryParameters(ContactQueries.ExportQuery),
        responses: {
          "200": {
            description: "The contacts in row order",
            content: csv(
              "A header, then one line per contact: `contact_id`, `status`, `attempts`, `max_attempts`, `last_outcome`, `sip_code`, `duration_seconds`, `failure_reason`, `last_attempt_at`, `next_retry_at`, `completed_at` (left out with `importable=true`), `external_id`, `name`, `phone`, then each custom field. Cells a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab, CR; E.164 numbers included) carry a leading `'`, which the importer takes off."
            )
          },
          "400": errorResponse("`invalid_contact_status` or an invalid search or flag (`validation_error`)"),
          "404": lifecycle["404"],
          ...common
        }
      }
    },
    "/batches/{id}/contacts/{contactId}": {
      parameters: [batchId, { name: "contactId", in: "path", required: true, schema: { type: "string" } }],
      get: {
        operationId: "getContact",
        summary: "A contact with every attempt (caller number, times, outcome, SIP code) and every eligibility decision",
        responses: {
          "200": { description: "The contact and its history", content: json(ref("ContactDetails")) },
          "400": errorResponse("A malformed contact id (`validation_error`)"),
          "404": errorResponse("`batch_not_found` or `contact_not_found`"),
          ...common
        }
      },
      delete: {
        operationId: "removeContact",
        summary: "Remove a contact not yet dialed from a live batch",
        responses: {
          "204": { description: "Removed" },
          "404": errorResponse("`batch_not_found` or `contact_not_found`"),
          "422": errorResponse(
            "`invalid_state_transition`: the batch is completed, cancelled or failed, or the contact is being dialed or was dialed (the reason says which)"
          ),
          ...common
        }
      }
    },
    ...Object.fromEntries((["schedule", "pause", "resume", "cancel", "retry"] as const).map((action) => [
      `/batches/{id}/${action}`,
      {
        parameters: [batchId],
        post: {
          operationId: `${action}Batch`,
          summary: {
            schedule: "Leave draft: start now, or at `scheduledStartTime`",
            pause: "Pause a pending, scheduled or running batch",
            resume: "Resume a paused batch",
            cancel: "Cancel a live batch; waiting contacts become cancelled",
            retry: "Run a completed batch again over its retryable failures"
          }[action],
          ...(action === "schedule" || action === "retry"
            ? {
              requestBody: {
                required: false,
                content: json({
                  type: "object",
                  properties: action === "schedule"
                    ? { scheduledStartTime: settings.scheduledStartTime }
                    : derived.RetryRequest!.properties
                })
              }
            }
            : {}),
          responses: {
            "200": { description: "The batch", content: json(ref(action === "retry" ? "RetryResponse" : "BatchSummary")) },
            ...(action === "schedule"
              ? { "400": errorResponse("`past_scheduled_time` or invalid input"), "402": errorResponse("Not enough credits") }
              : {}),
            ...lifecycle,
            ...common
          }
        }
      }
    ])),
    "/batches/{id}/events": {
      parameters: [batchId],
      get: {
        operationId: "batchEvents",
        summary: "Live progress as Server-Sent Events",
        description: "Events: `progress` (counts by status; on change, at most 4/s, at least 1/s), `batch`, `contact`, `deferred`, and `end` once the batch is final.",
        responses: {
          "200": {
            description: "An event stream; each event's data is the component of its name: `progress` a ProgressEvent, `batch` a BatchEvent, `contact` a ContactEvent, `deferred` a DeferredEvent",
            content: { "text/event-stream": { schema: { type: "string" } } }
          },
          "404": lifecycle["404"],
          ...common
        }
      }
    },
    ...doNotCallPaths,
    ...WebhookOpenApi.paths({ ref, json, errorResponse, common }),
    "/openapi.json": {
      get: {
        operationId: "openApi",
        summary: "This document",
        responses: { "200": { description: "OpenAPI 3.1", content: json({ type: "object" }) } }
      }
    }
  },
  webhooks: WebhookOpenApi.webhooks({ ref, json }),
  components: {
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message", "details"],
            properties: {
              code: { type: "string", enum: [...Object.keys(OutdialError.httpStatus), "unauthorized", "not_found", "internal_error"] },
              message: { type: "string" },
              details: { type: ["object", "null"], additionalProperties: true }
            }
          }
        }
      },
      ...definitions,
      ...derived
    }
  }
} as const
