import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerRecovery, type RecoveredJob } from '../../server/jobs/recovery.ts';
import { Report } from '../../server/modules/reports/report.model.ts';
import { reportJobKey } from '../../server/modules/reports/report.tasks.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeReport } from '../helpers/reports.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The sweep on its own, on the real database and graphile-worker schema. A dead pool
 * is staged by hand: a heartbeat row gone stale and a job locked by that pool, as a
 * killed worker leaves them. (tests/reports/worker-processes.test.ts kills a real
 * worker process.)
 */
let t: TestApp;
let recovery: WorkerRecovery;
const abandoned: RecoveredJob[] = [];
beforeAll(async () => {
  t = await startTestApp();
  recovery = new WorkerRecovery({
    db: t.app.db,
    logger: t.app.logger,
    recoverAfterMs: 60_000,
    onAbandoned: async (job) => {
      abandoned.push(job);
      await t.app.jobs.abandoned(job);
    },
  });
});
afterAll(async () => {
  recovery.stop();
  await t.close();
});

/** A report with its queued job, the job locked by `pool` on attempt `attempts`, as a running worker leaves it. */
async function lockedReportJob(pool: string, attempts: number): Promise<{ reportId: string; jobId: string }> {
  const { token } = await signedInUser(t);
  const reportId = (await t.rest('POST', '/reports', { body: { kind: 'product-catalog' }, headers: bearer(token) })).body.id as string;
  await Report.query(t.app.db).findById(reportId).patch({ status: 'processing', attempts });
  const { rows } = await t.app.db.raw<{ rows: { id: string }[] }>(
    `UPDATE graphile_worker._private_jobs SET locked_at = now(), locked_by = ?, attempts = ?
      WHERE key = ? RETURNING id::text`,
    [pool, attempts, reportJobKey(reportId)],
  );
  return { reportId, jobId: rows[0]!.id };
}

async function heartbeat(pool: string, secondsAgo: number): Promise<void> {
  await t.app.db('worker_heartbeats').insert({ poolId: pool, host: 'elsewhere', pid: 1, seenAt: t.app.db.raw(`now() - make_interval(secs => ?)`, [secondsAgo]) });
}

async function job(id: string) {
  const { rows } = await t.app.db.raw<{ rows: any[] }>(`SELECT attempts, max_attempts, locked_by, last_error, run_at > now() AS backing_off FROM graphile_worker.jobs WHERE id = ?`, [id]);
  return rows[0];
}

describe('crashed worker recovery (the sweep)', () => {
  it('releases the jobs of a pool silent for longer than recoverAfterMs, with backoff, and forgets the pool', async () => {
    const dead = `pool-${randomUUID()}`;
    await heartbeat(dead, 61);
    const { reportId, jobId } = await lockedReportJob(dead, 1);

    const released = await recovery.sweep();
    expect(released).toEqual([{ id: jobId, task: 'report.generate', key: reportJobKey(reportId), attempts: 1, maxAttempts: 3, retried: true }]);
    expect(await job(jobId)).toMatchObject({ attempts: 1, locked_by: null, backing_off: true });
    expect(await t.app.db('worker_heartbeats').where({ poolId: dead })).toEqual([]);
    // A second sweep finds nothing more to do.
    expect(await recovery.sweep()).toEqual([]);
  });

  it('leaves a pool with a recent heartbeat alone, however long its job has run', async () => {
    const live = `pool-${randomUUID()}`;
    await heartbeat(live, 5);
    const { jobId } = await lockedReportJob(live, 1);
    expect(await recovery.sweep()).toEqual([]);
    expect((await job(jobId)).locked_by).toBe(live);
    await t.app.db('worker_heartbeats').where({ poolId: live }).delete();
  });

  it('a job lost on its last attempt is failed for good and its report settled as failed', async () => {
    const dead = `pool-${randomUUID()}`;
    await heartbeat(dead, 120);
    const { reportId, jobId } = await lockedReportJob(dead, 3);

    const released = await recovery.sweep();
    expect(released).toEqual([expect.objectContaining({ id: jobId, retried: false })]);
    expect(abandoned.map((j) => j.id)).toContain(jobId);
    expect(await job(jobId)).toMatchObject({ attempts: 3, locked_by: null, last_error: 'The worker running the last attempt stopped unexpectedly' });
    const report = await Report.query(t.app.db).findById(reportId);
    expect(report).toMatchObject({ status: 'failed', errorMessage: 'The worker generating the report stopped unexpectedly. Gave up after 3 attempts.' });
    expect(report!.completedAt).not.toBeNull();
  });

  it('settling an abandoned report never touches one that already finished', async () => {
    const { user } = await signedInUser(t);
    const ready = await makeReport(t.app.db, user.id, { status: 'ready' });
    await t.app.jobs.abandoned({ id: '1', task: 'report.generate', key: reportJobKey(ready.id), attempts: 3, maxAttempts: 3, retried: false });
    expect((await Report.query(t.app.db).findById(ready.id))!.status).toBe('ready');
  });
});
