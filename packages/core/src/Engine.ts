/**
 * The engine as a host and the HTTP router use it: create a batch from a
 * contact file or JSON rows (validated, priced and stored atomically, under
 * an idempotency key), edit drafts, move batches through their lifecycle,
 * and read them back with progress and a page of contacts. Every operation
 * is scoped to an organization: another tenant's batch does not exist.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as BatchIntake from "./BatchIntake.ts"
import * as BatchLifecycle from "./BatchLifecycle.ts"
import * as BatchQueries from "./BatchQueries.ts"
import { BatchStore } from "./BatchStore.ts"
import * as BatchView from "./BatchView.ts"
import * as ContactQueries from "./ContactQueries.ts"
import { Credits } from "./Credits.ts"
import * as CreditsModule from "./Credits.ts"
import { Directory } from "./Directory.ts"
import { Dispatcher } from "./Dispatcher.ts"
import * as DispatcherModule from "./Dispatcher.ts"
import * as DoNotCall from "./DoNotCall.ts"
import * as DoNotCallList from "./DoNotCallList.ts"
import { EngineConfig } from "./EngineConfig.ts"
import * as EngineConfigModule from "./EngineConfig.ts"
import { type EngineEvent, EngineEvents } from "./EngineEvents.ts"
import * as EngineEventsModule from "./EngineEvents.ts"
import * as EngineMetrics from "./EngineMetrics.ts"
import type * as IdempotencyModule from "./Idempotency.ts"
import type { EngineContext } from "./internal/engineContext.ts"
import * as Retention from "./Retention.ts"
import type { Telephony } from "./Telephony.ts"
import * as WebhookDelivery from "./WebhookDelivery.ts"
import * as WebhookEndpoints from "./WebhookEndpoints.ts"

/**
 * Contacts arrive as a file (CSV, XLSX, XLS) or as JSON rows.
 *
 * @since 0.1.0
 * @category models
 */
export type ContactsInput = BatchIntake.ContactsInput

/**
 * A request made safe to repeat: the key the client sent and a fingerprint
 * of its body (the transport computes it, since it sees the raw request).
 *
 * @since 0.1.0
 * @category models
 */
export type Idempotency = IdempotencyModule.Idempotency

/**
 * @since 0.1.0
 * @category models
 */
export type ValidationSummary = BatchView.ValidationSummary

/**
 * @since 0.1.0
 * @category models
 */
export type ValidationReport = BatchView.ValidationReport

/**
 * @since 0.1.0
 * @category models
 */
export type CreateBatchResponse = BatchView.CreateBatchResponse

/**
 * @since 0.1.0
 * @category models
 */
export type Progress = BatchView.Progress

/**
 * @since 0.1.0
 * @category models
 */
export type BatchSummary = BatchView.BatchSummary

/**
 * @since 0.1.0
 * @category models
 */
export type ContactView = BatchView.ContactView

/**
 * @since 0.1.0
 * @category models
 */
export type BatchDetails = BatchView.BatchDetails

/**
 * @since 0.1.0
 * @category models
 */
export type ContactsQuery = BatchQueries.ContactsQuery

/**
 * @since 0.1.0
 * @category models
 */
export type ListQuery = BatchQueries.ListQuery

/**
 * @since 0.1.0
 * @category models
 */
export type BatchList = BatchView.BatchList

/**
 * @since 0.1.0
 * @category services
 */
export class Engine extends Context.Service<Engine, {
  readonly createBatch: BatchIntake.BatchIntake["createBatch"]
  /** Validates contacts as a create would, storing nothing. */
  readonly validateContacts: BatchIntake.BatchIntake["validateContacts"]
  readonly updateDraft: BatchLifecycle.BatchLifecycle["updateDraft"]
  readonly addContacts: BatchIntake.BatchIntake["addContacts"]
  readonly removeContact: BatchIntake.BatchIntake["removeContact"]
  /** Leaves draft: at `scheduledStartTime` when given (or already set), else at once. */
  readonly schedule: BatchLifecycle.BatchLifecycle["schedule"]
  readonly pause: BatchLifecycle.BatchLifecycle["pause"]
  readonly resume: BatchLifecycle.BatchLifecycle["resume"]
  readonly cancel: BatchLifecycle.BatchLifecycle["cancel"]
  /** Re-queues the retryable failures of a completed batch, each with `extraAttempts` more (default 1). */
  readonly retry: BatchLifecycle.BatchLifecycle["retry"]
  readonly deleteBatch: BatchLifecycle.BatchLifecycle["deleteBatch"]
  readonly getBatch: BatchQueries.BatchQueries["getBatch"]
  readonly listBatches: BatchQueries.BatchQueries["listBatches"]
  /** A page of a batch's contacts, by status and a search of names and numbers. */
  readonly listContacts: ContactQueries.ContactQueries["listContacts"]
  readonly getContact: ContactQueries.ContactQueries["getContact"]
  readonly exportContacts: ContactQueries.ContactQueries["exportContacts"]
  /** The organization's do-not-call list: add, remove, check, page, import a file. */
  readonly doNotCall: DoNotCallList.DoNotCallList
  /** Changes of the organization's batches, from now on. */
  readonly events: (organizationId: string, batchId?: string) => Stream.Stream<EngineEvent>
  /** The organization's webhook endpoints and their delivery logs. */
  readonly webhooks: WebhookEndpoints.WebhookEndpoints["Service"]
}>()("@outdial/core/Engine") {}

