import type { Knex } from 'knex';

/**
 * Writes a transaction owes, kept in memory until a statement that runs anyway carries
 * them (`take`), and otherwise written in one statement just before the transaction's next
 * query, or its `COMMIT` (a savepoint's `RELEASE`). A write that would have been a round
 * trip of its own becomes part of another: pg sends one query per round trip and
 * pipelines nothing, so round trips are what a short write transaction spends its time on.
 *
 * What a statement sees stays what it would have seen had they been written at once: any
 * later query in the transaction (the query builder, a raw query, a named statement, a
 * savepoint being opened) first writes what is owed. They commit or roll back with the
 * transaction; a failure to write them fails the query (or the commit, which then rolls
 * back: knex's `transaction(fn)` rejects with that error). What moves is only where an
 * error surfaces.
 *
 * Only a transaction knex handed out can owe writes (`db.transaction(fn)`'s argument, or a
 * savepoint's); given anything else (the pool, a completed transaction) `defer` declines
 * and the caller writes at once.
 */
export class BeforeCommit<T> {
  readonly #owed = new WeakMap<object, T[]>();

  /** `write` writes, inside `trx`, what it still owes, in one statement. */
  constructor(private readonly write: (trx: Knex.Transaction, items: T[]) => Promise<unknown>) {}

  /**
   * Owes `items` in `db`'s transaction. Returns false when `db` cannot owe (not a
   * transaction knex handed out, or completed): the caller writes them now.
   */
  defer(db: Knex, items: readonly T[]): boolean {
    if (items.length === 0) return true;
    const trx = db as Knex.Transaction & { commit?: unknown };
    const client = (trx as { client?: { acquireConnection?: unknown } }).client;
    if (trx.isTransaction !== true || !Object.hasOwn(trx, 'commit') || typeof trx.commit !== 'function' || trx.isCompleted()) return false;
    if (!client || !Object.hasOwn(client, 'acquireConnection') || typeof client.acquireConnection !== 'function') return false;
    const owed = this.#owed.get(trx);
    if (owed) {
      owed.push(...items);
      return true;
    }
    this.#owed.set(trx, [...items]);
    const flush = async () => {
      const rest = this.take(trx);
      if (rest.length) await this.write(trx, rest);
    };
    // Every query on the transaction (the builder's runner, raw, runStatement) and every
    // savepoint opened from it takes the connection here; COMMIT goes through `commit`.
    const acquire = client.acquireConnection as () => Promise<unknown>;
    client.acquireConnection = () => (this.#owed.get(trx)?.length ? flush().then(() => acquire.call(client)) : acquire.call(client));
    const commit = trx.commit;
    trx.commit = (async (value?: unknown) => {
      await flush();
      return commit.call(trx, value);
    }) as typeof trx.commit;
    return true;
  }

  /** What `db`'s transaction owes so far, no longer owed: the caller's statement, run in it next, writes them. */
  take(db: Knex): T[] {
    const owed = this.#owed.get(db);
    if (!owed?.length) return [];
    this.#owed.set(db, []);
    return owed;
  }
}
