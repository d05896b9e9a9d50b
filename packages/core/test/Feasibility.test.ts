import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import * as Engine from "../src/Engine.ts"
import { layer as engine, organizationId, rows } from "@outdial/testing/TestEngine"

const monday = Date.UTC(2026, 5, 1, 13, 0) // Monday 1 June 2026, 09:00 in New York

const withEngine = <A, E>(config: Parameters<typeof engine>[0], body: Effect.Effect<A, E, Engine.Engine>) =>
  Effect.andThen(TestClock.setTime(monday), Effect.provide(body, engine(config)))

const create = (input: Record<string, unknown>) =>
  Effect.gen(function*() {
    const service = yield* Engine.Engine
    return yield* service.createBatch(organizationId, { name: "Deadline", agentId: "agent_sales", ...input })
  })

const inOneDay = new Date(monday + 86_400_000).toISOString()

describe("Feasibility at create", () => {
  it.effect("a batch that fits reports feasible with its estimated finish", () =>
    withEngine({}, Effect.gen(function*() {
      const created = yield* create({ concurrentCallLimit: 5, completeBy: inOneDay, contacts: rows(10) })
      // 10 contacts × (120 s + 1.3 × 20 s) over 5 lines: 292 s.
      assert.deepStrictEqual(created.feasibility, {
        feasible: true,
        completeBy: inOneDay,
        estimatedFinish: new Date(monday + 292_000).toISOString(),
        shortfallContacts: 0,
        shortfallSeconds: null
      })
    })))

  it.effect("an infeasible batch is reported, and stored, unless refusal is asked for", () =>
    withEngine({}, Effect.gen(function*() {
      // 2,000 contacts on one line, 09:00–17:00 New York only: about 10 working days, not one.
      const input = {
        concurrentCallLimit: 1,
        timezone: "America/New_York",
        callingWindow: { start: "09:00", end: "17:00" },
        completeBy: inOneDay,
        contacts: rows(2_000)
      }
      const reported = yield* create(input)
      assert.isFalse(reported.feasibility.feasible)
      assert.isAbove(reported.feasibility.shortfallContacts, 1_700)
      assert.isAbove(reported.feasibility.shortfallSeconds!, 86_400)
      const refused = yield* Effect.flip(create({ ...input, refuseInfeasible: true }))
      assert.strictEqual(refused._tag, "BatchInfeasible")
      if (refused._tag !== "BatchInfeasible") return
      assert.strictEqual(refused.code, "infeasible_batch")
      assert.strictEqual(refused.completeBy, inOneDay)
      assert.strictEqual(refused.shortfallContacts, reported.feasibility.shortfallContacts)
      assert.strictEqual(refused.estimatedFinish, reported.feasibility.estimatedFinish)
      const list = yield* (yield* Engine.Engine).listBatches(organizationId, {})
      assert.strictEqual(list.pagination.total, 1)
    })))

  it.effect("the host's refuseInfeasible refuses unless the request says otherwise", () =>
    withEngine({ config: { refuseInfeasible: true } }, Effect.gen(function*() {
      const input = { concurrentCallLimit: 1, completeBy: new Date(monday + 3_600_000).toISOString(), contacts: rows(100) }
      const refused = yield* Effect.flip(create(input))
      assert.strictEqual(refused._tag, "BatchInfeasible")
      const allowed = yield* create({ ...input, refuseInfeasible: false })
      assert.isFalse(allowed.feasibility.feasible)
    })))

  it.effect("recipient hours count: New York numbers created at 04:00 there finish after they open", () =>
    Effect.andThen(
      TestClock.setTime(Date.UTC(2026, 5, 1, 8, 0)),
      Effect.provide(
        Effect.gen(function*() {
          const created = yield* create({
            recipientLocalHours: { start: "08:00", end: "21:00" },
            completeBy: new Date(Date.UTC(2026, 5, 1, 11, 0)).toISOString(),
            contacts: [{ phone: "+12129560123" }]
          })
          assert.isFalse(created.feasibility.feasible)
          assert.strictEqual(created.feasibility.shortfallContacts, 1)
          assert.strictEqual(created.feasibility.estimatedFinish, new Date(Date.UTC(2026, 5, 1, 12, 0) + 146_000).toISOString())
        }),
        engine({})
      )
    ))

  describe("bad options are typed 400s and store nothing", () => {
    const cases: ReadonlyArray<readonly [string, Record<string, unknown>, string, string]> = [
      ["hours starting after they end", { recipientLocalHours: { start: "21:00", end: "08:00" } }, "invalid_recipient_hours", "recipientLocalHours"],
      ["hours of no length", { recipientLocalHours: { start: "09:00", end: "09:00" } }, "invalid_recipient_hours", "recipientLocalHours"],
      ["hours not HH:MM", { recipientLocalHours: { start: "8am", end: "21:00" } }, "validation_error", "recipientLocalHours.start"],
      ["an unknown zone", { timezone: "Mars/Olympus", recipientLocalHours: { start: "08:00", end: "21:00" } }, "invalid_timezone", "timezone"],
      ["a date that does not exist", { blackoutDates: ["2026-02-30"] }, "validation_error", "blackoutDates.0"],
      ["a date in another format", { blackoutDates: ["25/12/2026"] }, "validation_error", "blackoutDates.0"],
      ["an unknown holiday country", { holidays: { country: "XX", zone: "batch" } }, "invalid_holidays", "holidays"],
      ["an unknown holiday region", { holidays: { country: "US", region: "ZZ", zone: "batch" } }, "invalid_holidays", "holidays"],
      ["batch-zone holidays without a country", { holidays: { zone: "batch" } }, "invalid_holidays", "holidays"],
      ["a holiday zone that is neither", { holidays: { country: "US", zone: "mine" } }, "validation_error", "holidays.zone"],
      ["a deadline in the past", { completeBy: "2020-01-01T00:00:00Z" }, "validation_error", "completeBy"],
      ["a deadline that is no date", { completeBy: "soon" }, "validation_error", "completeBy"]
    ]
    for (const [name, input, code, field] of cases) {
      it.effect(name, () =>
        withEngine({}, Effect.gen(function*() {
          const error = yield* Effect.flip(create({ ...input, contacts: rows(1) }))
          assert.strictEqual(error._tag, "InvalidInput")
          if (error._tag !== "InvalidInput") return
          assert.strictEqual(error.code, code)
          assert.strictEqual(error.field, field)
          assert.strictEqual((yield* (yield* Engine.Engine).listBatches(organizationId, {})).pagination.total, 0)
        })))
    }
  })
})

describe("Feasibility at validation", () => {
  it.effect("a validation with completeBy reports the feasibility a create would, storing nothing; without one, none", () =>
    withEngine({}, Effect.gen(function*() {
      const engineService = yield* Engine.Engine
      const settings = { concurrentCallLimit: 1, callingWindow: { start: "09:00", end: "17:00" }, timezone: "America/New_York", completeBy: inOneDay }
      const report = yield* engineService.validateContacts(organizationId, { _tag: "Rows", rows: rows(2_000) }, { settings })
      const created = yield* create({ ...settings, draft: true, contacts: rows(2_000) })
      assert.deepStrictEqual(report.feasibility, created.feasibility)
      assert.isFalse(report.feasibility!.feasible)
      const plain = yield* engineService.validateContacts(organizationId, { _tag: "Rows", rows: rows(2) }, { settings: { concurrentCallLimit: 1 } })
      assert.isUndefined(plain.feasibility)
      const bad = yield* Effect.flip(
        engineService.validateContacts(organizationId, { _tag: "Rows", rows: rows(2) }, { settings: { completeBy: inOneDay, recipientLocalHours: { start: "22:00", end: "06:00" } } })
      )
      assert.strictEqual(bad.code, "invalid_recipient_hours")
    })))
})
