import { PgStorage } from "@outdial/adapter-postgres"
import { WebhookSuite } from "@outdial/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { describe, it } from "vitest"
import { freshDatabase, isReachable, serverUrl } from "./database.ts"

// The same SQL (triggers included) runs on embedded PGlite; the suite runs on the real server, where the
// processes that share deliveries live.
if (await isReachable()) {
  WebhookSuite.run(
    "Webhooks on PostgreSQL",
    Layer.unwrap(Effect.map(freshDatabase(), ({ url }) => PgStorage.layer({ url: Redacted.make(url) })))
  )
} else {
  describe("Webhooks on PostgreSQL", () => {
    it.skip(`skipped: no PostgreSQL reachable at ${serverUrl}`, () => {})
  })
}
