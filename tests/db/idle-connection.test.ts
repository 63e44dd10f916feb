import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKnex, type Knex } from '../../server/db/knex.ts';
import { createTestDatabase } from '../helpers/test-app.ts';

/**
 * knex's own queries and transactions take an idle pooled connection without tarn's
 * `acquire()` (server/db/idle-connection.ts `idleFirst`), and wait in tarn when none is free.
 */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Knex;
type Pool = { acquire(): unknown; numUsed(): number; numFree(): number; numPendingAcquires(): number };
const poolOf = (k: Knex) => (k.client as { pool: Pool }).pool;
beforeAll(async () => {
  database = await createTestDatabase();
  db = createKnex(database.url, { poolMax: 2 });
  await db.raw('SELECT 1'); // the first connection is opened through tarn
});
afterAll(async () => {
  await db.destroy();
  await database.drop();
});

describe('knex on an idle connection', () => {
  it('builder queries and transactions skip tarn when a connection is free, and give it back', async () => {
    const pool = poolOf(db);
    const acquire = vi.spyOn(pool, 'acquire');
    try {
      expect(await db('products').count({ n: '*' }).first()).toBeDefined();
      const inside = await db.transaction(async (trx) => {
        expect([pool.numUsed(), pool.numFree()]).toEqual([1, 0]);
        return (await trx.raw<{ rows: { x: number }[] }>('SELECT 1 AS x')).rows[0]!.x;
      });
      expect(inside).toBe(1);
      expect(acquire).not.toHaveBeenCalled();
      expect(pool.numUsed()).toBe(0);
    } finally {
      acquire.mockRestore();
    }
  });

  it('waits in tarn behind busy connections, as before', async () => {
    const pool = poolOf(db);
    const acquire = vi.spyOn(pool, 'acquire');
    try {
      // Two transactions hold both connections; a third query waits for one of them.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const holders = [1, 2].map(() => db.transaction(async () => held));
      await vi.waitFor(() => expect(pool.numUsed()).toBe(2));
      // (a builder runs when awaited: then() starts it)
      const waiting = db.raw<{ rows: { x: number }[] }>('SELECT 2 AS x').then((r) => r.rows[0]!.x);
      try {
        await vi.waitFor(() => expect(pool.numPendingAcquires()).toBe(1));
      } finally {
        release();
      }
      await Promise.all(holders);
      expect(await waiting).toBe(2);
      expect(acquire).toHaveBeenCalled();
      expect(pool.numUsed()).toBe(0);
    } finally {
      acquire.mockRestore();
    }
  });
});
