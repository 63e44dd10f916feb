import { OnDemandStorage } from '../lib/async-context.ts';
import type { Knex } from 'knex';

interface Scope {
  trx: Knex.Transaction;
  /** False once the transaction has ended; code still running in its async context (after-response tasks) then uses the pool again. */
  open: boolean;
  /** Nested `db.transaction(fn)` calls run on `trx` itself, without a savepoint (see `run`). */
  flatten: boolean;
  /** Set when a flattened nested transaction threw: its writes were not undone. */
  nestedFailed: boolean;
}

/** What `run`'s callback can ask about its scope. */
export interface ScopeState {
  /**
   * True once a nested `db.transaction(fn)` flattened into this scope threw. Its writes
   * were not undone (there was no savepoint to roll back to), so the scope must not
   * commit them: roll back, and run again without `flattenNested` if the work must go on.
   */
  readonly nestedFailed: boolean;
}

export interface ScopeOptions {
  /**
   * Run a service's own `db.transaction(fn)` directly on the scope's transaction instead
   * of a savepoint: two round trips fewer per nested transaction (SAVEPOINT and RELEASE).
   * The price is that a nested failure cannot be undone alone: `nestedFailed` tells the
   * caller, which must then roll the whole scope back. Only the callback-with-no-config
   * form is flattened; `db.transaction()` without a callback, or with a config, still
   * makes a savepoint.
   */
  flattenNested?: boolean;
}

/**
 * Request-scoped transactions, so the pipeline can make a procedure's writes and its
 * own bookkeeping (the idempotency record) commit together without any service
 * knowing about it.
 *
 * `db` is the knex every service is given. Outside a scope it is the pool, exactly as
 * before. Inside `run(fn)` (for the rest of that async call chain) it is the scope's
 * transaction: a query joins it, and a service's own `db.transaction(...)` becomes a
 * savepoint inside it, so the service's all-or-nothing still holds (its rollback undoes
 * its writes only) while its commit waits for the scope's. Events published and jobs
 * added with that transaction (`events.publish(trx, …)`, `jobs.add(trx, …)`) commit with
 * the scope too. A scope run with `flattenNested` skips those savepoints and instead
 * reports a failed nested transaction (`ScopeState.nestedFailed`), so its owner rolls
 * everything back and runs again with savepoints: the same outcome, fewer round trips on
 * the path that succeeds.
 *
 * A generated module gets this for free: it writes through `this.deps.db` like every
 * other service. What it must not do is keep work for later on a transaction handle
 * beyond the service call (the scope ends when the procedure does).
 */
export class TransactionScope {
  /** On only while a scope runs: on Node 20–22 an enabled storage taxes every promise of every request. */
  readonly #storage = new OnDemandStorage<Scope>();
  /** Follows the current scope: the scope's transaction inside `run`, the pool outside. */
  readonly db: Knex;

  constructor(readonly root: Knex) {
    const storage = this.#storage;
    const current = (): Knex => {
      const scope = storage.getStore();
      return scope?.open ? scope.trx : root;
    };
    this.db = new Proxy(root, {
      get(_target, prop) {
        if (prop === 'transaction') {
          const scope = storage.getStore();
          if (scope?.open && scope.flatten) return flattened(scope);
        }
        const target = current();
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
      apply(_target, _this, args: unknown[]) {
        return (current() as unknown as (...a: unknown[]) => unknown)(...args);
      },
      has(_target, prop) {
        return Reflect.has(current(), prop);
      },
    });
  }

  /** The transaction of the current scope, if any. */
  current(): Knex.Transaction | undefined {
    const scope = this.#storage.getStore();
    return scope?.open ? scope.trx : undefined;
  }

  /**
   * Runs `fn` in one transaction that every query made through `db` during it joins.
   * Commits when `fn` resolves, rolls back when it throws. Scopes do not nest: inside
   * one, `run` joins it as a savepoint.
   */
  async run<T>(fn: (trx: Knex.Transaction, state: ScopeState) => Promise<T>, opts: ScopeOptions = {}): Promise<T> {
    const outer = this.current();
    const begin = outer ? outer.transaction.bind(outer) : this.root.transaction.bind(this.root);
    return begin(async (trx: Knex.Transaction) => {
      const scope: Scope = { trx, open: true, flatten: opts.flattenNested === true, nestedFailed: false };
      try {
        return await this.#storage.run(scope, () => fn(trx, scope));
      } finally {
        scope.open = false;
      }
    }) as Promise<T>;
  }
}

/** `db.transaction` inside a flattening scope: the callback form runs on the scope's transaction. */
function flattened(scope: Scope) {
  return (handler?: unknown, config?: unknown): unknown => {
    if (typeof handler !== 'function' || config !== undefined) return scope.trx.transaction(handler as never, config as never);
    return (async () => {
      try {
        return await (handler as (trx: Knex.Transaction) => unknown)(scope.trx);
      } catch (error) {
        scope.nestedFailed = true;
        throw error;
      }
    })();
  };
}
