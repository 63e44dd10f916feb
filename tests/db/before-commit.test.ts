import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeforeCommit } from '../../server/db/before-commit.ts';
import { createKnex, type Knex } from '../../server/db/knex.ts';
import { TransactionScope } from '../../server/db/request-transaction.ts';
import { runStatement } from '../../server/db/statements.ts';
import { createTestDatabase } from '../helpers/test-app.ts';

/**
 * Writes a transaction owes (server/db/before-commit.ts) are written by the statement that
 * takes them, or before the transaction's next query, or before its commit; never outside
 * it, never after a rollback.
 */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Knex;
/** How many times the owed writes were written on their own, and how. */
const writes: string[][] = [];
const owed = new BeforeCommit<string>(async (trx, values) => {
  writes.push(values);
  await runStatement(trx, 'INSERT INTO owed_rows (v) SELECT unnest($1::text[])', [values]);
});
const rows = async () => (await db('owed_rows').orderBy('v').pluck('v')) as string[];

beforeAll(async () => {
  database = await createTestDatabase();
  db = createKnex(database.url, { poolMax: 2 });
  await db.raw('CREATE TABLE owed_rows (v text NOT NULL)');
});
afterAll(async () => {
  await db.destroy();
  await database.drop();
});

describe('writes a transaction owes', () => {
  it('are written in one statement just before the commit', async () => {
    writes.length = 0;
    await db('owed_rows').del();
    await db.transaction(async (trx) => {
      expect(owed.defer(trx, ['a'])).toBe(true);
      expect(owed.defer(trx, ['b', 'c'])).toBe(true);
      expect(writes).toEqual([]);
    });
    expect(writes).toEqual([['a', 'b', 'c']]);
    expect(await rows()).toEqual(['a', 'b', 'c']);
  });

  it('vanish when the transaction rolls back', async () => {
    writes.length = 0;
    await db('owed_rows').del();
    await expect(
      db.transaction(async (trx) => {
        owed.defer(trx, ['gone']);
        throw new Error('after the defer');
      }),
    ).rejects.toThrow('after the defer');
    expect(writes).toEqual([]);
    expect(await rows()).toEqual([]);
  });

  it('are seen by any later query in the transaction: the builder, raw and named statements each write them first', async () => {
    await db('owed_rows').del();
    await db.transaction(async (trx) => {
      owed.defer(trx, ['built']);
      expect(await trx('owed_rows').pluck('v')).toEqual(['built']);
      owed.defer(trx, ['raw']);
      expect((await trx.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM owed_rows')).rows[0]!.n).toBe(2);
      owed.defer(trx, ['named']);
      expect((await runStatement<{ n: number }>(trx, 'SELECT count(*)::int AS n FROM owed_rows', [])).rows[0]!.n).toBe(3);
    });
    expect(await rows()).toEqual(['built', 'named', 'raw']);
  });

  it('taken by a statement are no longer written at commit', async () => {
    writes.length = 0;
    await db('owed_rows').del();
    await db.transaction(async (trx) => {
      owed.defer(trx, ['carried']);
      const taken = owed.take(trx);
      expect(taken).toEqual(['carried']);
      expect(owed.take(trx)).toEqual([]);
      await runStatement(trx, 'INSERT INTO owed_rows (v) SELECT unnest($1::text[])', [taken]);
    });
    expect(writes).toEqual([]);
    expect(await rows()).toEqual(['carried']);
  });

  it('that fail to be written fail the commit, and the transaction rolls back', async () => {
    await db('owed_rows').del();
    const failing = new BeforeCommit<string>((trx) => runStatement(trx, 'SELECT 1 / 0', []));
    await expect(
      db.transaction(async (trx) => {
        await trx('owed_rows').insert({ v: 'before' });
        failing.defer(trx, ['x']);
      }),
    ).rejects.toThrow('division by zero');
    expect(await rows()).toEqual([]);
  });

  it('in a savepoint go with it: written when it is released, gone when it rolls back', async () => {
    await db('owed_rows').del();
    await db.transaction(async (trx) => {
      await trx.transaction(async (released) => {
        owed.defer(released, ['released']);
      });
      await trx
        .transaction(async (undone) => {
          owed.defer(undone, ['undone']);
          throw new Error('undo the savepoint');
        })
        .catch(() => {});
      owed.defer(trx, ['outer']);
      // Opening a savepoint writes what the outer transaction owes first.
      await trx.transaction(async (inner) => {
        expect(await inner('owed_rows').where({ v: 'outer' }).pluck('v')).toEqual(['outer']);
      });
    });
    expect(await rows()).toEqual(['outer', 'released']);
  });

  it('cannot be owed by the pool, a request scope proxy or a completed transaction: defer declines', async () => {
    expect(owed.defer(db, ['pool'])).toBe(false);
    const scope = new TransactionScope(db);
    await scope.run(async () => {
      expect(owed.defer(scope.db, ['proxy'])).toBe(false);
    });
    const trx = await db.transaction();
    await trx.commit();
    expect(owed.defer(trx, ['late'])).toBe(false);
  });

  it('owed inside a request scope are written with the scope, flattened or not', async () => {
    await db('owed_rows').del();
    const scope = new TransactionScope(db);
    await scope.run(
      async () => {
        await scope.db.transaction(async (trx) => {
          owed.defer(trx, ['flattened']);
        });
      },
      { flattenNested: true },
    );
    await scope.run(async () => {
      await scope.db.transaction(async (trx) => {
        owed.defer(trx, ['savepoint']);
      });
    });
    expect(await rows()).toEqual(['flattened', 'savepoint']);
  });
});
