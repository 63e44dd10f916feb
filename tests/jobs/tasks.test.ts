import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../server/jobs/task.ts';
import { queuedJobs, waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

const seen: { n: number; attempt: number; maxAttempts: number }[] = [];
const square = defineTask({
  name: 'test.square',
  payload: z.object({ n: z.number().int() }),
  maxAttempts: 3,
  async run({ n }, { job }) {
    const { rows } = await t.app.db.raw('SELECT ?::int * ?::int AS sq', [n, n]);
    seen.push({ n: rows[0].sq, attempt: job.attempt, maxAttempts: job.maxAttempts });
  },
});

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  t.app.jobs.define(square);
  await t.app.startWorker();
});
afterAll(() => t.close());

describe('typed tasks', () => {
  it('a job added in a committed transaction runs with its payload, deps and own maxAttempts', async () => {
    await t.app.db.transaction((trx) => t.app.jobs.add(trx, square, { n: 7 }));
    await waitFor(() => seen.find((s) => s.n === 49), 'the task to run');
    expect(seen.find((s) => s.n === 49)).toEqual({ n: 49, attempt: 1, maxAttempts: 3 });
    await waitForIdleQueue(t.app.db);
    expect(await queuedJobs(t.app.db, 'test.square')).toEqual([]);
  });

  it('a job added in a rolled-back transaction never exists', async () => {
    await expect(
      t.app.db.transaction(async (trx) => {
        await t.app.jobs.add(trx, square, { n: 5 });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await queuedJobs(t.app.db, 'test.square')).toEqual([]);
  });

  it('rejects a bad payload when adding, and a task that is not registered', async () => {
    await expect(t.app.jobs.add(t.app.db, square, { n: 1.5 })).rejects.toMatchObject({ name: 'JobPayloadError' });
    const stray = defineTask({ name: 'test.stray', payload: z.object({}), async run() {} });
    await expect(t.app.jobs.add(t.app.db, stray, {})).rejects.toThrow('not registered');
    expect(() => t.app.jobs.define(stray)).toThrow('after the worker started');
  });
});
