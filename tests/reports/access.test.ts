import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Report } from '../../server/modules/reports/report.model.ts';
import { bearer, cookie, signedInUser } from '../helpers/auth.ts';
import { makeReport } from '../helpers/reports.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Who sees which report, on every way in: `reports.get` and `reports.list` on both
 * doors and the file download. The owner and holders of `reports:read-all` see a
 * report; everyone else gets exactly the 404 of an id that does not exist.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const MISSING = '00000000-0000-4000-8000-000000000000';
const PDF = Buffer.from('%PDF-1.3\n% a stand-in body: the download streams whatever storage holds\n%%EOF\n');

async function readyReport(ownerId: string) {
  const report = await makeReport(t.app.db, ownerId, { status: 'ready', fileSize: PDF.length });
  await t.app.storage.put(report.filePath!, PDF);
  return report;
}

const download = (id: string, headers: Record<string, string> = {}) => fetch(`${t.url}/api/v1/reports/${id}/file`, { headers });

describe('reports.generate', () => {
  it('answers 202 { id, status: pending } and writes the report row for the caller', async () => {
    const { user, token } = await signedInUser(t);
    const res = await t.rest('POST', '/reports', { body: { kind: 'product-catalog' }, headers: bearer(token) });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'pending' });
    const row = await Report.query(t.app.db).findById(res.body.id);
    expect(row).toMatchObject({ ownerId: user.id, kind: 'product-catalog', attempts: 0, progress: 0 });
    // Its job was committed with it (no worker runs in this file), carrying the id only.
    // (The public jobs view hides payloads; the private table is read here for inspection only.)
    const { rows: jobs } = await t.app.db.raw(
      `SELECT j.payload, j.max_attempts FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks k ON k.id = j.task_id
        WHERE k.identifier = 'report.generate' AND j.payload->>'reportId' = ?`,
      [res.body.id],
    );
    expect(jobs).toEqual([{ payload: { reportId: res.body.id }, max_attempts: 3 }]);

    const typed = await t.client(token).reports.generate.mutate({ kind: 'product-catalog' });
    expect(typed.status).toBe('pending');
  });

  it('needs a session and a known kind', async () => {
    expect((await t.rest('POST', '/reports', { body: { kind: 'product-catalog' } })).status).toBe(401);
    const { token } = await signedInUser(t);
    const bad = await t.rest('POST', '/reports', { body: { kind: 'everything' }, headers: bearer(token) });
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toEqual(['kind']);
  });
});

