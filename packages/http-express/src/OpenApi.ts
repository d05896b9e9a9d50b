/**
 * The OpenAPI 3.1 description of the router, served at `/openapi.json`.
 *
 * @since 0.1.0
 */
import { Batch, CallOutcome, Contact, OutdialError } from "@outdial/core"

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: unknown) => ({ "application/json": { schema } })
const errorResponse = (description: string) => ({ description, content: json(ref("Error")) })
const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, "null"], ...extra })

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

const settings = {
  name: { type: "string", minLength: 1, maxLength: 200 },
  description: nullable("string", { maxLength: 1000 }),
  agentId: { type: "string" },
  fromPhoneNumberId: { type: "string" },
  phoneNumberIds: { type: "array", items: { type: "string" }, minItems: 1 },
  phoneRotationStrategy: { type: "string", enum: Batch.phoneRotationStrategies },
  concurrentCallLimit: { type: "integer", minimum: 1, maximum: 100, default: 5 },
  maxAttempts: { type: "integer", minimum: 1, maximum: 10, default: 3 },
  retryDelay: {
    description: "ISO 8601 duration or seconds, or a delay per outcome",
    oneOf: [
      { type: "string" },
      { type: "number", minimum: 0 },
      { type: "object", additionalProperties: { oneOf: [{ type: "string" }, { type: "number", minimum: 0 }] } }
    ]
  },
  defaultCountry: nullable("string", { pattern: "^[A-Za-z]{2}$" }),
  scheduledStartTime: nullable("string", { description: "ISO 8601; without an offset, local time in `timezone`" }),
  timezone: { type: "string", default: "UTC" },
  callingWindow: { oneOf: [ref("Window"), { type: "null" }] },
  callingWindows: { type: "array", items: ref("Window") },
  workingDays: { type: "array", items: { type: "integer", minimum: 1, maximum: 7 }, uniqueItems: true },
  maxCallsPerDay: nullable("integer", { minimum: 1 })
}

