import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportRetention } from '../../server/modules/reports/report.retention.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct } from '../helpers/factories.ts';
import { waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { mailFiles } from '../helpers/mail.ts';
import { makeReport } from '../helpers/reports.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * REPORT_RETENTION_DAYS through the real job (`report.expire`, run by the worker):
 * reports older than that go with their stored file and their mail's `.eml` copy;
 * newer ones and unfinished ones stay.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ REPORT_RETENTION_DAYS: '30' }, { worker: true });
  await makeProduct(t.app.db, { name: 'Kept for a while' });
});
afterAll(() => t?.close());

const storedKeys = async () => {
  const keys: string[] = [];
  for await (const entry of t.app.storage.list()) keys.push(entry.key);
  return keys;
};

async function readyReport(token: string): Promise<string> {
  const res = await t.rest('POST', '/reports', { body: { kind: 'product-catalog' }, headers: bearer(token) });
  expect(res.status).toBe(202);
  const id = res.body.id as string;
  await waitFor(async () => (await t.rest('GET', `/reports/${id}`, { headers: bearer(token) })).body.status === 'ready', `report ${id}`);
  return id;
}

describe('REPORT_RETENTION_DAYS', () => {
  it('is a daily job', () => {
    expect(t.app.jobs.schedules()).toContainEqual({ task: 'report.expire', match: '17 3 * * *' });
  });

  it('deletes reports older than the retention with their stored files and mail copies; keeps the rest', async () => {
    const { user, token } = await signedInUser(t);
    const old = await readyReport(token);
    const fresh = await readyReport(token);
    const mails = await mailFiles(t.dataDir);
    expect(mails.has(`report-ready-${old}.eml`)).toBe(true);
    expect(await storedKeys()).toEqual(expect.arrayContaining([`${old}.pdf`, `${fresh}.pdf`]));

    // Backdated rows: one just past the retention, one just inside it, an old failed one,
    // and an old one still pending (its job will finish it; retention leaves it).
    const day = 86_400_000;
    await t.app.db('reports').where({ id: old }).update({ created_at: new Date(Date.now() - 31 * day) });
    await t.app.db('reports').where({ id: fresh }).update({ created_at: new Date(Date.now() - 29 * day) });
    const failed = await makeReport(t.app.db, user.id, { status: 'failed', createdAt: new Date(Date.now() - 40 * day) });
    const pending = await makeReport(t.app.db, user.id, { status: 'pending', createdAt: new Date(Date.now() - 40 * day) });

    await t.app.db.raw(`SELECT graphile_worker.add_job('report.expire', '{}'::json)`);
    await waitFor(async () => !(await t.app.db('reports').where({ id: old }).first()), 'the old report to expire');
    await waitForIdleQueue(t.app.db);

    const left = await t.app.db('reports').whereIn('id', [old, fresh, failed.id, pending.id]).pluck('id');
    expect(left.sort()).toEqual([fresh, pending.id].sort());
    expect((await t.rest('GET', `/reports/${old}`, { headers: bearer(token) })).status).toBe(404);
    expect((await t.rest('GET', `/reports/${old}/file`, { headers: bearer(token) })).status).toBe(404);
    const keys = await storedKeys();
    expect(keys).not.toContain(`${old}.pdf`);
    expect(keys).toContain(`${fresh}.pdf`);
    const after = await mailFiles(t.dataDir);
    expect(after.has(`report-ready-${old}.eml`)).toBe(false);
    expect(after.has(`report-ready-${fresh}.eml`)).toBe(true);
    // The kept report still downloads.
    const file = await fetch(`${t.url}/api/v1/reports/${fresh}/file`, { headers: bearer(token) });
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('0 keeps reports forever; a file that cannot be removed is counted and left for the next run', async () => {
    const { user } = await signedInUser(t);
    const report = await makeReport(t.app.db, user.id, { status: 'ready', createdAt: new Date(Date.now() - 400 * 86_400_000) });
    const log = pino({ level: 'silent' });
    const forever = new ReportRetention({ db: t.app.db, storage: t.app.storage, mailer: { forget: async () => false }, retentionDays: 0 });
    expect(await forever.expire({ log })).toMatchObject({ reports: 0, files: 0, mails: 0, fileErrors: 0 });
    expect(await t.app.db('reports').where({ id: report.id }).first()).toBeTruthy();

    const failing: typeof t.app.storage = Object.assign(Object.create(t.app.storage), { remove: async () => Promise.reject(new Error('store down')) });
    const result = await new ReportRetention({ db: t.app.db, storage: failing, mailer: { forget: async () => false }, retentionDays: 30 }).expire({ log });
    expect(result).toMatchObject({ fileErrors: 1 });
    expect(result.reports).toBeGreaterThanOrEqual(1);
    expect(await t.app.db('reports').where({ id: report.id }).first()).toBeUndefined();
  });

  it("deleting a report's owner: the next run removes the bytes the cascade could not", async () => {
    const { user, token } = await signedInUser(t);
    const id = await readyReport(token);
    await t.app.db('users').where({ id: user.id }).delete();
    expect(await t.app.db('reports').where({ id }).first()).toBeUndefined();
    expect(await storedKeys()).toContain(`${id}.pdf`);
    const log = pino({ level: 'silent' });
    const retention = new ReportRetention({ db: t.app.db, storage: t.app.storage, mailer: { forget: async () => false }, retentionDays: 30 });
    // Within the grace period (the file may belong to a report turning ready) it stays...
    expect((await retention.expire({ log })).orphans).toBe(0);
    // ...an hour later it goes.
    expect((await retention.expire({ log, now: new Date(Date.now() + 3_700_000) })).orphans).toBeGreaterThanOrEqual(1);
    expect(await storedKeys()).not.toContain(`${id}.pdf`);
  });
});
