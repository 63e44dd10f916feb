import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiskStorage } from '../../server/storage/local-disk.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { runScript } from '../helpers/processes.ts';
import { makeReport } from '../helpers/reports.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/** `npm run storage:gc` and `npm run storage:import`, run as a user runs them, on the default (PostgreSQL) storage. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const run = (...args: string[]) => runScript('server/cli/storage.ts', args, { DATABASE_URL: t.databaseUrl, DATA_DIR: t.dataDir });
const hourAgo = () => new Date(Date.now() - 3_600_000);
const stored = async (key: string) => (await t.app.storage.size(key)) !== undefined;

describe('npm run storage:gc', () => {
  it('removes orphan report files and unfinished writes older than the grace period, prints them, and keeps everything else', async () => {
    const { user } = await signedInUser(t);
    const ready = await makeReport(t.app.db, user.id, { status: 'ready', fileSize: 5 });
    const processing = await makeReport(t.app.db, user.id, { status: 'processing' });
    const failed = await makeReport(t.app.db, user.id, { status: 'failed' });
    const deleted = await makeReport(t.app.db, user.id, { status: 'ready', fileSize: 5 });
    for (const r of [ready, processing, failed, deleted]) await t.app.storage.put(`${r.id}.pdf`, Buffer.from('%PDF-'));
    await t.app.db('reports').where({ id: deleted.id }).delete();
    await t.app.storage.put('notes.txt', Buffer.from('not a report file'));
    // A fresh orphan: within the grace period, so kept for now.
    const fresh = '11111111-1111-4111-8111-111111111111.pdf';
    await t.app.storage.put(fresh, Buffer.from('%PDF-'));
    // A write killed an hour ago.
    await t.app.db('stored_files').insert({ key: 'killed.pdf', status: 'writing', touched_at: hourAgo() });
    await t.app.db('stored_files').whereNot('key', fresh).update({ touched_at: hourAgo() });

    const dry = await run('gc', '--grace-minutes', '30', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Would remove 2 orphan report file(s)');
    expect(await stored(`${failed.id}.pdf`)).toBe(true);

    const gc = await run('gc', '--grace-minutes', '30');
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toContain(`removed ${failed.id}.pdf`);
    expect(gc.stdout).toContain('its report failed');
    expect(gc.stdout).toContain(`removed ${deleted.id}.pdf`);
    expect(gc.stdout).toContain('its report no longer exists');
    expect(gc.stdout).toContain('removed partial write of killed.pdf');
    expect(gc.stdout).toContain('Removed 2 orphan report file(s) (10 B) and 1 leftover(s) of unfinished writes.');
    for (const kept of [`${ready.id}.pdf`, `${processing.id}.pdf`, 'notes.txt', fresh]) expect(await stored(kept), kept).toBe(true);
    for (const gone of [`${failed.id}.pdf`, `${deleted.id}.pdf`]) expect(await stored(gone), gone).toBe(false);
    expect(await t.app.db('stored_files').where({ key: 'killed.pdf' })).toEqual([]);

    const again = await run('gc', '--grace-minutes', '30');
    expect(again.stdout).toContain('Removed 0 orphan report file(s) (0 B) and 0 leftover(s)');
  }, 60_000);

  it('refuses a grace period that is not a number', async () => {
    const bad = await run('gc', '--grace-minutes', 'soon');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--grace-minutes must be a number');
  });
});

describe('npm run storage:import', () => {
  it('copies the report files left on local disk into the configured storage, reports counts, and is safe to re-run', async () => {
    const { user, token } = await signedInUser(t);
    const disk = new LocalDiskStorage(path.join(t.dataDir, 'reports'));
    const pdf = Buffer.from('%PDF-1.3\n% from before the upgrade\n%%EOF\n');
    const reports = [];
    for (let i = 0; i < 3; i++) {
      const r = await makeReport(t.app.db, user.id, { status: 'ready', fileSize: pdf.length });
      await disk.put(`${r.id}.pdf`, pdf);
      reports.push(r);
    }
    await disk.put('22222222-2222-4222-8222-222222222222.pdf', pdf); // no report: left alone
    expect((await fetch(`${t.url}/api/v1/reports/${reports[0]!.id}/file`, { headers: bearer(token) })).status).toBe(404);

    const first = await run('import');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`Copied 3 file(s) (${pdf.length * 3} B); 0 already there; 1 not a report's file (left alone); 0 failed.`);
    for (const r of reports) {
      const res = await fetch(`${t.url}/api/v1/reports/${r.id}/file`, { headers: bearer(token) });
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(pdf)).toBe(true);
    }

    const second = await run('import');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Copied 0 file(s) (0 B); 3 already there; 1 not a report\'s file (left alone); 0 failed.');
  }, 60_000);
});
