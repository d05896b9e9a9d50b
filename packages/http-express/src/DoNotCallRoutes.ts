/**
 * The do-not-call list's routes, mounted by the router beside the batch
 * routes: `POST /do-not-call` (one number or `numbers`), `GET /do-not-call`
 * (a page, `limit` and `cursor`), `GET|DELETE /do-not-call/:number`, and
 * `POST /do-not-call/import` (a CSV or XLSX file, streamed into the list).
 *
 * @since 0.1.0
 */
import { Engine } from "@outdial/core"
import * as Effect from "effect/Effect"
import type express from "express"
import type { Handlers } from "./internal/handlers.ts"
import * as ErrorResponse from "./ErrorResponse.ts"

/**
 * @since 0.1.0
 * @category constructors
 */
export const mount = (router: express.Router, { handle, param, queryParam, withBody }: Handlers): void => {
  // Before `/do-not-call/:number`, which would take `import` for a number.
  router.post(
    "/do-not-call/import",
    withBody(200, (organizationId, incoming) => {
      const file = incoming.file
      if (file === undefined) {
        return Effect.fail(
          new ErrorResponse.HttpFailure(400, "validation_error", "Send the numbers as a CSV or XLSX file in the `file` field", {
            field: "file"
          })
        )
      }
      return Engine.Engine.use((engine) =>
        engine.doNotCall.importFile(
          organizationId,
          { content: file.open(), filename: file.filename, contentType: file.contentType },
          { source: incoming.fields.source, expiresAt: incoming.fields.expiresAt }
        )
      )
    })
  )
  router.post(
    "/do-not-call",
    withBody(200, (organizationId, incoming) => Engine.Engine.use((engine) => engine.doNotCall.add(organizationId, incoming.fields)))
  )
  router.get(
    "/do-not-call",
    handle(200, (organizationId, request) =>
      Engine.Engine.use((engine) =>
        engine.doNotCall.list(organizationId, { cursor: queryParam(request, "cursor"), limit: queryParam(request, "limit") })
      ))
  )
  router.get(
    "/do-not-call/:number",
    handle(200, (organizationId, request) =>
      Engine.Engine.use((engine) => engine.doNotCall.check(organizationId, param(request, "number"))))
  )
  router.delete(
    "/do-not-call/:number",
    handle(200, (organizationId, request) =>
      Engine.Engine.use((engine) => engine.doNotCall.remove(organizationId, param(request, "number"))))
  )
}
