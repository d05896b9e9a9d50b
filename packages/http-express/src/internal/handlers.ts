/**
 * How the router runs a route (`Router.ts`), as the route modules beside it
 * (`DoNotCallRoutes.ts`, `WebhookRoutes.ts`) use it: `handle` for one
 * without a body, `withBody` for one with.
 */
import type { Engine } from "@outdial/core"
import type * as Effect from "effect/Effect"
import type express from "express"
import type { Request } from "express"
import type * as Uploads from "../Uploads.ts"

export interface Handlers {
  readonly handle: (
    status: number,
    program: (organizationId: string, request: Request) => Effect.Effect<unknown, unknown, Engine.Engine>
  ) => express.RequestHandler
  readonly withBody: (
    status: number,
    program: (organizationId: string, incoming: Uploads.Incoming, request: Request) => Effect.Effect<unknown, unknown, Engine.Engine>
  ) => express.RequestHandler
  readonly param: (request: Request, name: string) => string
  readonly queryParam: (request: Request, name: string) => string | undefined
}
