import type { Knex } from 'knex';
import type pg from 'pg';

/**
 * An idle connection from knex's pool without tarn's `acquire()`, for the named statements
 * (statements.ts) and for knex itself (`idleFirst`, which createKnex installs).
 */

/** The parts of knex's client the fast path uses. */
export interface IdleConnectionClient {
  acquireConnection(): Promise<pg.PoolClient>;
  releaseConnection(connection: unknown): Promise<void>;
  config?: { pool?: Record<string, unknown> };
  connectionConfigExpirationChecker?: unknown;
  pool?: TarnPool;
}
/** The parts of tarn's Pool (knex's pool) the idle-connection fast path reads. */
interface TarnPool {
  free: { resource: pg.PoolClient & { __knex__disposed?: unknown } }[];
  used: unknown[];
  pendingAcquires: unknown[];
  destroyed: boolean;
  emitter: { listenerCount(event: string): number };
  release(resource: unknown): boolean;
  _startReaping(): void;
}

const fastPools = new WeakMap<object, boolean>();
/**
 * Whether an idle connection may be taken from knex's tarn pool synchronously. tarn's
 * `acquire()` costs 18 promises and a timer even when a connection is free; with a free,
 * sound connection and nobody waiting, it would hand over exactly that connection. Its
 * validation then is knex's: the connection was not disposed by an error (and lifetime
 * limits, a refreshed connection config or a user's `validate`, which this path does not
 * replicate, so a pool configured with any of them always goes through `acquire()`).
 */
export function fastPool(client: IdleConnectionClient): TarnPool | undefined {
  const pool = client.pool;
  if (!pool) return undefined;
  let ok = fastPools.get(pool);
  if (ok === undefined) {
    const config = client.config?.pool ?? {};
    ok =
      Array.isArray(pool.free) &&
      Array.isArray(pool.used) &&
      Array.isArray(pool.pendingAcquires) &&
      typeof pool.release === 'function' &&
      typeof pool._startReaping === 'function' &&
      config.validate === undefined &&
      config.maxConnectionLifetimeMillis === undefined &&
      !client.connectionConfigExpirationChecker;
    fastPools.set(pool, ok);
  }
  return ok ? pool : undefined;
}

/** An idle connection taken the way tarn would hand it over, or undefined (then `acquireConnection`). */
export function takeIdle(pool: TarnPool): pg.PoolClient | undefined {
  if (pool.destroyed || pool.pendingAcquires.length > 0 || pool.free.length === 0) return undefined;
  const free = pool.free[pool.free.length - 1]!;
  if (free.resource.__knex__disposed) return undefined; // acquire() validates and replaces it
  if (pool.emitter.listenerCount('acquireRequest') + pool.emitter.listenerCount('acquireSuccess') > 0) return undefined;
  pool.free.pop();
  pool.used.push(free);
  pool._startReaping();
  return free.resource;
}

/**
 * Makes `db`'s own `acquireConnection` take an idle connection the same way: every builder
 * query on the pool and every transaction's `BEGIN` then skips tarn's `acquire()` when a
 * connection is free (18 promises and a timer each), and waits in tarn as before when none
 * is. Released as before (`releaseConnection`, tarn's `release`).
 */
export function idleFirst(db: Knex): void {
  const client = db.client as unknown as IdleConnectionClient;
  const acquire = client.acquireConnection;
  client.acquireConnection = function acquireConnection(this: IdleConnectionClient) {
    const pool = fastPool(client);
    const idle = pool && takeIdle(pool);
    return idle ? Promise.resolve(idle) : acquire.call(client);
  };
}
