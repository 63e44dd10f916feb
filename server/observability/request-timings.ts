import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Where one request's time went, for the slow-request log line: time in SQL (from
 * knex's query events) and time inside procedures. Kept in an AsyncLocalStorage
 * entered by the HTTP hooks, so queries find their request without anyone passing it.
 */
export interface RequestTimings {
  /** performance.now() when the request arrived. */
  startedAt: number;
  dbMs: number;
  dbQueries: number;
  handlerMs: number;
  /** Queries under way: knex's query uid → performance.now() at start. */
  pending: Map<string, number>;
}

const storage = new AsyncLocalStorage<RequestTimings>();

export function newRequestTimings(): RequestTimings {
  return { startedAt: performance.now(), dbMs: 0, dbQueries: 0, handlerMs: 0, pending: new Map() };
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
