import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { JobInfo } from '../jobs/task.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { EventCatalog, EventName, EventPayload, EventPayloadInput } from './catalog.ts';
import { envelopeSchema, type EventActor, type EventEnvelope } from './envelope.ts';
import { eventDeliveryLag } from '../observability/metrics.ts';
import { isTracing, SpanKind, withSpan } from '../observability/tracing.ts';
import { EventDelivery } from './event-delivery.model.ts';

/** Attempts a subscriber gets before its delivery is left permanently failed. */
export const DEFAULT_SUBSCRIBER_MAX_ATTEMPTS = 10;

/** Subscriber names are dotted lowercase words, conventionally `<module>.<purpose>`. */
const SUBSCRIBER_NAME = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

/** What a handler receives besides the event. */
export interface EventHandlerContext {
  /**
   * The delivery's transaction. Write through it: your writes and the "handled"
   * mark commit together, so a repeated delivery can never apply them twice.
   */
  trx: Knex.Transaction;
  log: Logger;
  job: JobInfo;
}

/** The envelope of event `N` of catalog `C`, as its subscribers receive it. */
export type EnvelopeOf<C extends EventCatalog, N extends EventName<C>> = EventEnvelope<N, EventPayload<C, N>>;

/** Handles one event. Throw to fail this attempt; it is retried with backoff. */
export type EventHandler<C extends EventCatalog, N extends EventName<C>> = (event: EnvelopeOf<C, N>, ctx: EventHandlerContext) => Promise<void>;

export interface SubscribeOptions {
  /** Attempts before the delivery is left permanently failed; default 10. */
  maxAttempts?: number;
}

/**
 * A subscriber a module declares (in its manifest's `subscribers`), made with
 * `subscriber(...)`: which event, under which stable name, and the handler, already
 * bound to the services the module gave it.
 */
export interface Subscriber {
  readonly event: string;
  readonly name: string;
  readonly handler: (event: EventEnvelope<string, any>, ctx: EventHandlerContext) => Promise<void>;
  readonly options: SubscribeOptions;
}

/**
 * Declares a subscriber to `event` of `events` (the publishing module's catalog, e.g.
 * `userEvents`), typed from its schema.
 *
 * @example
 * subscriber(userEvents, 'user.created', 'analytics.signup', async (event, { trx }) => {
 *   await analytics.track(trx, { name: 'user.signed_up', userId: event.payload.userId, ... });
 * })
 */
export function subscriber<C extends EventCatalog, N extends EventName<C>>(
  _events: C,
  event: N,
  name: string,
  handler: EventHandler<C, N>,
  options: SubscribeOptions = {},
): Subscriber {
  return { event, name, handler: handler as Subscriber['handler'], options };
}

/** What a service needs to publish the events of catalog `C` (its own module's, usually). */
export interface EventPublisher<C extends EventCatalog> {
  publish<N extends EventName<C>>(trx: Knex.Transaction, event: N, payload: EventPayloadInput<C, N>, actor?: EventActor | null): Promise<EventEnvelope<N, EventPayload<C, N>>>;
}

/** One subscription as the bus keeps it. */
interface Subscription {
  subscriber: string;
  /** The graphile-worker task identifier of its deliveries. */
  task: string;
  maxAttempts: number;
}

/** A payload that does not match the catalog: a bug in the publisher, so a 500 and a rollback. */
export class EventPayloadError extends Error {
  override name = 'EventPayloadError';
  constructor(
    readonly event: string,
    readonly issues: z.core.$ZodIssue[],
  ) {
    super(`Invalid payload for event ${event}: ${z.prettifyError({ issues } as z.ZodError)}`);
  }
}

/** The graphile-worker task that delivers `event` to `subscriber`. */
export function deliveryTask(event: string, subscriber: string): string {
  return `event:${event}:${subscriber}`;
}

/**
 * Domain events over graphile-worker. A module subscribes where it lives, under a
 * stable name; a service publishes inside its own transaction, which adds one job
 * per subscriber to that transaction. So: a rollback leaves no event; a commit
 * delivers to every subscriber at least once, even if the process dies right after;
 * each subscriber is retried on its own; and each handles an event id at most once
 * (the "handled" mark commits with the handler's writes).
 */
export class EventBus<C extends EventCatalog = EventCatalog> implements EventPublisher<C> {
  readonly #subscriptions = new Map<string, Subscription[]>();

  /** `catalog`: every event that may be published or subscribed to (the app's: all modules' events). */
  constructor(private readonly deps: { db: Knex; jobs: JobQueue; catalog: C; now?: () => Date }) {}

