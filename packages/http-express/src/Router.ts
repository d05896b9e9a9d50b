/**
 * The batch API as an Express router a host mounts anywhere. Every route is
 * scoped to the organization `resolveOrganization` finds on the request (the
 * host's own auth): another tenant's batch does not exist.
 *
 * ```ts
 * const runtime = ManagedRuntime.make(engineLayer)
 * app.use("/api/v1", Router.makeRouter(runtime, { resolveOrganization: (req) => req.user.orgId }))
 * ```
 *
 * @since 0.1.0
 */
import { BatchQueries, ContactExport, ContactQueries, Engine } from "@outdial/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import express, { type Request, type Response } from "express"
import * as CsvResponse from "./CsvResponse.ts"
import * as DoNotCallRoutes from "./DoNotCallRoutes.ts"
import * as ErrorResponse from "./ErrorResponse.ts"
import * as EventStream from "./EventStream.ts"
import * as OpenApi from "./OpenApi.ts"
import * as ParsedBody from "./ParsedBody.ts"
import * as Uploads from "./Uploads.ts"
import { contactsOf, idempotencyOf, param, queryOf, queryParam, requiredContacts, stringParam, textOrNull } from "./internal/requestParts.ts"
import * as WebhookRoutes from "./WebhookRoutes.ts"

/**
 * What runs the engine's effects: a `ManagedRuntime` of a layer providing
 * `Engine` fits.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineRuntime {
  readonly runPromiseExit: <A, E>(effect: Effect.Effect<A, E, Engine.Engine>) => Promise<Exit.Exit<A, unknown>>
  readonly runFork: <A, E>(effect: Effect.Effect<A, E, Engine.Engine>) => Fiber.Fiber<A, unknown>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The organization the request acts for, from the host's own auth;
   * `undefined` (or a throw) answers 401.
   */
  readonly resolveOrganization: (request: Request) => string | undefined | Promise<string | undefined>
  /** Bytes a contact file may have; 50 MB unless set. Keep it at the engine's `maxFileBytes`. */
  readonly maxFileBytes?: number | undefined
  /** Bytes a JSON body may have; 50 MB unless set. */
  readonly maxJsonBytes?: number | undefined
  /** Where uploaded files are spooled while a request is read; the system's temporary folder unless set. */
  readonly spoolDirectory?: string | undefined
  /** A request body that sends nothing for this long is abandoned (408); 30 s unless set. */
  readonly uploadIdleMillis?: number | undefined
}

