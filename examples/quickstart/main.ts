/**
 * Outdial quickstart: a host app's first batch, end to end, with nothing to
 * set up. It imports `contacts.csv` (some rows are broken on purpose, to show
 * the validation report), creates a batch on the in-process store, dials it
 * through the simulated telephony provider in real time, draws live
 * progress from the engine's event stream, and prints the final breakdown.
 *
 *   npx pnpm@10 demo
 */
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { BatchStore, Credits, Directory, Dispatcher, Engine, EngineEvents, SimulatedTelephony } from "@outdial/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

const organizationId = "org_demo"

// The host's own agents and numbers, as its Directory would report them.
const directory = Directory.layerStatic({
  agents: [{ id: "agent_renewals", organizationId, ready: true, phoneNumberIds: ["num_us", "num_de"] }],
  callerNumbers: [
    { id: "num_us", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent_renewals" },
    { id: "num_de", organizationId, number: "+4930901820", outboundEnabled: true, agentId: "agent_renewals" }
  ]
})

const engine = Engine.layer.pipe(
  Layer.provideMerge(Dispatcher.layer),
  Layer.provideMerge(Layer.mergeAll(
    BatchStore.layerMemory,
    // Calls ring up to a second and talk one to three: the demo finishes in seconds.
    SimulatedTelephony.layer({ ringSeconds: { min: 0, max: 1 }, talkSeconds: { min: 1, max: 3 }, rejectSeconds: { min: 0, max: 1 } }),
    directory,
    Credits.layerUnlimited(),
    EngineEvents.layer()
  ))
)

const bar = (done: number, total: number, width = 32): string => {
  const filled = total === 0 ? width : Math.round((done / total) * width)
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`
}

const counts = (breakdown: Readonly<Record<string, number>>): string =>
  Object.entries(breakdown).filter(([, n]) => n > 0).map(([status, n]) => `${status} ${n}`).join(" · ")

const main = Effect.gen(function*() {
  const outdial = yield* Engine.Engine
  const path = fileURLToPath(new URL("./contacts.csv", import.meta.url))
  const bytes = new Uint8Array(yield* Effect.promise(() => readFile(path)))

  const created = yield* outdial.createBatch(organizationId, {
    name: "Plan renewals — quickstart",
    agentId: "agent_renewals",
    concurrentCallLimit: 25,
    maxAttempts: 2,
    retryDelay: "PT2S",
    phoneRotationStrategy: "round_robin",
    dropDuplicates: true
  }, { _tag: "File", file: { content: bytes, filename: "contacts.csv", contentType: "text/csv" } })

  console.log(`\n${created.message} (batch ${created.batchJobId})`)
  console.log(`  estimated duration ${created.estimatedDuration}, estimated cost ${created.estimatedCost}`)
  for (const group of created.errorGroups) {
    console.log(`  rejected: ${group.count} × ${group.code} (rows ${group.rows.join(", ")}) — ${group.message}`)
  }
  for (const duplicate of created.duplicates) {
    console.log(`  duplicate: ${duplicate.phone} on rows ${duplicate.rows.join(", ")} (kept the first)`)
  }
  console.log("")

  // Redraw on every change the engine publishes, until the batch is done.
  const draw = Effect.gen(function*() {
    const batch = yield* outdial.getBatch(organizationId, created.batchJobId, { contactsPageSize: 1 })
    const { progress } = batch
    process.stdout.write(`\r${bar(progress.contactsProcessed, progress.totalContacts)}  ${counts(progress.statusBreakdown)}\u001b[K`)
    return batch.status
  })
  yield* outdial.events(organizationId, created.batchJobId).pipe(
    Stream.groupedWithin(10_000, "100 millis"),
    Stream.mapEffect(() => draw),
    Stream.takeUntil((status) => status === "completed" || status === "cancelled" || status === "failed"),
    Stream.runDrain
  )
  const final = yield* outdial.getBatch(organizationId, created.batchJobId)
  process.stdout.write(`\r${bar(final.progress.contactsProcessed, final.progress.totalContacts)}\u001b[K\n\n`)
  console.log(`Batch ${final.status} at ${final.timing.completedAt}`)
  console.log(`  successful calls ${final.progress.successfulCalls}, failed calls ${final.progress.failedCalls}`)
  console.log(`  ${counts(final.progress.statusBreakdown)}`)
  const sample = final.contacts.slice(0, 3)
  for (const contact of sample) {
    console.log(`  ${contact.phoneNumber} ${contact.name}: ${contact.status} after ${contact.attemptCount} attempt(s), room ${contact.roomName}`)
  }
})

Effect.runPromise(Effect.provide(main, engine)).catch((error) => {
  console.error(error)
  process.exit(1)
})
