/**
 * The in-memory `BatchStore`: the reference every adapter is held to by the
 * conformance suite, and the store of tests, benches and single-process
 * hosts that need no durability.
 *
 * Waiting contacts are found without scans: those without a due time by a
 * cursor in stored order, and those with one (retries, deferrals, re-queues)
 * in a heap keyed by that time. Heap entries are never removed in place; an
 * entry whose contact has moved on is stale and skipped.
 *
 * Longer than ~400 lines because `make` is one closure over one map of
 * entries: every write keeps the counters and the waiting indexes in step
 * through `put`, and splitting the writes from those indexes would spread
 * that invariant over modules.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Attempt from "./Attempt.ts"
import { type Batch, type BatchStatus, dispatchable, sourcesOf } from "./Batch.ts"
import type { AttemptEnd, AttemptStart, Begun, Lease, NewContact, StatusBreakdown } from "./BatchStore.ts"
import { BatchStore, LeaseLost } from "./BatchStore.ts"
import * as Contact from "./Contact.ts"
import { decisionsKept } from "./ContactHistory.ts"
import * as ContactSearch from "./ContactSearch.ts"
import * as MemoryWebhookStore from "./MemoryWebhookStore.ts"
import * as WebhookPayload from "./WebhookPayload.ts"
import {
  BatchNotFound,
  ContactNotFound,
  IdempotencyKeyReused,
  IdempotencyRequestInProgress,
  InvalidTransition
} from "./OutdialError.ts"
import { Heap } from "./internal/heap.ts"
import * as OrganizationLoad from "./internal/organizationLoad.ts"
import * as CallLimits from "./CallLimits.ts"

interface Timed {
  readonly due: number
  readonly position: number
  readonly version: number
}

/** An open attempt: where its contact is, and what it changed, so that abandoning it can put it back. */
interface Opened {
  readonly position: number
  readonly attemptNumber: number
  readonly status: Contact.ContactStatus
  readonly nextRetryAt: DateTime.Utc | null
  readonly lastAttemptAt: DateTime.Utc | null
  readonly lastDecision: Contact.Decision | null
  readonly localDate: string
}

interface Entry {
  batch: Batch
  readonly contacts: Array<Contact.Contact | undefined>
  /** Removed contacts leave holes in `contacts`; without any, a page is a slice. */
  holes: number
  readonly externalIds: Set<string>
  readonly counts: Record<Contact.ContactStatus, number>
  /** Per position: bumped whenever the contact's due time changes. */
  readonly versions: Array<number>
  /** Per position: the contact has a due time, so the heap (not the cursor) finds it. */
  readonly timedFlags: Array<boolean>
  readonly timed: Heap<Timed>
  /** Every waiting contact without a due time sits at or after the cursor. */
  cursor: number
  nextContactNumber: number
  /**
   * Per position: the contact's attempts, attempt n at n - 1, in its latest
   * record. By position, not in a map by id: a dial adds one, and a map of
   * every attempt of the batch was a visible share of a dial's cost.
   */
  readonly attempts: Array<Array<Attempt.Attempt> | undefined>
  /**
   * Per position: the contact's latest decisions, oldest first (`ContactHistory.decisionsKept` at most).
   * By position, not id: a dial stores one, and a look-up by id was a visible share of it.
   */
  readonly decisions: Array<Array<Contact.Decision> | undefined>
  readonly opened: Map<string, Opened>
  readonly perDay: Map<string, number>
  lease: Lease | undefined
  epoch: number
}

const emptyCounts = (): Record<Contact.ContactStatus, number> =>
  Object.fromEntries(Contact.statuses.map((s) => [s, 0])) as Record<Contact.ContactStatus, number>

const millis = (time: DateTime.Utc) => DateTime.toEpochMillis(time)

/**
 * Where a contact id points: the n-th contact added to a batch is `c<n>`, at
 * position n - 1 (removals leave holes, never shift). Read off the id, not a
 * map of a batch's ids: no million-entry map to keep, and no look-up in one
 * per dial. `undefined` for any other id.
 */
const numberedPosition = (contactId: string): number | undefined => {
  const length = contactId.length
  if (length < 2 || length > 10 || contactId.charCodeAt(0) !== 99) return undefined
  let n = 0
  for (let i = 1; i < length; i++) {
    const digit = contactId.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return undefined
    n = n * 10 + digit
  }
  return n >= 1 ? n - 1 : undefined
}

/** The position of a contact still in the batch: `contacts` holds it there. */
const positionOf = (entry: Entry, contactId: string): number | undefined => {
  const position = numberedPosition(contactId)
  return position !== undefined && entry.contacts[position]?.id === contactId ? position : undefined
}