/**
 * The router. Routes (relative to where it is mounted):
 * `POST /batches`, `POST /batches/validate`, `GET /batches`,
 * `GET|PATCH|DELETE /batches/:id`, `GET|POST /batches/:id/contacts`,
 * `GET /batches/:id/contacts.csv`, `GET|DELETE /batches/:id/contacts/:contactId`,
 * `POST /batches/:id/{schedule,pause,resume,cancel,retry}`,
 * `GET /batches/:id/events` (Server-Sent Events), `GET /openapi.json`, the
 * do-not-call list's (`DoNotCallRoutes.ts`) and the webhook endpoints of
 * `WebhookRoutes`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRouter = (runtime: EngineRuntime, options: Options): express.Router => {
  const limits: Uploads.Limits = {
    maxFileBytes: options.maxFileBytes ?? 50 * 1024 * 1024,
    maxJsonBytes: options.maxJsonBytes ?? 50 * 1024 * 1024,
    spoolDirectory: options.spoolDirectory,
    idleMillis: options.uploadIdleMillis
  }
  const router = express.Router()

  const organizationOf = async (request: Request): Promise<string> => {
    const organizationId = await Promise.resolve()
      .then(() => options.resolveOrganization(request))
      .catch(() => undefined)
    if (organizationId === undefined || organizationId === "") {
      throw new ErrorResponse.HttpFailure(401, "unauthorized", "The request does not name an organization")
    }
    return organizationId
  }

  /**
   * Answers a failure with the envelope. A 5xx is ours, not the client's: it
   * is logged with its cause, which the answer never shows.
   */
  const fail = (request: Request, response: Response, failure: ErrorResponse.Failure, cause: unknown) => {
    if (failure.status >= 500) {
      runtime.runFork(Effect.logError(
        `outdial: ${request.method} ${request.originalUrl.slice(0, 200)} answered ${failure.status}`,
        Cause.isCause(cause) ? cause : Cause.die(cause)
      ))
    }
    // The rest of an upload refused for its size or type is not worth reading.
    if (failure.status === 408 || failure.status === 413 || failure.status === 415) response.set("connection", "close")
    ErrorResponse.send(response, failure)
  }

  /**
   * Runs a long answer (a stream written to `response`) until it ends or the
   * client goes away; answers its failure, if any: `false` then.
   */
  const follow = async (request: Request, response: Response, effect: Effect.Effect<void, unknown, Engine.Engine>) => {
    const fiber = runtime.runFork(effect)
    const stop = () => void runtime.runFork(Fiber.interrupt(fiber) as Effect.Effect<void, never, never>)
    request.on("close", stop)
    const exit = await runtime.runPromiseExit(Fiber.await(fiber) as Effect.Effect<Exit.Exit<void, unknown>>)
    request.off("close", stop)
    const ended = Exit.isSuccess(exit) ? exit.value : exit
    if (Exit.isFailure(ended) && !Cause.hasInterruptsOnly(ended.cause)) {
      fail(request, response, ErrorResponse.fromCause(ended.cause), ended.cause)
      return false
    }
    return true
  }

  /**
   * Runs an engine call and answers with its result (204 for none, JSON or
   * as `answer` writes it) or its error.
   */
  const handle = <A>(
    status: number,
    program: (
      organizationId: string,
      request: Request
    ) => Promise<Effect.Effect<A, unknown, Engine.Engine>> | Effect.Effect<A, unknown, Engine.Engine>,
    answer?: (request: Request, response: Response, value: A) => void
  ) =>
  async (request: Request, response: Response) => {
    try {
      const organizationId = await organizationOf(request)
      const span = `${request.method} ${request.baseUrl}${request.route?.path ?? ""}`
      const exit = await runtime.runPromiseExit(Effect.withSpan(await program(organizationId, request), span, {
        attributes: { "http.request.method": request.method, "outdial.organization.id": organizationId }
      }))
      if (Exit.isFailure(exit)) return fail(request, response, ErrorResponse.fromCause(exit.cause), exit.cause)
      if (exit.value === undefined) return void response.status(204).end()
      if (answer !== undefined) return answer(request, response, exit.value)
      response.status(status).json(exit.value)
    } catch (error) {
      fail(request, response, ErrorResponse.fromUnknown(error), error)
    }
  }

  /** As `handle`, for routes with a body; a spooled file is removed before the answer goes out. */
  const withBody = <A>(
    status: number,
    program: (
      organizationId: string,
      incoming: Uploads.Incoming,
      request: Request
    ) => Effect.Effect<A, unknown, Engine.Engine>,
    answer?: (request: Request, response: Response, value: A) => void
  ) =>
    handle(status, async (organizationId, request) => {
      // Behind a host's own body parser the stream is already read: take what it parsed.
      const incoming = ParsedBody.fromRequest(request) ?? await Uploads.read(request, limits)
      return program(organizationId, incoming, request).pipe(Effect.ensuring(Effect.promise(incoming.cleanup)))
    }, answer)

  router.get("/openapi.json", (_request, response) => void response.json(OpenApi.document))

  router.post(
    "/batches/validate",
    withBody(200, (organizationId, incoming) => {
      const contacts = contactsOf(incoming)
      return Engine.Engine.use((engine) =>
        engine.validateContacts(organizationId, contacts ?? { _tag: "Rows", rows: [] }, {
          defaultCountry: stringParam(incoming.fields.defaultCountry) ?? null,
          dropDuplicates: incoming.fields.dropDuplicates === true,
          columnMapping: incoming.fields.columnMapping,
          phoneNumberIds: Array.isArray(incoming.fields.phoneNumberIds)
            ? incoming.fields.phoneNumberIds.filter((id): id is string => typeof id === "string")
            : undefined,
          settings: incoming.fields
        })
      )
    }, (request, response, report) =>
      CsvResponse.wanted(request)
        ? CsvResponse.send(response, 200, "rejected-rows.csv", ContactExport.rejectedCsv(report.rejected))
        : void response.status(200).json(report))
  )

  router.post(
    "/batches",
    withBody(201, (organizationId, incoming, request) => {
      const { contacts: _, ...settings } = incoming.fields
      const contacts = contactsOf(incoming)
      return Engine.Engine.use((engine) =>
        engine.createBatch(
          organizationId,
          // Without a file every field goes to the engine, `contacts` of any shape included, to be refused with a reason.
          contacts?._tag === "File" ? settings : incoming.fields,
          contacts?._tag === "File" ? contacts : undefined,
          idempotencyOf(request, incoming.fingerprint)
        )
      )
    }, (request, response, created) => {
      if (!CsvResponse.wanted(request)) return void response.status(201).json(created)
      // The batch is named in headers: the body is the rows it refused, to correct and send again.
      response.set({ location: `${request.baseUrl}/batches/${encodeURIComponent(created.batchJobId)}`, "outdial-batch-id": created.batchJobId })
      CsvResponse.send(response, 201, `${created.batchJobId}-rejected-rows.csv`, ContactExport.rejectedCsv(created.rejected))
    })
  )

  router.get(
    "/batches",
    handle(200, (organizationId, request) =>
      BatchQueries.decodeListQuery({
        agentId: queryParam(request, "agentId"),
        status: queryParam(request, "status"),
        limit: queryParam(request, "limit"),
        offset: queryParam(request, "offset")
      }).pipe(Effect.flatMap((query) => Engine.Engine.use((engine) => engine.listBatches(organizationId, query)))))
  )

  router.get(
    "/batches/:id",
    handle(200, (organizationId, request) =>
      BatchQueries.decodeContactsQuery(
        queryOf(request, ["contactStatus", "contactsPage", "contactsPageSize", "contactsCursor", "contactsSearch"])
      ).pipe(Effect.flatMap((query) =>
        Engine.Engine.use((engine) => engine.getBatch(organizationId, param(request, "id"), query))
      )))
  )

  router.patch(
    "/batches/:id",
    withBody(200, (organizationId, incoming, request) =>
      Engine.Engine.use((engine) => engine.updateDraft(organizationId, param(request, "id"), incoming.fields)))
  )

  router.delete(
    "/batches/:id",
    handle(204, (organizationId, request) =>
      Engine.Engine.use((engine) => engine.deleteBatch(organizationId, param(request, "id"))))
  )

  router.post(
    "/batches/:id/contacts",
    withBody(200, (organizationId, incoming, request) =>
      Effect.flatMap(requiredContacts(incoming), (contacts) =>
        Engine.Engine.use((engine) =>
          engine.addContacts(organizationId, param(request, "id"), contacts, {
            dropDuplicates: incoming.fields.dropDuplicates === true,
            columnMapping: incoming.fields.columnMapping,
            strictValidation: typeof incoming.fields.strictValidation === "boolean" ? incoming.fields.strictValidation : undefined,
            idempotency: idempotencyOf(request, incoming.fingerprint)
          })
        )))
  )

  router.get(
    "/batches/:id/contacts",
    handle(200, (organizationId, request) =>
      ContactQueries.decodeContactsPageQuery(queryOf(request, ["status", "search", "page", "pageSize", "cursor"])).pipe(
        Effect.flatMap((query) =>
          Engine.Engine.use((engine) => engine.listContacts(organizationId, param(request, "id"), query))
        )
      ))
  )

  router.get("/batches/:id/contacts.csv", async (request, response) => {
    try {
      const organizationId = await organizationOf(request)
      const batchId = param(request, "id")
      const exported = await runtime.runPromiseExit(
        ContactQueries.decodeExportQuery(queryOf(request, ["status", "search", "importable"])).pipe(
          Effect.flatMap((query) => Engine.Engine.use((engine) => engine.exportContacts(organizationId, batchId, query)))
        )
      )
      if (Exit.isFailure(exported)) return fail(request, response, ErrorResponse.fromCause(exported.cause), exported.cause)
      // Past the first byte a failure can only cut the download (CsvResponse.stream); it is still ours to log.
      await follow(request, response, CsvResponse.stream(response, `${batchId}-contacts.csv`, exported.value))
    } catch (error) {
      fail(request, response, ErrorResponse.fromUnknown(error), error)
    }
  })

  router.get(
    "/batches/:id/contacts/:contactId",
    handle(200, (organizationId, request) =>
      Engine.Engine.use((engine) => engine.getContact(organizationId, param(request, "id"), param(request, "contactId"))))
  )

  router.delete(
    "/batches/:id/contacts/:contactId",
    handle(204, (organizationId, request) =>
      Engine.Engine.use((engine) =>
        engine.removeContact(organizationId, param(request, "id"), param(request, "contactId"))
      ))
  )

  router.post(
    "/batches/:id/schedule",
    withBody(200, (organizationId, incoming, request) =>
      Engine.Engine.use((engine) =>
        engine.schedule(organizationId, param(request, "id"), {
          scheduledStartTime: textOrNull(incoming.fields.scheduledStartTime)
        })
      ))
  )
  for (const action of ["pause", "resume", "cancel"] as const) {
    router.post(
      `/batches/:id/${action}`,
      handle(200, (organizationId, request) =>
        Engine.Engine.use((engine) => engine[action](organizationId, param(request, "id"))))
    )
  }
  router.post(
    "/batches/:id/retry",
    withBody(200, (organizationId, incoming, request) =>
      Engine.Engine.use((engine) =>
        engine.retry(organizationId, param(request, "id"), { extraAttempts: incoming.fields.extraAttempts })
      ))
  )

  DoNotCallRoutes.mount(router, { handle, withBody, queryParam, param })
  WebhookRoutes.install(router, { handle, withBody, param, queryParam })

  router.get("/batches/:id/events", async (request, response) => {
    try {
      const organizationId = await organizationOf(request)
      if (await follow(request, response, EventStream.serve(organizationId, param(request, "id"), response))) response.end()
    } catch (error) {
      fail(request, response, ErrorResponse.fromUnknown(error), error)
    }
  })

  // No catch-all: a path the router does not know goes on to the host's own routes.
  // What Express itself raises inside the router (a malformed percent-escape in a path) gets the envelope.
  router.use((error: unknown, request: Request, response: Response, _next: express.NextFunction) =>
    fail(request, response, ErrorResponse.fromUnknown(error), error)
  )
  return router
}

/**
 * The API's JSON 404 for a path nobody answered, for a host to mount after
 * its own routes under the same prefix:
 * `app.use("/api/v1", Router.makeRouter(runtime, options), hostRoutes, Router.notFound)`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const notFound = (_request: Request, response: Response): void =>
  ErrorResponse.send(
    response,
    ErrorResponse.fromUnknown(new ErrorResponse.HttpFailure(404, "not_found", "No such route"))
  )
