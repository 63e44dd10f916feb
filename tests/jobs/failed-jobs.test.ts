import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryTask } from '../../server/events/bus.ts';
import { fastForwardRetries, queuedJobs, waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

const run = promisify(execFile);

let t: TestApp;
let broken = true;
const handled: string[] = [];

/** The operator commands, run as a user would (npm run jobs:failed / jobs:retry), against the test database. */
async function jobsCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'server/cli/jobs.ts', ...args], {
      env: { ...process.env, DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'warn' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  t = await startTestApp();
  t.app.events.subscribe(
    'user.deactivated',
    'test.fragile',
    async (event) => {
      if (broken) throw new Error('downstream is down');
      handled.push(event.payload.userId);
    },
    { maxAttempts: 2 },
  );
  await t.app.startWorker();
});
afterAll(() => t.close());

describe('a subscriber that exhausts its attempts', () => {
  it('leaves a permanently failed job that jobs:failed lists and jobs:retry runs again', async () => {
    const userId = randomUUID();
    await t.app.db.transaction((trx) => t.app.events.publish(trx, 'user.deactivated', { userId }));
    const task = deliveryTask('user.deactivated', 'test.fragile');

    await waitFor(async () => (await queuedJobs(t.app.db, task))[0]?.attempts === 1 && (await fastForwardRetries(t.app.db)) > 0, 'the first failure');
    const [failed] = await waitFor(async () => {
      const jobs = await queuedJobs(t.app.db, task);
      return jobs[0]?.attempts === 2 && !jobs[0].locked ? jobs : undefined;
    }, 'the second (last) failure');
    expect(failed).toMatchObject({ attempts: 2, maxAttempts: 2, lastError: expect.stringContaining('downstream is down') });
    // Used up: fast-forwarding finds nothing to retry, and the worker leaves it alone.
    expect(await fastForwardRetries(t.app.db)).toBe(0);
    await waitForIdleQueue(t.app.db);
    expect(handled).toEqual([]);

    const listed = await jobsCli('failed');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${failed!.id}  ${task}  attempts 2/2`);
    expect(listed.stdout).toContain('downstream is down');

    const notFailed = await jobsCli('retry', '999999999');
    expect(notFailed.code).toBe(1);
    expect(notFailed.stderr).toContain('Not permanently failed');

    broken = false;
    const retried = await jobsCli('retry', failed!.id);
    expect(retried.stdout).toContain(`Rescheduled 1 job(s): ${failed!.id}`);
    expect(retried.code).toBe(0);
    await waitFor(() => handled.includes(userId), 'the retried delivery');
    await waitForIdleQueue(t.app.db);
    expect(await queuedJobs(t.app.db, task)).toEqual([]);
    expect((await jobsCli('failed')).stdout).toContain('No permanently failed jobs.');
  });
});