/**
 * A new in-memory store, for composing one by hand.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): BatchStore["Service"] => {
  const batches = new Map<string, Entry>()
  // `createdAt` is the engine's clock at reservation (epoch millis), so retention follows a TestClock too.
  const idempotency = new Map<string, { fingerprint: string; response?: unknown; done: boolean; createdAt: number }>()
  // When this store was last pruned, so that engines sharing it prune once per interval.
  let prunedAt: number | undefined
  // Across batches, per organization: attempts by number (frequency caps), calls in flight and
  // recent starts by caller number (`beginAttemptsWithin`).
  const load = OrganizationLoad.make(function*(organizationId) {
    for (const entry of batches.values()) {
      if (entry.batch.organizationId !== organizationId) continue
      for (let position = 0; position < entry.contacts.length; position++) {
        const attempts = entry.attempts[position]
        const contact = entry.contacts[position]
        if (attempts !== undefined && contact !== undefined) yield { phone: contact.phone, attempts }
      }
    }
  })
  const webhooks = MemoryWebhookStore.make()
  const recordBatch = (batch: Batch, previousStatus: BatchStatus | null) =>
    webhooks.record({
      kind: "batch",
      organizationId: batch.organizationId,
      batchId: batch.id,
      previousStatus,
      status: batch.status,
      name: batch.name,
      agentId: batch.agentId,
      totalContacts: batch.totalContacts
    })

  const entryOf = (batchId: string) =>
    Effect.suspend(() => {
      const entry = batches.get(batchId)
      return entry === undefined ? Effect.fail(new BatchNotFound({ batchId })) : Effect.succeed(entry)
    })

  const toContact = (entry: Entry, c: NewContact, maxAttempts: number): Contact.Contact =>
    Contact.fresh({ id: `c${entry.nextContactNumber++}`, batchId: entry.batch.id, maxAttempts }, c)

  const append = (entry: Entry, news: ReadonlyArray<NewContact>) => {
    let added = 0
    let skipped = 0
    const maxAttempts = entry.batch.retryPolicy.maxAttempts
    // Indexed, not `for…of`: a batch's one long loop runs mostly before it is optimized, where an iterator costs.
    for (let i = 0; i < news.length; i++) {
      const c = news[i]!
      if (c.externalId !== null) {
        if (entry.externalIds.has(c.externalId)) {
          skipped++
          continue
        }
        entry.externalIds.add(c.externalId)
      }
      const contact = toContact(entry, c, maxAttempts)
      entry.contacts.push(contact)
      entry.versions.push(0)
      entry.timedFlags.push(false)
      entry.decisions.push(undefined)
      entry.attempts.push(undefined)
      entry.counts.pending++
      added++
    }
    entry.batch = { ...entry.batch, totalContacts: entry.batch.totalContacts + added }
    return { added, skipped }
  }

  // Every contact change goes through here, so counters and the waiting
  // indexes can never disagree with the contacts.
  const put = (entry: Entry, position: number, next: Contact.Contact) => {
    const previous = entry.contacts[position]!
    entry.contacts[position] = next
    if (
      webhooks.listens(entry.batch.organizationId) &&
      WebhookPayload.isContactNews(
        { status: previous.status, decisionKind: previous.lastDecision?.kind ?? null, decisionAt: previous.lastDecision?.at },
        { status: next.status, decisionKind: next.lastDecision?.kind ?? null, decisionAt: next.lastDecision?.at }
      )
    ) {
      webhooks.record({
        kind: "contact",
        organizationId: entry.batch.organizationId,
        batchId: entry.batch.id,
        previousStatus: previous.status,
        contact: WebhookPayload.snapshotOf(next)
      })
    }
    if (previous.status !== next.status) {
      entry.counts[previous.status]--
      entry.counts[next.status]++
    }
    if (Contact.isWaiting(next.status) && (next.nextRetryAt !== previous.nextRetryAt || !Contact.isWaiting(previous.status))) {
      // A new version makes every heap entry of the contact stale.
      const version = ++entry.versions[position]!
      if (next.nextRetryAt === null) {
        // Waiting again without a due time (an abandoned first attempt): back under the cursor.
        entry.timedFlags[position] = false
        entry.cursor = Math.min(entry.cursor, position)
      } else {
        entry.timedFlags[position] = true
        entry.timed.push({ due: millis(next.nextRetryAt), position, version })
      }
    }
    return next
  }

  // Called by every write that stores a decision, with it: the history never disagrees with `lastDecision`.
  const remember = (entry: Entry, position: number, decision: Contact.Decision | null) => {
    if (decision === null) return
    const decisions = entry.decisions[position]
    if (decisions === undefined) return void (entry.decisions[position] = [decision])
    decisions.push(decision)
    if (decisions.length > decisionsKept) decisions.shift()
  }

  const isCurrent = (entry: Entry, t: Timed) => {
    const contact = entry.contacts[t.position]
    return contact !== undefined && Contact.isWaiting(contact.status) && entry.versions[t.position] === t.version
  }

  /** Waiting with no due time: the cursor's part of `dialable`. */
  const isUntimed = (entry: Entry, position: number) => {
    const contact = entry.contacts[position]
    return contact !== undefined && Contact.isWaiting(contact.status) && !entry.timedFlags[position]
  }

  const dropStale = (entry: Entry) => {
    while (entry.timed.size > 0 && !isCurrent(entry, entry.timed.peek()!)) entry.timed.pop()
  }

  // A batch deleted under its owner is a lease lost too: the owner must stop.
  // Writes are fenced by epoch alone: a holder past its expiry still writes
  // until someone else takes the batch.
  const leasedEntry = (lease: Lease): Entry | undefined => {
    const entry = batches.get(lease.batchId)
    return entry?.lease !== undefined && entry.lease.ownerId === lease.ownerId && entry.lease.epoch === lease.epoch
      ? entry
      : undefined
  }
  const lostLease = (lease: Lease) => Effect.fail(new LeaseLost({ batchId: lease.batchId, epoch: lease.epoch }))
  const leased = (lease: Lease) =>
    Effect.suspend(() => {
      const entry = leasedEntry(lease)
      return entry === undefined ? lostLease(lease) : Effect.succeed(entry)
    })

  const contactAt = (entry: Entry, contactId: string) => {
    const position = positionOf(entry, contactId)
    const contact = position === undefined ? undefined : entry.contacts[position]
    return contact === undefined || position === undefined
      ? Effect.fail(new ContactNotFound({ batchId: entry.batch.id, contactId }))
      : Effect.succeed([position, contact] as const)
  }

  /**
   * The position and record of an attempt of the batch, open or ended, by its
   * id (`Attempt.makeId`: the batch's id, the contact's, and the number last).
   */
  const attemptAt = (entry: Entry, attemptId: string): readonly [number, Attempt.Attempt] | undefined => {
    const opened = entry.opened.get(attemptId)
    if (opened !== undefined) return [opened.position, entry.attempts[opened.position]![opened.attemptNumber - 1]!]
    const prefix = `${entry.batch.id}_`
    const last = attemptId.lastIndexOf("_")
    if (!attemptId.startsWith(prefix) || last < prefix.length) return undefined
    const position = positionOf(entry, attemptId.slice(prefix.length, last))
    const attempt = position === undefined ? undefined : entry.attempts[position]?.[Number(attemptId.slice(last + 1)) - 1]
    return attempt?.id === attemptId ? [position!, attempt] : undefined
  }

  const expectStatus = (entry: Entry, expected: ReadonlyArray<BatchStatus>, action: string) =>
    expected.includes(entry.batch.status)
      ? Effect.void
      : Effect.fail(new InvalidTransition({ entity: "batch", action, from: entry.batch.status }))

  const contactTransition = (contact: Contact.Contact, action: Contact.ContactAction, to?: Contact.ContactStatus) =>
    Effect.fromResult(Contact.transition(contact.status, action, to))

  // A search reads every contact of the batch: memory holds no index of names or digits.
  const searchContacts = (
    entry: Entry,
    search: ContactSearch.Search,
    options: { readonly after?: string | undefined; readonly page: number; readonly pageSize: number; readonly status?: Contact.ContactStatus | undefined }
  ) => {
    const from = options.after === undefined
      ? -1
      : numberedPosition(options.after) ?? Infinity
    const skip = options.after === undefined ? (options.page - 1) * options.pageSize : 0
    const items: Array<Contact.Contact> = []
    let total = 0
    entry.contacts.forEach((contact, position) => {
      if (contact === undefined || (options.status !== undefined && contact.status !== options.status)) return
      if (!ContactSearch.matches(search, contact)) return
      total++
      if (position > from && total > skip && items.length < options.pageSize) items.push(contact)
    })
    return { items, total }
  }

  // The engine only names attempts the store gave it: any other is a bug, not a failure,
  // so it throws (a defect where it is run).
  const notInBatch = (entry: Entry, attemptId: string): never => {
    throw new Error(`Attempt ${attemptId} is not in batch ${entry.batch.id}`)
  }

  /** `beginAttempt` under a lease already checked. */
  const beginIn = (entry: Entry, attempt: AttemptStart): Begun | InvalidTransition => {
    const position = positionOf(entry, attempt.contactId)
    const contact = position === undefined ? undefined : entry.contacts[position]
    // Removed since the dispatcher read it.
    if (contact === undefined || position === undefined) return Contact.removed("dial")
    const moved = Contact.transition(contact.status, "dial")
    if (moved._tag === "Failure") return moved.failure
    if (attempt.attemptNumber !== contact.attemptCount + 1) {
      // Another number would reuse an attempt id: the provider would take it for a call already placed.
      throw new Error(`Attempt ${attempt.attemptNumber} of contact ${contact.id} follows ${contact.attemptCount} attempts`)
    }
    const record = Attempt.begun({
      id: Attempt.makeId(entry.batch.id, contact.id, attempt.attemptNumber),
      batchId: entry.batch.id,
      contactId: contact.id,
      attemptNumber: attempt.attemptNumber,
      callerNumberId: attempt.callerNumberId,
      startedAt: attempt.startedAt
    })
    const attempts = entry.attempts[position] ?? (entry.attempts[position] = [])
    attempts[attempt.attemptNumber - 1] = record
    entry.opened.set(record.id, {
      position,
      attemptNumber: attempt.attemptNumber,
      status: contact.status,
      nextRetryAt: contact.nextRetryAt,
      lastAttemptAt: contact.lastAttemptAt,
      lastDecision: contact.lastDecision,
      localDate: attempt.localDate
    })
    entry.perDay.set(attempt.localDate, (entry.perDay.get(attempt.localDate) ?? 0) + 1)
    load.begun(entry.batch.organizationId, contact.phone, attempts, attempt.attemptNumber - 1)
    remember(entry, position, attempt.decision)
    const updated = put(entry, position, Contact.withState(contact, {
      status: "dialing",
      attemptCount: attempt.attemptNumber,
      maxAttempts: contact.maxAttempts,
      lastAttemptAt: attempt.startedAt,
      nextRetryAt: null,
      completedAt: contact.completedAt,
      errorCode: contact.errorCode,
      failureReason: contact.failureReason,
      callDuration: contact.callDuration,
      roomName: contact.roomName,
      lastDecision: attempt.decision ?? contact.lastDecision
    }))
    return { contact: updated, attempt: record }
  }

  /** `finishAttempt` under a lease already checked. */
  const finishIn = (entry: Entry, end: AttemptEnd): Begun => {
    const open = entry.opened.get(end.attemptId)
    if (open === undefined) {
      // Recorded already (a retried write): the first record stands.
      const [position, attempt] = attemptAt(entry, end.attemptId) ?? notInBatch(entry, end.attemptId)
      const contact = entry.contacts[position]
      if (contact === undefined) throw new ContactNotFound({ batchId: entry.batch.id, contactId: attempt.contactId })
      return { contact, attempt }
    }
    const { position } = open
    const contact = entry.contacts[position]!
    const attempts = entry.attempts[position]!
    const attempt = attempts[open.attemptNumber - 1]!
    const finished = Attempt.finished(attempt, {
      endedAt: end.endedAt,
      outcome: end.result.outcome,
      sipCode: end.result.sipCode,
      duration: end.result.duration,
      roomName: end.result.roomName,
      failureReason: end.result.failureReason
    })
    // A contact cancelled while its call was on keeps `cancelled`; the call is still recorded.
    let status = contact.status
    if (status === "dialing") {
      const moved = Contact.transition(status, end.status === "queued" ? "requeue" : "finish", end.status)
      if (moved._tag === "Failure") throw moved.failure
      status = moved.success
    }
    attempts[open.attemptNumber - 1] = finished
    entry.opened.delete(finished.id)
    load.ended(entry.batch.organizationId)
    remember(entry, position, end.decision)
    const updated = put(entry, position, Contact.withState(contact, {
      status,
      attemptCount: contact.attemptCount,
      maxAttempts: contact.maxAttempts + (contact.status === "dialing" && end.refundAttempt === true ? 1 : 0),
      lastAttemptAt: contact.lastAttemptAt,
      nextRetryAt: status === "queued" ? end.nextRetryAt : null,
      completedAt: Contact.isFinal(status) ? contact.completedAt ?? end.endedAt : null,
      errorCode: end.result.sipCode,
      failureReason: end.result.failureReason,
      callDuration: end.result.duration,
      roomName: end.result.roomName,
      lastDecision: end.decision ?? contact.lastDecision
    }))
    return { contact: updated, attempt: finished }
  }

  const store: Omit<BatchStore["Service"], "attemptsByNumber" | "beginAttemptsWithin"> = {
    webhooks,
    processLocal: true,
    reserveIdempotencyKey: (scope, key, fingerprint) =>
      Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<
        { readonly response: unknown } | undefined,
        IdempotencyKeyReused | IdempotencyRequestInProgress
      > => {
        const id = `${scope}\u0000${key}`
        const record = idempotency.get(id)
        if (record === undefined) {
          idempotency.set(id, { fingerprint, done: false, createdAt: now })
          return Effect.succeed(undefined)
        }
        if (record.fingerprint !== fingerprint) return Effect.fail(new IdempotencyKeyReused({ key }))
        if (!record.done) return Effect.fail(new IdempotencyRequestInProgress({ key }))
        return Effect.succeed({ response: record.response })
      }),
    completeIdempotencyKey: (scope, key, response) =>
      Effect.sync(() => {
        const record = idempotency.get(`${scope}\u0000${key}`)
        if (record !== undefined) Object.assign(record, { response, done: true })
      }),
    releaseIdempotencyKey: (scope, key) => Effect.sync(() => void idempotency.delete(`${scope}\u0000${key}`)),

    createBatch: (batch, contacts) =>
      Effect.sync(() => {
        const entry: Entry = {
          batch: { ...batch, totalContacts: 0 },
          contacts: [],
          holes: 0,
          externalIds: new Set(),
          counts: emptyCounts(),
          versions: [],
          timedFlags: [],
          timed: new Heap((a, b) => a.due < b.due || (a.due === b.due && a.position < b.position)),
          cursor: 0,
          nextContactNumber: 1,
          attempts: [],
          decisions: [],
          opened: new Map(),
          perDay: new Map(),
          lease: undefined,
          epoch: 0
        }
        append(entry, contacts)
        batches.set(batch.id, entry)
        recordBatch(entry.batch, null)
      }),
    getBatch: (organizationId, batchId) =>
      Effect.suspend(() => {
        const entry = batches.get(batchId)
        return entry === undefined || entry.batch.organizationId !== organizationId
          ? Effect.fail(new BatchNotFound({ batchId }))
          : Effect.succeed(entry.batch)
      }),
    findBatch: (batchId) => Effect.sync(() => batches.get(batchId)?.batch),
    listBatches: (organizationId, options) =>
      Effect.sync(() => {
        const matching = [...batches.values()]
          .map((entry) => entry.batch)
          .filter((batch) =>
            batch.organizationId === organizationId &&
            (options.agentId === undefined || batch.agentId === options.agentId) &&
            (options.status === undefined || batch.status === options.status)
          )
          // Code-unit order on ids, as a database's binary collation sorts them.
          .sort((a, b) => millis(b.createdAt) - millis(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
        return { items: matching.slice(options.offset, options.offset + options.limit), total: matching.length }
      }),
    updateBatch: (batchId, expected, action, patch, options) =>
      Effect.gen(function*() {
        const entry = yield* entryOf(batchId)
        yield* expectStatus(entry, expected, action)
        if (options?.unlessContactsLeft === true && (entry.counts.pending + entry.counts.queued + entry.counts.dialing) > 0) {
          return yield* Contact.contactsLeft(action, entry.batch.status)
        }
        // The count of contacts is the store's own.
        const { totalContacts: _, ...changes } = patch
        const previousStatus = entry.batch.status
        entry.batch = { ...entry.batch, ...changes }
        if (entry.batch.status !== previousStatus) recordBatch(entry.batch, previousStatus)
        return entry.batch
      }),
    deleteBatch: (batchId, expected) =>
      Effect.gen(function*() {
        const entry = yield* entryOf(batchId)
        yield* expectStatus(entry, expected, "delete")
        // Its attempts still count against their numbers' frequency caps.
        load.index(entry.batch.organizationId)
        batches.delete(batchId)
        for (const _ of entry.opened.keys()) load.ended(entry.batch.organizationId)
      }),

    addContacts: (batchId, contacts, updatedAt, options) =>
      Effect.gen(function*() {
        const entry = yield* entryOf(batchId)
        yield* expectStatus(entry, sourcesOf("add contacts to"), "add contacts to")
        const given = new Set(contacts.map((c) => c.phone))
        const stored = new Set<string>()
        for (const contact of entry.contacts) if (contact !== undefined && given.has(contact.phone)) stored.add(contact.phone)
        const kept = options?.skipStoredNumbers === true ? contacts.filter((c) => !stored.has(c.phone)) : contacts
        const { added } = append(entry, kept)
        entry.batch = { ...entry.batch, updatedAt }
        return { added, skipped: contacts.length - added, storedNumbers: [...stored] }
      }),
    removeContact: (batchId, contactId, updatedAt) =>
      Effect.gen(function*() {
        const entry = yield* entryOf(batchId)
        yield* expectStatus(entry, sourcesOf("remove contacts from"), "remove contacts from")
        const [position, contact] = yield* contactAt(entry, contactId)
        if (!Contact.isWaiting(contact.status)) return yield* Contact.notRemovable(contact.status)
        // Its attempts still count against its number's frequency caps.
        if (contact.attemptCount > 0) load.index(entry.batch.organizationId)
        entry.contacts[position] = undefined
        entry.holes++
        entry.decisions[position] = undefined
        if (contact.externalId !== null) entry.externalIds.delete(contact.externalId)
        entry.counts[contact.status]--
        entry.batch = { ...entry.batch, totalContacts: entry.batch.totalContacts - 1, updatedAt }
      }),
    statusBreakdown: (batchId) =>
      Effect.sync(() => ({ ...(batches.get(batchId)?.counts ?? emptyCounts()) }) as StatusBreakdown),
    listContacts: (batchId, { after, page, pageSize, search, status }) =>
      Effect.sync(() => {
        const entry = batches.get(batchId)
        if (entry === undefined) return { items: [], total: 0 }
        if (search !== undefined) return searchContacts(entry, search, { after, page, pageSize, status })
        if (after !== undefined) {
          const total = status === undefined ? entry.batch.totalContacts : entry.counts[status]
          // A removed contact's id still names its place: ids are `c` and the position + 1.
          const from = numberedPosition(after) ?? Infinity
          const items: Array<Contact.Contact> = []
          for (let i = from + 1; i < entry.contacts.length && items.length < pageSize; i++) {
            const contact = entry.contacts[i]
            if (contact !== undefined && (status === undefined || contact.status === status)) items.push(contact)
          }
          return { items, total }
        }
        const skip = (page - 1) * pageSize
        if (status === undefined && entry.holes === 0) {
          return { items: entry.contacts.slice(skip, skip + pageSize) as Array<Contact.Contact>, total: entry.contacts.length }
        }
        const total = status === undefined ? entry.batch.totalContacts : entry.counts[status]
        const items: Array<Contact.Contact> = []
        let seen = 0
        for (const contact of entry.contacts) {
          if (contact === undefined || (status !== undefined && contact.status !== status)) continue
          if (seen++ < skip) continue
          items.push(contact)
          if (items.length === pageSize) break
        }
        return { items, total }
      }),
    contactHistory: (batchId, contactId) =>
      Effect.sync(() => {
        const entry = batches.get(batchId)
        const position = entry === undefined ? undefined : positionOf(entry, contactId)
        if (entry === undefined || position === undefined) return { attempts: [], decisions: [] }
        const attempts = (entry.attempts[position] ?? []).slice(0, entry.contacts[position]!.attemptCount)
        return { attempts, decisions: [...(entry.decisions[position] ?? [])] }
      }),
    getContact: (batchId, contactId) =>
      Effect.sync(() => {
        const entry = batches.get(batchId)
        const position = entry === undefined ? undefined : positionOf(entry, contactId)
        return position === undefined ? undefined : entry!.contacts[position]
      }),

    activeBatches: () =>
      Effect.sync(() =>
        [...batches.values()]
          .map((entry) => entry.batch)
          .filter((b) => dispatchable.includes(b.status))
      ),
    acquireLease: (batchId, ownerId, now, ttlMillis) =>
      Effect.sync(() => {
        const entry = batches.get(batchId)
        if (entry === undefined) return undefined
        const current = entry.lease
        if (current !== undefined && current.ownerId !== ownerId && DateTime.isGreaterThan(current.expiresAt, now)) {
          return undefined
        }
        entry.lease = { batchId, ownerId, epoch: ++entry.epoch, expiresAt: DateTime.addDuration(now, ttlMillis) }
        return entry.lease
      }),
    renewLease: (lease, now, ttlMillis) =>
      Effect.sync(() => {
        const entry = batches.get(lease.batchId)
        if (entry?.lease === undefined || entry.lease.epoch !== lease.epoch || entry.lease.ownerId !== lease.ownerId) {
          return undefined
        }
        entry.lease = { ...entry.lease, expiresAt: DateTime.addDuration(now, ttlMillis) }
        return entry.lease
      }),
    releaseLease: (lease) =>
      Effect.sync(() => {
        const entry = batches.get(lease.batchId)
        if (entry?.lease?.epoch === lease.epoch && entry.lease.ownerId === lease.ownerId) entry.lease = undefined
      }),

    dialable: (batchId, now, limit, exclude) =>
      Effect.sync(() => {
        const entry = batches.get(batchId)
        if (entry === undefined || limit <= 0) return []
        const found: Array<Contact.Contact> = []
        const nowMillis = millis(now)
        dropStale(entry)
        // A walk only when a due time has come: a busy batch asks on every refill, retries mostly later.
        if (entry.timed.size > 0 && entry.timed.peek()!.due <= nowMillis) {
          entry.timed.walk((t) => {
            if (t.due > nowMillis) return false
            const contact = entry.contacts[t.position]!
            if (isCurrent(entry, t) && !exclude.has(contact.id)) found.push(contact)
            return found.length < limit
          })
        }
        // Moving the cursor changes no contact; `put` moves it back when one waits again untimed.
        while (entry.cursor < entry.contacts.length && !isUntimed(entry, entry.cursor)) entry.cursor++
        for (let p = entry.cursor; p < entry.contacts.length && found.length < limit; p++) {
          const contact = entry.contacts[p]
          if (contact !== undefined && isUntimed(entry, p) && !exclude.has(contact.id)) found.push(contact)
        }
        return found
      }),
    nextDueAt: (batchId) =>
      Effect.sync(() => {
        const entry = batches.get(batchId)
        if (entry === undefined) return undefined
        dropStale(entry)
        const top = entry.timed.peek()
        return top === undefined ? undefined : entry.contacts[top.position]!.nextRetryAt ?? undefined
      }),
    // The two writes of every call as plain functions (`beginIn`, `finishIn`
    // below): each is a few map look-ups, and a dial's cost was mostly the
    // effects around them.
    beginAttempt: (lease, attempt) =>
      Effect.suspend((): ReturnType<BatchStore["Service"]["beginAttempt"]> => {
        const entry = leasedEntry(lease)
        if (entry === undefined) return lostLease(lease)
        const begun = beginIn(entry, attempt)
        return begun instanceof InvalidTransition ? Effect.fail(begun) : Effect.succeed(begun)
      }),
    finishAttempt: (lease, end) =>
      Effect.suspend((): ReturnType<BatchStore["Service"]["finishAttempt"]> => {
        const entry = leasedEntry(lease)
        return entry === undefined ? lostLease(lease) : Effect.succeed(finishIn(entry, end))
      }),
    abandonAttempt: (lease, attemptId) =>
      Effect.gen(function*() {
        const entry = yield* leased(lease)
        const before = entry.opened.get(attemptId)
        if (before === undefined) {
          return yield* Effect.die(
            new Error(attemptAt(entry, attemptId) === undefined
              ? `Attempt ${attemptId} is not in batch ${entry.batch.id}`
              : `Attempt ${attemptId} has ended and cannot be abandoned`)
          )
        }
        const { attemptNumber, position } = before
        const contact = entry.contacts[position]!
        const attempts = entry.attempts[position]!
        // The contact's latest attempt: it is no more.
        attempts.length = attemptNumber - 1
        entry.opened.delete(attemptId)
        load.abandoned(entry.batch.organizationId, contact.phone, attempts, attemptNumber - 1)
        entry.perDay.set(before.localDate, entry.perDay.get(before.localDate)! - 1)
        return put(entry, position, {
          ...contact,
          ...(contact.status === "dialing" ? { status: before.status, nextRetryAt: before.nextRetryAt } : {}),
          attemptCount: attemptNumber - 1,
          lastAttemptAt: before.lastAttemptAt,
          lastDecision: before.lastDecision
        })
      }),
    openAttempts: (batchId) =>
      Effect.sync(() => {
        const entry = batches.get(batchId)
        return entry === undefined
          ? []
          : [...entry.opened.values()].map((open) => entry.attempts[open.position]![open.attemptNumber - 1]!)
      }),
    attemptsOnDay: (batchId, localDate) => Effect.sync(() => batches.get(batchId)?.perDay.get(localDate) ?? 0),
    decide: (lease, contactId, decision) =>
      Effect.gen(function*() {
        const entry = yield* leased(lease)
        const position = positionOf(entry, contactId)
        const contact = position === undefined ? undefined : entry.contacts[position]
        // Removed since the dispatcher read it.
        if (contact === undefined || position === undefined) return yield* Contact.removed(decision.kind)
        switch (decision.kind) {
          case "skip": {
            yield* contactTransition(contact, "skip")
            remember(entry, position, decision)
            return put(entry, position, {
              ...contact,
              status: "skipped",
              completedAt: decision.at,
              nextRetryAt: null,
              lastDecision: decision
            })
          }
          case "defer": {
            if (!Contact.isWaiting(contact.status)) {
              return yield* new InvalidTransition({ entity: "contact", action: "defer", from: contact.status })
            }
            remember(entry, position, decision)
            return put(entry, position, { ...contact, nextRetryAt: decision.until ?? decision.at, lastDecision: decision })
          }
          case "dial":
            return yield* Effect.die(new Error("A decision to dial is recorded by beginAttempt"))
        }
      }),
    cancelContacts: (batchId, at) =>
      Effect.sync(() => {
        const entry = batches.get(batchId)
        if (entry === undefined) return 0
        let cancelled = 0
        entry.contacts.forEach((contact, position) => {
          if (contact !== undefined && Contact.isWaiting(contact.status)) {
            put(entry, position, { ...contact, status: "cancelled", completedAt: at, nextRetryAt: null })
            cancelled++
          }
        })
        return cancelled
      }),
    requeueContacts: (batchId, statuses, extraAttempts, at) =>
      Effect.sync(() => {
        const entry = batches.get(batchId)
        if (entry === undefined) return 0
        // Only contacts that have ended: a waiting or dialing one must never gain a second entry point.
        const requeued = new Set(statuses.filter(Contact.isFinal))
        let count = 0
        entry.contacts.forEach((contact, position) => {
          if (contact !== undefined && requeued.has(contact.status)) {
            put(entry, position, {
              ...contact,
              status: "queued",
              maxAttempts: contact.attemptCount + extraAttempts,
              nextRetryAt: at,
              completedAt: null
            })
            count++
          }
        })
        return count
      }),
    prune: ({ eventsBefore: _, idempotencyKeysBefore, minIntervalMillis, now }) =>
      Effect.sync(() => {
        const at = millis(now)
        if (prunedAt !== undefined && prunedAt > at - minIntervalMillis) return { ran: false, idempotencyKeys: 0, events: 0 }
        prunedAt = at
        const before = millis(idempotencyKeysBefore)
        let idempotencyKeys = 0
        for (const [id, record] of idempotency) {
          if (record.createdAt < before) {
            idempotency.delete(id)
            idempotencyKeys++
          }
        }
        // No outbox in memory: events go to `EngineEvents` subscribers and are not kept.
        return { ran: true, idempotencyKeys, events: 0 }
      })
  }
  return {
    ...store,
    // The single writes in turn, in one synchronous pass under the lease checked once:
    // nothing here waits on I/O, and an effect per attempt was most of a step's cost.
    beginAttempts: (lease, attempts) =>
      Effect.suspend(() => {
        const entry = leasedEntry(lease)
        if (entry === undefined) return lostLease(lease)
        return Effect.succeed(attempts.map((attempt) => {
          const begun = beginIn(entry, attempt)
          return begun instanceof InvalidTransition ? Result.fail(begun) : Result.succeed(begun)
        }))
      }),
    finishAttempts: (lease, ends) =>
      Effect.suspend(() => {
        const entry = leasedEntry(lease)
        return entry === undefined ? lostLease(lease) : Effect.succeed(ends.map((end) => finishIn(entry, end)))
      }),
    // Nothing runs between the count and the begins: one engine or several sharing the store.
    beginAttemptsWithin: (lease, attempts, limits) =>
      Effect.gen(function*() {
        yield* leased(lease)
        if (attempts.length === 0) return { results: [], retryAt: undefined }
        const now = millis(attempts[0]!.startedAt)
        const callers = attempts.map((attempt) => attempt.callerNumberId)
        const { admitted, retryAt } = CallLimits.admit(limits, load.of(limits.organizationId, callers, now), callers, now)
        const results = yield* Effect.forEach(attempts, (attempt, i) =>
          admitted[i]
            ? store.beginAttempt(lease, attempt).pipe(
              Effect.map(Result.succeed),
              Effect.catchTag("InvalidTransition", (error) => Effect.succeed(Result.fail(error)))
            )
            : Effect.succeed(undefined))
        return { results, retryAt }
      }),
    attemptsByNumber: (organizationId, numbers, since) => Effect.sync(() => load.history(organizationId, numbers, millis(since)))
  }
}

/**
 * A store in this process's memory: the reference implementation, for tests,
 * benches and hosts that need no durability.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<BatchStore> = Layer.sync(BatchStore)(make)

/**
 * The in-memory store as several engines in one test share it, standing in
 * for a database: not process-local, so engines renew leases and look for
 * batches whose holder died.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerShared: Layer.Layer<BatchStore> = Layer.sync(BatchStore)(() => ({ ...make(), processLocal: false }))