describe('who sees a report', () => {
  it('the owner does: reports.get on both doors, and the file', async () => {
    const { user, token } = await signedInUser(t);
    const report = await readyReport(user.id);
    const res = await t.rest('GET', `/reports/${report.id}`, { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: report.id,
      ownerId: user.id,
      kind: 'product-catalog',
      status: 'ready',
      progress: 100,
      attempts: 0,
      errorMessage: null,
      fileSize: PDF.length,
      fileUrl: `/api/v1/reports/${report.id}/file`,
      createdAt: report.createdAt.toISOString(),
      startedAt: null,
      completedAt: report.completedAt!.toISOString(),
    });
    expect(await t.client(token).reports.get.query({ id: report.id })).toEqual(res.body);

    const file = await download(report.id, bearer(token));
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/pdf');
    expect(file.headers.get('content-length')).toBe(String(PDF.length));
    expect(file.headers.get('content-disposition')).toMatch(/^attachment; filename="product-catalog-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}\.pdf"$/);
    expect(file.headers.get('cache-control')).toBe('private, no-store');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(PDF);
  });

  it('the session cookie works for the download too (a link opened in the browser)', async () => {
    const { user, token } = await signedInUser(t);
    const report = await readyReport(user.id);
    expect((await download(report.id, cookie(token))).status).toBe(200);
  });

  it('another user gets 404, word for word the answer for a missing id, on every way in', async () => {
    const { user: owner } = await signedInUser(t);
    const report = await readyReport(owner.id);
    const { token } = await signedInUser(t);

    const theirs = await t.rest('GET', `/reports/${report.id}`, { headers: bearer(token) });
    const missing = await t.rest('GET', `/reports/${MISSING}`, { headers: bearer(token) });
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(theirs.body).toEqual({ code: 'NOT_FOUND', message: `Report ${report.id} not found` });
    expect(missing.body).toEqual({ code: 'NOT_FOUND', message: `Report ${MISSING} not found` });

    await expect(t.client(token).reports.get.query({ id: report.id })).rejects.toMatchObject({ data: { code: 'NOT_FOUND', httpStatus: 404 } });

    const file = await download(report.id, bearer(token));
    expect(file.status).toBe(404);
    expect(await file.json()).toEqual({ code: 'NOT_FOUND', message: `Report ${report.id} not found` });

    const list = await t.rest('GET', '/reports', { headers: bearer(token) });
    expect(list.body.items).toEqual([]);
  });

  it('a holder of reports:read-all (admin) sees anyone’s report and file', async () => {
    const { user: owner } = await signedInUser(t);
    const report = await readyReport(owner.id);
    const { token } = await signedInUser(t, { roles: ['admin'] });
    expect((await t.rest('GET', `/reports/${report.id}`, { headers: bearer(token) })).status).toBe(200);
    expect((await download(report.id, bearer(token))).status).toBe(200);
  });

  it('nobody signed in gets 401 everywhere', async () => {
    const { user } = await signedInUser(t);
    const report = await readyReport(user.id);
    expect((await t.rest('GET', `/reports/${report.id}`)).status).toBe(401);
    expect((await t.rest('GET', '/reports')).status).toBe(401);
    const file = await download(report.id);
    expect(file.status).toBe(401);
    expect(await file.json()).toEqual({ code: 'UNAUTHORIZED', message: 'Sign in required' });
    expect((await download(report.id, bearer('not-a-token'))).status).toBe(401);
  });
});

describe('the file download', () => {
  it('is 409 for the owner while the report is not ready, 400 for a malformed id', async () => {
    const { user, token } = await signedInUser(t);
    for (const status of ['pending', 'processing', 'failed'] as const) {
      const report = await makeReport(t.app.db, user.id, { status });
      const res = await download(report.id, bearer(token));
      expect(res.status, status).toBe(409);
      expect(((await res.json()) as { code: string }).code).toBe('CONFLICT');
    }
    const bad = await download('not-a-uuid', bearer(token));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: { path: string[] }[] }).issues[0]!.path).toEqual(['id']);
  });

  it('is listed in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as { paths: Record<string, any> };
    const op = doc.paths['/reports/{id}/file'].get;
    expect(Object.keys(op.responses['200'].content)).toEqual(['application/pdf']);
    expect(op.security).toEqual([{ bearerAuth: [] }, { sessionCookie: [] }]);
  });
});

describe('reports.list', () => {
  it('pages through the caller’s own reports, newest first', async () => {
    const { user, token } = await signedInUser(t);
    const { user: other } = await signedInUser(t);
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await makeReport(t.app.db, user.id, { createdAt: new Date(Date.UTC(2026, 0, 1 + i)) }));
    await makeReport(t.app.db, other.id);

    const first = await t.rest('GET', '/reports?page=1&size=2', { headers: bearer(token) });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ total: 5, page: 1, size: 2, pages: 3 });
    const all = [...first.body.items];
    for (const page of [2, 3]) all.push(...(await t.rest('GET', `/reports?page=${page}&size=2`, { headers: bearer(token) })).body.items);
    expect(all.map((r: { id: string }) => r.id)).toEqual(made.reverse().map((r) => r.id));

    const typed = await t.client(token).reports.list.query({ size: 100 });
    expect(typed.total).toBe(5);
  });
});
