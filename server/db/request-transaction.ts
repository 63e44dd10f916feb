import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';

interface Scope {
  trx: Knex.Transaction;
  /** False once the transaction has ended; code still running in its async context (after-response tasks) then uses the pool again. */
  open: boolean;
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
 * the scope too.
 *
 * A generated module gets this for free: it writes through `this.deps.db` like every
 * other service. What it must not do is keep work for later on a transaction handle
 * beyond the service call (the scope ends when the procedure does).
 */
export class TransactionScope {
  readonly #storage = new AsyncLocalStorage<Scope>();
  /** Follows the current scope: the scope's transaction inside `run`, the pool outside. */
  readonly db: Knex;

  constructor(readonly root: Knex) {
    const current = (): Knex => {
      const scope = this.#storage.getStore();
      return scope?.open ? scope.trx : root;
    };
    this.db = new Proxy(root, {
      get(_target, prop) {
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
  async run<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    const outer = this.current();
    const begin = outer ? outer.transaction.bind(outer) : this.root.transaction.bind(this.root);
    return begin(async (trx: Knex.Transaction) => {
      const scope: Scope = { trx, open: true };
      try {
        return await this.#storage.run(scope, () => fn(trx));
      } finally {
        scope.open = false;
      }
    }) as Promise<T>;
  }
}