const contactRows = {
  type: "array",
  description: "Contacts as rows: `phone` (or `phone_number`, `phoneNumber`), `name`, `externalId`, `ignoreE164Validation`; any other key is a custom field",
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
        parameters: [idempotencyKey],
        requestBody: {
          required: true,
          content: {
            ...json(ref("CreateBatch")),
            ...multipart({ ...settings, draft: { type: "boolean" }, dropDuplicates: { type: "boolean" } })
          }
        },
        responses: {
          "201": { description: "Created (or the first response replayed)", content: json(ref("CreateBatchResponse")) },
          "400": errorResponse("Invalid settings or contacts, with rejected rows grouped by error"),
          "402": errorResponse("Not enough credits (`insufficient_credits`)"),
          "409": errorResponse("A request with this idempotency key is still running"),
          "413": errorResponse("The file is too large (`file_too_large`)"),
          "415": errorResponse("Not a CSV, XLSX or XLS file, or not JSON / multipart (`unsupported_file_type`)"),
          "422": errorResponse("The idempotency key was used with another body (`idempotency_key_reused`)"),
          ...common
        }
      },
      get: {
        operationId: "listBatches",
        summary: "List the organization's batches, newest first",
        parameters: [
          { name: "agentId", in: "query", schema: { type: "string" } },
          { name: "status", in: "query", schema: { type: "string", enum: Batch.statuses } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 50 } },
          { name: "offset", in: "query", schema: { type: "integer", minimum: 0, default: 0 } }
        ],
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
        requestBody: {
          required: true,
          content: {
            ...json({
              type: "object",
              properties: { contacts: contactRows, defaultCountry: settings.defaultCountry, dropDuplicates: { type: "boolean" }, phoneNumberIds: settings.phoneNumberIds }
            }),
            ...multipart({ defaultCountry: settings.defaultCountry, dropDuplicates: { type: "boolean" } })
          }
        },
        responses: {
          "200": { description: "Accepted and rejected rows", content: json(ref("ValidationReport")) },
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
        parameters: [
          { name: "contactStatus", in: "query", schema: { type: "string", enum: Contact.statuses } },
          { name: "contactsPage", in: "query", schema: { type: "integer", minimum: 1, default: 1 } },
          { name: "contactsPageSize", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 50 } }
        ],
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
      post: {
        operationId: "addContacts",
        summary: "Add contacts to a draft (JSON rows or another file)",
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
          "409": errorResponse("A request with this idempotency key is still running"),
          "413": errorResponse("The file is too large"),
          "415": errorResponse("Not a contact file"),
          ...lifecycle,
          ...common
        }
      }
    },
    "/batches/{id}/contacts/{contactId}": {
      parameters: [batchId, { name: "contactId", in: "path", required: true, schema: { type: "string" } }],
      delete: {
        operationId: "removeContact",
        summary: "Remove a contact from a draft",
        responses: {
          "204": { description: "Removed" },
          "404": errorResponse("`batch_not_found` or `contact_not_found`"),
          "422": lifecycle["422"],
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
                    : { extraAttempts: { type: "integer", minimum: 1, maximum: 10, default: 1 } }
                })
              }
            }
            : {}),
          responses: {
            "200": { description: "The batch", content: json(ref("BatchSummary")) },
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
          "200": { description: "An event stream", content: { "text/event-stream": { schema: { type: "string" } } } },
          "404": lifecycle["404"],
          ...common
        }
      }
    },
    "/openapi.json": {
      get: {
        operationId: "openApi",
        summary: "This document",
        responses: { "200": { description: "OpenAPI 3.1", content: json({ type: "object" }) } }
      }
    }
  },
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
      Window: {
        type: "object",
        required: ["start", "end"],
        properties: { start: { type: "string", pattern: "^\\d{2}:\\d{2}$" }, end: { type: "string", pattern: "^\\d{2}:\\d{2}$" } }
      },
      BatchSettings: { type: "object", properties: settings },
      CreateBatch: {
        type: "object",
        required: ["name"],
        properties: { ...settings, draft: { type: "boolean", default: false }, dropDuplicates: { type: "boolean" }, contacts: contactRows }
      },
      RowError: {
        type: "object",
        properties: { row: { type: "integer" }, field: { type: "string" }, code: { type: "string" }, message: { type: "string" }, value: {} }
      },
      Validation: {
        type: "object",
        properties: {
          totalContacts: { type: "integer" },
          acceptedContacts: { type: "integer" },
          rejectedContacts: { type: "integer" },
          rejected: { type: "array", items: ref("RowError") },
          errorGroups: {
            type: "array",
            items: {
              type: "object",
              properties: { code: { type: "string" }, message: { type: "string" }, count: { type: "integer" }, rows: { type: "array", items: { type: "integer" } } }
            }
          },
          duplicates: {
            type: "array",
            items: { type: "object", properties: { phone: { type: "string" }, rows: { type: "array", items: { type: "integer" } } } }
          }
        }
      },
      ValidationReport: {
        allOf: [ref("Validation"), { type: "object", properties: { accepted: { type: "array", items: { type: "object" } } } }]
      },
      CreateBatchResponse: {
        allOf: [
          ref("Validation"),
          {
            type: "object",
            properties: {
              batchJobId: { type: "string" },
              status: { type: "string", enum: Batch.statuses },
              estimatedDuration: { type: "string" },
              estimatedCost: { type: "string" },
              scheduledStartTime: nullable("string"),
              message: { type: "string" }
            }
          }
        ]
      },
      AddContactsResponse: {
        allOf: [
          ref("Validation"),
          { type: "object", properties: { added: { type: "integer" }, skipped: { type: "integer" } } }
        ]
      },
      BatchSummary: {
        type: "object",
        properties: {
          batchJobId: { type: "string" },
          organizationId: { type: "string" },
          name: { type: "string" },
          description: nullable("string"),
          status: { type: "string", enum: Batch.statuses },
          statusReason: nullable("string"),
          agentId: { type: "string" },
          phoneNumberIds: { type: "array", items: { type: "string" } },
          phoneRotationStrategy: { type: "string", enum: Batch.phoneRotationStrategies },
          totalContacts: { type: "integer" },
          concurrentCallLimit: { type: "integer" },
          maxCallsPerDay: nullable("integer"),
          defaultCountry: nullable("string"),
          timezone: { type: "string" },
          callingWindows: { type: "array", items: ref("Window") },
          workingDays: { type: "array", items: { type: "integer" } },
          retryPolicy: {
            type: "object",
            properties: {
              maxAttempts: { type: "integer" },
              retryableOutcomes: { type: "array", items: { type: "string", enum: CallOutcome.all } },
              retryDelaySeconds: { type: "number" },
              retryDelayByOutcome: { type: "object", additionalProperties: { type: "number" } }
            }
          },
          estimatedDuration: { type: "string" },
          estimatedCost: { type: "string" },
          scheduledStartTime: nullable("string"),
          timing: {
            type: "object",
            properties: {
              scheduledStartTime: nullable("string"),
              actualStartTime: nullable("string"),
              completedAt: nullable("string"),
              estimatedCompletionTime: nullable("string"),
              createdAt: { type: "string" }
            }
          }
        }
      },
      Progress: {
        type: "object",
        properties: {
          totalContacts: { type: "integer" },
          contactsProcessed: { type: "integer" },
          successfulCalls: { type: "integer" },
          failedCalls: { type: "integer" },
          statusBreakdown: { type: "object", properties: Object.fromEntries(Contact.statuses.map((s) => [s, { type: "integer" }])) }
        }
      },
      Contact: {
        type: "object",
        properties: {
          contactId: { type: "string" },
          row: { type: "integer" },
          phoneNumber: { type: "string" },
          name: nullable("string"),
          externalId: nullable("string"),
          customFields: { type: "object", additionalProperties: { type: "string" } },
          status: { type: "string", enum: Contact.statuses },
          attemptCount: { type: "integer" },
          maxAttempts: { type: "integer" },
          lastAttemptAt: nullable("string"),
          nextRetryAt: nullable("string"),
          completedAt: nullable("string"),
          errorCode: nullable("integer"),
          failureReason: nullable("string"),
          callDuration: nullable("number"),
          roomName: nullable("string"),
          lastDecision: { type: ["object", "null"] }
        }
      },
      BatchDetails: {
        allOf: [
          ref("BatchSummary"),
          {
            type: "object",
            properties: {
              progress: ref("Progress"),
              contacts: { type: "array", items: ref("Contact") },
              contactsPage: { type: "integer" },
              contactsPageSize: { type: "integer" },
              contactsTotal: { type: "integer" },
              contactsHasMore: { type: "boolean" }
            }
          }
        ]
      },
      BatchList: {
        type: "object",
        properties: {
          batches: { type: "array", items: ref("BatchSummary") },
          pagination: {
            type: "object",
            properties: { total: { type: "integer" }, limit: { type: "integer" }, offset: { type: "integer" }, hasMore: { type: "boolean" } }
          }
        }
      }
    }
  }
} as const
