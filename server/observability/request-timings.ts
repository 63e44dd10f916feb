import { AsyncLocalStorage } from 'node:async_hooks';
import { asyncContextIsFree } from '../lib/async-context.ts';

/**
 * Where one request's time went, for the slow-request log line: time inside procedures
 * (the doors add it, knowing their request) and, when `dbTracked`, time in SQL (from
 * knex's query events). Queries find their request through an AsyncLocalStorage entered
 * by the HTTP hooks, which is why DB time is tracked only where that is cheap
 * (`trackDbTime`).
 */
export interface RequestTimings {
  /** performance.now() when the request arrived. */
  startedAt: number;
  dbMs: number;
  dbQueries: number;
  handlerMs: number;
  /** Whether `dbMs` and `dbQueries` were measured for this request. */
  dbTracked: boolean;
  /** Queries under way: knex's query uid → performance.now() at start. */
  pending: Map<string, number>;
}

const storage = new AsyncLocalStorage<RequestTimings>();

export function newRequestTimings(dbTracked: boolean): RequestTimings {
  return { startedAt: performance.now(), dbMs: 0, dbQueries: 0, handlerMs: 0, dbTracked, pending: new Map() };
}

/** `SLOW_REQUEST_DB_TIME`: when the slow-request line measures time in SQL. */
export type DbTimeMode = 'auto' | 'on' | 'off';

/**
 * Whether requests get their SQL time measured. `auto` does it where it costs nothing
 * measurable: on a Node whose async context is free (24+), or while tracing (whose
 * context manager already pays the same price). On Node 20–22 without tracing, measuring
 * it would enable an AsyncLocalStorage for every request, ~10 % of a get-by-id.
 */
export function trackDbTime(mode: DbTimeMode, tracing: boolean): boolean {
  if (mode !== 'auto') return mode === 'on';
  return asyncContextIsFree || tracing;
}

/** Runs `fn` (and everything it awaits) with `timings` as the current request's. */
export function runWithTimings<T>(timings: RequestTimings, fn: () => T): T {
  return storage.run(timings, fn);
}

/** The current request's timings, or undefined outside a request (jobs, start-up). */
export function currentTimings(): RequestTimings | undefined {
  return storage.getStore();
}

/** Minimal view of knex's query events (knex types them loosely). */
interface KnexQueryEvent {
  __knexQueryUid?: string;
}
interface QueryEventSource {
  on(event: 'query', fn: (q: KnexQueryEvent) => void): unknown;
  on(event: 'query-response' | 'query-error', fn: (a: unknown, q: KnexQueryEvent) => void): unknown;
}

/** Adds each query's duration to the timings of the request it runs for. */
export function timeQueries(db: QueryEventSource): void {
  db.on('query', (q) => {
    const t = storage.getStore();
    if (t && q.__knexQueryUid) t.pending.set(q.__knexQueryUid, performance.now());
  });
  const done = (_: unknown, q: KnexQueryEvent) => {
    const t = storage.getStore();
    if (!t || !q.__knexQueryUid) return;
    const start = t.pending.get(q.__knexQueryUid);
    if (start === undefined) return;
    t.pending.delete(q.__knexQueryUid);
    t.dbMs += performance.now() - start;
    t.dbQueries += 1;
  };
  db.on('query-response', done);
  db.on('query-error', done);
}
