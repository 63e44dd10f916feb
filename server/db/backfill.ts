import type { Knex } from 'knex';

export interface BackfillOptions {
  table: string;
  /** The SET list, in SQL, e.g. `name = btrim(name)`. */
  set: string;
  /** The rows still to change, in SQL, e.g. `name <> btrim(name)`. */
  where: string;
  /** Rows per statement; each statement is its own transaction outside a migration transaction. */
  batchSize?: number;
  /** A unique, indexed, sortable column to walk the table by. */
  key?: string;
}

/**
 * The data-migration pattern for large tables: update the rows that need it a batch
 * at a time, walking the primary key, instead of one UPDATE over the whole table.
 *
 * Run it from a migration that exports `config = { transaction: false }`: each batch
 * then commits on its own, so row locks are held for one batch only, readers and
 * writers keep going, and a failure keeps the batches already done. That migration
 * must be safe to run again (the `where` skips rows already changed), because
 * without a transaction a failure leaves it half done and unrecorded.
 *
 * Migrations import this: change it only in ways that keep old migrations doing
 * what they did. Returns how many rows were changed and in how many batches.
 */
export async function backfillInBatches(knex: Knex, opts: BackfillOptions): Promise<{ rows: number; batches: number }> {
  const key = opts.key ?? 'id';
  const size = opts.batchSize ?? 1000;
  let rows = 0;
  let batches = 0;
  let after: string | number | null = null;
  for (;;) {
    // Keyset walk: each batch starts after the last key of the one before, so it never
    // rescans finished rows and always ends, even if `set` does not falsify `where`.
    type BatchResult = { rows: { changed: string; last: string | number | null }[] };
    const from = after === null ? knex.raw('true') : knex.raw('?? > ?', [key, after]);
    const result: BatchResult = await knex.raw<BatchResult>(
      `WITH batch AS (
         SELECT ?? AS key FROM ?? WHERE ? AND (${opts.where}) ORDER BY ?? LIMIT ?
       ), changed AS (
         UPDATE ?? AS t SET ${opts.set} FROM batch WHERE t.?? = batch.key RETURNING 1
       )
       SELECT (SELECT count(*) FROM changed) AS changed, (SELECT key FROM batch ORDER BY key DESC LIMIT 1) AS last`,
      [key, opts.table, from, key, size, opts.table, key],
    );
    const changed: string = result.rows[0]!.changed;
    const last: string | number | null = result.rows[0]!.last;
    if (last === null) return { rows, batches };
    rows += Number(changed);
    batches += 1;
    after = last;
  }
}
