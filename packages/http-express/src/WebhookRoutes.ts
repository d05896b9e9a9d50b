/**
 * The webhook endpoint routes of the router (relative to where it is
 * mounted): `POST|GET /webhooks`, `GET|PATCH|DELETE /webhooks/:id`,
 * `POST /webhooks/:id/rotate-secret`, `GET /webhooks/:id/deliveries`
 * (the delivery log) and `POST /webhooks/:id/deliveries/:deliveryId/redeliver`.
 *
 * @since 0.1.0
 */
import { Engine } from "@outdial/core"
import type * as Effect from "effect/Effect"
import type express from "express"
import type { Handlers } from "./internal/handlers.ts"

/**
 * Adds the routes to `router`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const install = (router: express.Router, { handle, param, queryParam, withBody }: Handlers): void => {
  const webhooks = <A, E>(f: (api: Engine.Engine["Service"]["webhooks"]) => Effect.Effect<A, E>) =>
    Engine.Engine.use((engine) => f(engine.webhooks))

  router.post("/webhooks", withBody(201, (organizationId, incoming) => webhooks((api) => api.create(organizationId, incoming.fields))))
  router.get("/webhooks", handle(200, (organizationId) => webhooks((api) => api.list(organizationId))))
  router.get("/webhooks/:id", handle(200, (organizationId, request) => webhooks((api) => api.get(organizationId, param(request, "id")))))
  router.patch(
    "/webhooks/:id",
    withBody(200, (organizationId, incoming, request) =>
      webhooks((api) => api.update(organizationId, param(request, "id"), incoming.fields)))
  )
  router.delete(
    "/webhooks/:id",
    handle(204, (organizationId, request) => webhooks((api) => api.remove(organizationId, param(request, "id"))))
  )
  router.post(
    "/webhooks/:id/rotate-secret",
    handle(200, (organizationId, request) => webhooks((api) => api.rotateSecret(organizationId, param(request, "id"))))
  )
  router.get(
    "/webhooks/:id/deliveries",
    handle(200, (organizationId, request) =>
      webhooks((api) =>
        api.deliveries(organizationId, param(request, "id"), {
          status: queryParam(request, "status"),
          limit: queryParam(request, "limit")
        })
      ))
  )
  router.post(
    "/webhooks/:id/deliveries/:deliveryId/redeliver",
    handle(200, (organizationId, request) =>
      webhooks((api) => api.redeliver(organizationId, param(request, "id"), param(request, "deliveryId"))))
  )
}