/**
 * @since 0.1.0
 * @category views
 */
export const progressOf = BatchView.progressOf

/**
 * @since 0.1.0
 * @category views
 */
export const summaryOf = BatchView.summaryOf

/**
 * @since 0.1.0
 * @category views
 */
export const contactView = BatchView.contactView

/**
 * The engine over its ports: intake, lifecycle and queries, each a module
 * of its own, composed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<
  Engine["Service"],
  never,
  BatchStore | Directory | Credits | EngineEvents | Dispatcher
> = Effect.gen(function*() {
  const config = yield* EngineConfig
  const store = yield* BatchStore
  const context: EngineContext = {
    // The API's store calls timed and traced (a store may time the dispatcher's too, as PostgreSQL's does).
    store: EngineMetrics.instrumentStore(store),
    doNotCall: yield* DoNotCall.orMemoryFor(store),
    directory: yield* Directory,
    credits: yield* Credits,
    events: yield* EngineEvents,
    dispatcher: yield* Dispatcher,
    config,
    imports: Semaphore.makeUnsafe(config.maxConcurrentImports)
  }
  const { events } = context
  return Engine.of({
    ...BatchIntake.make(context),
    ...BatchLifecycle.make(context),
    ...BatchQueries.make(context.store, config.organizationBlackoutDates),
    ...ContactQueries.make(context),
    doNotCall: DoNotCallList.make(context.doNotCall, config),
    webhooks: WebhookEndpoints.make(context.store, config),
    events: (organizationId, batchId) =>
      Stream.filter(events.stream, (event) =>
        event.organizationId === organizationId && (batchId === undefined || event.batchId === batchId))
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  Engine,
  never,
  BatchStore | Directory | Credits | EngineEvents | Dispatcher
> = Layer.effect(Engine)(
  // Old idempotency keys and events are pruned, and webhooks sent, for the engine's lifetime.
  Effect.gen(function*() {
    yield* Effect.forkScoped(Retention.run)
    const config = yield* EngineConfig
    yield* Effect.forkScoped(WebhookDelivery.run(yield* BatchStore, {
      ownerId: config.ownerId,
      settings: config.webhooks,
      random: config.random
    }))
    return yield* make
  })
)
/**
 * The engine in one call: a host hands over its ports and gets the `Engine`
 * with its `Dispatcher` running, plus every port it passed (so a store that
 * also provides a `SqlClient`, say, keeps providing it).
 *
 * ```ts
 * const engine = Engine.layerWith({
 *   store: PgStorage.layerEmbedded(),
 *   telephony: SimulatedTelephony.layer(),
 *   directory: Directory.layerStatic({ agents, callerNumbers })
 * })
 * const runtime = ManagedRuntime.make(engine)
 * ```
 */
/**
 * The ports of `layerWith`. Credits default to unlimited at the default price,
 * events to an in-process stream, and config to `EngineConfig.defaults()`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions<
  Store extends Layer.Layer<BatchStore, any, any>,
  Phone extends Layer.Layer<Telephony, any, any>,
  Dir extends Layer.Layer<Directory, any, any>,
  Cred extends Layer.Layer<Credits, any, any>,
  Events extends Layer.Layer<EngineEvents, any, any>
> {
  readonly store: Store
  readonly telephony: Phone
  readonly directory: Dir
  readonly credits?: Cred | undefined
  readonly events?: Events | undefined
  readonly config?: Partial<EngineConfig> | undefined
}

/**
 * The `Engine` and its `Dispatcher` over the given ports, which it also
 * provides.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = <
  Store extends Layer.Layer<BatchStore, any, any>,
  Phone extends Layer.Layer<Telephony, any, any>,
  Dir extends Layer.Layer<Directory, any, any>,
  Cred extends Layer.Layer<Credits, any, any> = Layer.Layer<Credits>,
  Events extends Layer.Layer<EngineEvents, any, any> = Layer.Layer<EngineEvents>
>(
  options: LayerOptions<Store, Phone, Dir, Cred, Events>
): Layer.Layer<
  Engine | Dispatcher | Layer.Success<Store | Phone | Dir | Cred | Events>,
  Layer.Error<Store | Phone | Dir | Cred | Events>,
  Layer.Services<Store | Phone | Dir | Cred | Events>
> => {
  const ports = Layer.mergeAll(
    options.store,
    options.telephony,
    options.directory,
    options.credits ?? CreditsModule.layerUnlimited(),
    options.events ?? EngineEventsModule.layer()
  )
  // The ports cover everything engine and dispatcher need, which the
  // compiler cannot see through the generic layers: hence the cast.
  return layer.pipe(
    Layer.provideMerge(DispatcherModule.layer),
    Layer.provide(EngineConfigModule.layer(options.config ?? {})),
    Layer.provideMerge(ports)
  ) as Layer.Layer<any, any, any>
}