  #known(event: string): event is EventName<C> {
    return Object.hasOwn(this.deps.catalog, event);
  }

  /**
   * Registers `handler` for `event` under `subscriber`. The subscriber name is part of
   * every queued delivery: renaming it strands deliveries already queued under the
   * old name. Register before the worker starts (in the composition root).
   */
  subscribe<N extends EventName<C>>(event: N, subscriber: string, handler: EventHandler<C, N>, options: SubscribeOptions = {}): void {
    if (!this.#known(event)) throw new Error(`Unknown event ${String(event)}`);
    if (!SUBSCRIBER_NAME.test(subscriber)) throw new Error(`Subscriber name "${subscriber}" must be dotted lowercase words, e.g. notifications.welcome-email`);
    const maxAttempts = options.maxAttempts ?? DEFAULT_SUBSCRIBER_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 32767) throw new Error(`${subscriber}: maxAttempts must be an integer from 1 to 32767`);
    const list = this.#subscriptions.get(event) ?? [];
    if (list.some((s) => s.subscriber === subscriber)) throw new Error(`${subscriber} already subscribes to ${event}`);

    const task = deliveryTask(event, subscriber);
    const schema = envelopeSchema(event, this.deps.catalog[event]!);
    this.deps.jobs.register(task, {
      maxAttempts,
      spanName: `${subscriber} (${event})`,
      run: async (payload, { log, job }) => {
        const parsed = schema.safeParse(payload);
        if (!parsed.success) throw new EventPayloadError(event, parsed.error.issues);
        const envelope = parsed.data as EnvelopeOf<C, N>;
        const eventLog = log.child({ event, eventId: envelope.id, subscriber });
        await this.deps.db.transaction(async (trx) => {
          // A concurrent delivery of the same event waits here on the primary key
          // until this one commits, then finds the mark and skips.
          if (!(await EventDelivery.claim(trx, { eventId: envelope.id, subscriber, eventName: event }))) {
            eventLog.info('event already handled by this subscriber; skipping the repeated delivery');
            return;
          }
          await handler(envelope, { trx, log: eventLog, job });
        });
        eventDeliveryLag.observe({ event, subscriber }, Math.max(0, Date.now() - Date.parse(envelope.occurredAt)) / 1000);
      },
    });
    list.push({ subscriber, task, maxAttempts });
    this.#subscriptions.set(event, list);
  }

  /**
   * Publishes `event` inside `trx`: validates the payload, wraps it in an envelope and
   * adds one delivery job per subscriber with `graphile_worker.add_job`, all in `trx`.
   * Nothing is delivered unless `trx` commits. Returns the envelope.
   */
  /** Registers a subscriber a module declared (see `subscriber`). */
  add(declared: Subscriber): void {
    this.subscribe(declared.event as EventName<C>, declared.name, declared.handler as EventHandler<C, EventName<C>>, declared.options);
  }

  async publish<N extends EventName<C>>(trx: Knex.Transaction, event: N, payload: EventPayloadInput<C, N>, actor?: EventActor | null): Promise<EnvelopeOf<C, N>> {
    if (!this.#known(event)) throw new Error(`Unknown event ${String(event)}`);
    const parsed = this.deps.catalog[event]!.safeParse(payload);
    if (!parsed.success) throw new EventPayloadError(event, parsed.error.issues);
    const envelope = {
      id: randomUUID(),
      name: event,
      occurredAt: (this.deps.now?.() ?? new Date()).toISOString(),
      actor: actor ? { userId: actor.userId } : null,
      payload: parsed.data,
    } as EnvelopeOf<C, N>;
    const subscriptions = this.#subscriptions.get(event) ?? [];
    // Written with the transaction's next statement that can carry them (its live publish,
    // usually) or just before it commits: no round trip of their own.
    const enqueue = () =>
      this.deps.jobs.enqueueAtCommit(
        trx,
        subscriptions.map((s) => ({ identifier: s.task, payload: envelope, maxAttempts: s.maxAttempts })),
      );
    // A PRODUCER span whose context the deliveries carry: each subscriber's run continues this trace.
    if (isTracing()) {
      await withSpan(`publish ${event}`, { kind: SpanKind.PRODUCER, attributes: { 'duality.event': event, 'duality.event.id': envelope.id, 'duality.event.subscribers': subscriptions.length } }, enqueue);
    } else {
      await enqueue();
    }
    return envelope;
  }

  /** Who listens to `event`, by subscriber name. */
  subscribersOf(event: EventName<C>): string[] {
    return (this.#subscriptions.get(event) ?? []).map((s) => s.subscriber);
  }
}
