import { tracked, type TrackedEnvelope } from '@trpc/server';
import type { Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'pino';
import { z } from 'zod';
import { runStatement } from '../db/statements.ts';
import { addJobsFrom, takeOwedJobs } from '../jobs/queue.ts';

/** The one PostgreSQL channel every change event is announced on. */
export const LIVE_CHANNEL = 'duality_live';
/** `application_name` of each process's listening connection (what an operator sees in pg_stat_activity). */
export const LIVE_LISTENER_NAME = 'duality-live';
/** A payload up to this many bytes travels inside the NOTIFY (PostgreSQL's limit is 8000); larger ones are read from the log. */
const NOTIFY_INLINE_BYTES = 7000;
/** First key of the per-topic advisory lock (the second is the topic's hash): 'LIVE'. */
const LOCK_NAMESPACE = 0x4c495645;
/** Events one subscriber may have queued before it stops queueing and catches up from the log instead. */
const DEFAULT_QUEUE_LIMIT = 256;
/** Rows read per query while replaying or catching up. */
const PAGE = 500;
const TOPIC = /^[a-z0-9][a-z0-9:._-]*$/;
/**
 * One round trip, one named statement ($1 topic, $2 the data's JSON): the topic's lock is
 * taken before the id is drawn (the insert reads the lock's row), so ids of one topic are
 * drawn, and committed, in order.
 */
const PUBLISH = publishAfter('');
/**
 * The same, adding first the jobs the transaction owes ($3: the event deliveries its events
 * queued, jobs/queue.ts `takeOwedJobs`), so they take no round trip of their own. The lock
 * reads the jobs' row, which makes PostgreSQL add them all.
 */
const PUBLISH_WITH_JOBS = publishAfter(`jobs AS (SELECT count(j.id) AS n FROM (${addJobsFrom('$3')}) j),`, ' FROM jobs');

function publishAfter(before: string, lockFrom = ''): string {
  return `WITH ${before}
      locked AS (SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, hashtext($1::text))${lockFrom}),
      inserted AS (INSERT INTO live_events (topic, data) SELECT $1::text, $2::text::jsonb FROM locked RETURNING id)
 SELECT id, pg_notify('${LIVE_CHANNEL}', id || ' ' || $1::text || CASE WHEN octet_length($2::text) <= ${NOTIFY_INLINE_BYTES} THEN ' ' || $2::text ELSE '' END) FROM inserted`;
}

/**
 * Sent instead of the events a client missed when they are gone from the log (older than
 * LIVE_RETENTION_MINUTES) or its last event id is not one this server issued: read the
 * resource again (GET it), then keep consuming this stream.
 */
export const RefetchEventSchema = z
  .object({
    type: z.literal('refetch'),
    reason: z.string().meta({ description: 'Why the missed events cannot be replayed' }),
  })
  .meta({ id: 'LiveRefetch', description: 'The events since your last event id are no longer kept: fetch the resource again, then keep reading this stream' });
export type RefetchEvent = z.output<typeof RefetchEventSchema>;

/** The last event id a client saw: tRPC's `lastEventId` input, or REST's `Last-Event-ID` header (or `lastEventId` query). */
export const LastEventId = z
  .string()
  .regex(/^\d{1,18}$/, 'An event id is the decimal number an earlier event carried')
  .optional()
  .meta({ description: 'Resume after this event id (what the `Last-Event-ID` header carries; browsers send it on reconnect)' });

/** Input fields every resumable subscription takes. */
export const resumable = { lastEventId: LastEventId };

/** What a service needs to announce a change. */
export interface LivePublisher {
  /**
   * Appends `data` to `topic`'s log and announces it, inside `trx`: PostgreSQL delivers
   * the announcement on commit only, so a rolled-back change is never seen. Publish as
   * the transaction's last write: the topic is locked until commit, which is what keeps
   * one topic's event ids in commit order.
   */
  publish(trx: Knex.Transaction, topic: string, data: unknown): Promise<string>;
}

/** How a stream starts and ends. */
export interface StreamOptions<T> {
  topic: string;
  /** Resume after this id (replaying what was missed), or undefined/null to start from now. */
  lastEventId?: string | null | undefined;
  /** Ends the stream (the client went away). */
  signal?: AbortSignal | undefined;
  /**
   * The current state, sent first to a client that is not resuming (or must refetch):
   * read in the same snapshot as the topic's newest event id, so nothing falls between.
   */
  snapshot?: (trx: Knex.Transaction) => Promise<T | undefined>;
  /** The stream ends after an event for which this is true (a report that is ready). */
  isFinal?: (data: T) => boolean;
}

interface Queued {
  id: bigint;
  /** Undefined when the payload was too large for the notification: read from the log. */
  data: unknown;
}

/** One open stream, as the listener sees it. */
class Subscription {
  queue: Queued[] = [];
  /** Set when the queue overflowed or the listener reconnected: the stream reads the log instead. */
  behind = false;
  #wake: (() => void) | undefined;

  constructor(private readonly limit: number) {}

  push(event: Queued): void {
    if (!this.behind) {
      if (this.queue.length >= this.limit) this.catchUp();
      else this.queue.push(event);
    }
    this.wakeUp();
  }

  catchUp(): void {
    this.behind = true;
    this.queue = [];
    this.wakeUp();
  }

  wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.queue.length || this.behind || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#wake = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** JSON of events as they arrived, so the REST door writes each one without serializing it again. */
const jsonOf = new WeakMap<object, string>();

/** The JSON text an event's data arrived as, when known (the REST door writes it as is). */
export function cachedJson(data: unknown): string | undefined {
  return typeof data === 'object' && data !== null ? jsonOf.get(data) : undefined;
}

/**
 * Live change events across processes, on PostgreSQL alone (docs/live.md).
 *
 * Publishing appends a row to `live_events` and NOTIFYs it in the writer's transaction.
 * Each server process holds one LISTEN connection (opened with its first stream, not per
 * subscriber) and fans each notification out to its streams of that topic. A stream that
 * resumes replays the log after its last event id; one that falls behind (a slow client
 * whose queue filled, or a lost listening connection) catches up from the log the same
 * way, so memory per stream is bounded and nothing is silently skipped.
 */
export class Live implements LivePublisher {
  readonly #topics = new Map<string, Set<Subscription>>();
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #reconnects = 0;

  constructor(
    private readonly deps: {
      db: Knex;
      /** Where the listening connection goes (the app's database); without it this process can publish but not stream. */
      databaseUrl?: string | undefined;
      logger: Logger;
      queueLimit?: number;
    },
  ) {}

  async publish(trx: Knex.Transaction, topic: string, data: unknown): Promise<string> {
    if (!TOPIC.test(topic)) throw new Error(`Live topic "${topic}" must be lowercase words joined by : . _ -`);
    const json = JSON.stringify(data);
    const jobs = takeOwedJobs(trx);
    const { rows } = await runStatement<{ id: string }>(trx, jobs === undefined ? PUBLISH : PUBLISH_WITH_JOBS, jobs === undefined ? [topic, json] : [topic, json, jobs]);
    return String(rows[0]!.id);
  }

  /** Open streams in this process (all topics). */
  get streams(): number {
    let n = 0;
    for (const subs of this.#topics.values()) n += subs.size;
    return n;
  }

  /** Times the listening connection was lost and opened again. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /**
   * One topic's events as tRPC tracked envelopes (id = the event's log id): the missed
   * ones when resuming, or the snapshot when starting, then live ones until the signal
   * aborts, `isFinal` says so, or the process shuts down. A `refetch` event stands in
   * for events that can no longer be replayed.
   */
  async stream<T>(opts: StreamOptions<T>): Promise<AsyncGenerator<TrackedEnvelope<T | RefetchEvent>, void, unknown>> {
    const sub = new Subscription(this.deps.queueLimit ?? DEFAULT_QUEUE_LIMIT);
    const subs = this.#topics.get(opts.topic) ?? new Set();
    this.#topics.set(opts.topic, subs);
    subs.add(sub);
    const unregister = () => {
      subs.delete(sub);
      if (!subs.size && this.#topics.get(opts.topic) === subs) this.#topics.delete(opts.topic);
    };
    // A stream the caller never iterates (its client left first) must not stay registered.
    opts.signal?.addEventListener('abort', unregister, { once: true });
    try {
      // Set up before the caller answers (the response's headers): listening first, so
      // whatever commits from here on is queued; what committed before is in the log or
      // the snapshot, and ids tell the two apart.
      await this.#listening(opts.signal);
      const start = opts.lastEventId ? undefined : await this.#start(opts.topic, opts);
      return this.#run(sub, opts, start, unregister);
    } catch (error) {
      unregister();
      throw error;
    }
  }

  async *#run<T>(
    sub: Subscription,
    opts: StreamOptions<T>,
    start: { last: bigint; event?: TrackedEnvelope<T>; final?: boolean } | undefined,
    unregister: () => void,
  ): AsyncGenerator<TrackedEnvelope<T | RefetchEvent>, void, unknown> {
    try {
      let last: bigint;
      if (!start) {
        const caught = yield* this.#catchUp(opts.topic, BigInt(opts.lastEventId!), opts);
        if (caught.final) return;
        last = caught.last;
      } else {
        if (start.event) {
          yield start.event;
          if (start.final) return;
        }
        last = start.last;
      }
      while (!opts.signal?.aborted && !this.#closed) {
        if (sub.behind) {
          sub.behind = false;
          sub.queue = [];
          const caught = yield* this.#catchUp(opts.topic, last, opts);
          if (caught.final) return;
          last = caught.last;
          continue;
        }
        const event = sub.queue.shift();
        if (!event) {
          await sub.wait(opts.signal);
          continue;
        }
        if (event.id <= last) continue;
        let data = event.data;
        if (data === undefined) {
          const row = await this.deps.db('live_events').where({ id: String(event.id) }).first('data');
          if (!row) {
            // Pruned already (a very slow reader): the log catch-up will say refetch.
            sub.catchUp();
            continue;
          }
          data = row.data;
        }
        last = event.id;
        yield tracked(String(event.id), data as T);
        if (opts.isFinal?.(data as T)) return;
      }
    } finally {
      unregister();
    }
  }

  /** A fresh start: the snapshot (if any) with the topic's newest id, read together. */
  async #start<T>(topic: string, opts: StreamOptions<T>): Promise<{ last: bigint; event?: TrackedEnvelope<T>; final?: boolean }> {
    return this.deps.db.transaction(
      async (trx) => {
        const [row] = await trx('live_events').where({ topic }).max('id as id');
        const last = BigInt((row?.id as string | null) ?? 0);
        const state = await opts.snapshot?.(trx);
        if (state === undefined) return { last };
        return { last, event: tracked(String(last), state), final: opts.isFinal?.(state) ?? false };
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  }

  /**
   * The topic's events after `after`, page by page; returns the new last id. When some
   * of them are no longer in the log (pruned) or `after` is not an id this log issued,
   * a refetch event and the fresh start's snapshot instead.
   */
  /** Yields the logged events after `after` until one is final or the log is drained; says which, and the last id. */
  async *#catchUp<T>(topic: string, after: bigint, opts: StreamOptions<T>): AsyncGenerator<TrackedEnvelope<T | RefetchEvent>, { final: boolean; last: bigint }> {
    const replay = this.#replay(topic, after, opts);
    let next = await replay.next();
    while (!next.done) {
      yield next.value.event;
      if (next.value.final) {
        await replay.return(after);
        return { final: true, last: after };
      }
      next = await replay.next();
    }
    return { final: false, last: next.value };
  }

  async *#replay<T>(topic: string, after: bigint, opts: StreamOptions<T>): AsyncGenerator<{ event: TrackedEnvelope<T | RefetchEvent>; final: boolean }, bigint> {
    let last = after;
    for (;;) {
      const rows = await this.deps.db('live_events').where({ topic }).where('id', '>', String(last)).orderBy('id').limit(PAGE).select('id', 'data');
      // Read after the rows: a prune that ran before them shows here, one after them cannot have cut them.
      const horizon = await this.deps.db.raw<{ rows: { pruned: string; issued: string | null }[] }>(
        `SELECT pruned_through AS pruned, (SELECT last_value FROM live_events_id_seq) AS issued FROM live_log_horizon`,
      );
      const { pruned, issued } = horizon.rows[0]!;
      const unknown = last > BigInt(issued ?? 0);
      if (last < BigInt(pruned) || unknown) {
        const start = await this.#start(topic, opts);
        const reason = unknown ? `Event id ${last} was not issued by this server` : `Events after ${last} are older than the retention and no longer kept`;
        yield { event: tracked(String(start.last), { type: 'refetch', reason } satisfies RefetchEvent), final: false };
        if (start.event) yield { event: start.event, final: start.final ?? false };
        if (start.final) return start.last;
        return start.last;
      }
      for (const row of rows) {
        last = BigInt(row.id);
        yield { event: tracked(String(row.id), row.data as T), final: opts.isFinal?.(row.data as T) ?? false };
        if (opts.isFinal?.(row.data as T)) return last;
      }
      if (rows.length < PAGE) return last;
    }
  }

  /** Resolves once this process's LISTEN is active (opening it on first use), or when `signal` aborts. */
  async #listening(signal?: AbortSignal): Promise<void> {
    if (this.#client || this.#closed) return;
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    if (!signal) return this.#connecting;
    if (signal.aborted) return;
    await Promise.race([this.#connecting, new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))]);
  }

  async #connect(): Promise<void> {
    if (!this.deps.databaseUrl) throw new Error('Live streams need the database URL (this process was built to publish only)');
    for (let attempt = 0; !this.#closed; attempt++) {
      const client = new pg.Client({ connectionString: this.deps.databaseUrl, application_name: LIVE_LISTENER_NAME });
      client.on('notification', (message) => this.#dispatch(message.payload));
      client.on('error', (error) => {
        this.deps.logger.warn({ err: error }, 'live: the listening connection failed');
        this.#lost(client);
      });
      client.on('end', () => this.#lost(client));
      try {
        await client.connect();
        await client.query(`LISTEN ${LIVE_CHANNEL}`);
        if (this.#closed) {
          await client.end().catch(() => {});
          return;
        }
        this.#client = client;
        return;
      } catch (error) {
        await client.end().catch(() => {});
        const wait = Math.min(5000, 100 * 2 ** attempt);
        this.deps.logger.warn({ err: error, retryInMs: wait }, 'live: cannot open the listening connection; retrying');
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** The listening connection is gone: open another, then every stream catches up from the log. */
  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => {});
    if (this.#closed) return;
    this.#reconnects++;
    this.deps.logger.warn({ streams: this.streams }, 'live: lost the listening connection; reconnecting');
    void this.#listening().then(() => {
      if (this.#closed) return;
      this.deps.logger.info({ streams: this.streams }, 'live: listening again; streams catch up from the log');
      for (const subs of this.#topics.values()) for (const sub of subs) sub.catchUp();
    });
  }

  #dispatch(payload: string | undefined): void {
    if (!payload) return;
    const first = payload.indexOf(' ');
    const second = payload.indexOf(' ', first + 1);
    const topic = second === -1 ? payload.slice(first + 1) : payload.slice(first + 1, second);
    const subs = this.#topics.get(topic);
    if (!subs?.size) return;
    const id = BigInt(payload.slice(0, first));
    let data: unknown;
    if (second !== -1) {
      const json = payload.slice(second + 1);
      data = JSON.parse(json);
      if (typeof data === 'object' && data !== null) jsonOf.set(data, json);
    }
    for (const sub of subs) sub.push({ id, data });
  }

  /** Ends every stream and closes the listening connection (after HTTP stopped). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const subs of this.#topics.values()) for (const sub of subs) sub.wakeUp();
    await this.#connecting?.catch(() => {});
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }
}

/**
 * Removes change events older than LIVE_RETENTION_MINUTES and records the highest id
 * removed, in one statement: a stream resuming below it is told to refetch.
 */
export async function pruneLiveEvents(db: Knex, retentionMinutes: number): Promise<number> {
  const { rows } = await db.raw<{ rows: { removed: string }[] }>(
    `WITH doomed AS (DELETE FROM live_events WHERE created_at < now() - make_interval(mins => ?) RETURNING id),
          top AS (SELECT count(*) AS removed, max(id) AS id FROM doomed),
          moved AS (UPDATE live_log_horizon SET pruned_through = greatest(pruned_through, top.id) FROM top WHERE top.id IS NOT NULL)
     SELECT removed FROM top`,
    [retentionMinutes],
  );
  return Number(rows[0]?.removed ?? 0);
}
