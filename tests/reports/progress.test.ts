import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { waitFor } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Progress is written while the PDF renders. Polling could miss the intermediate
 * values, so a trigger records every change of the report row as it commits.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({}, { worker: true });
  // Three batches of rows (500 per batch), so progress has somewhere to go between 0 and 100.
  await t.app.db('products').insert(Array.from({ length: 1_300 }, (_, i) => ({ name: `Item ${String(i).padStart(4, '0')}`, price: '1.25' })));
  await t.app.db.raw(`
    CREATE TABLE report_changes (n serial PRIMARY KEY, report_id uuid, status text, progress int);
    CREATE FUNCTION record_report_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO report_changes (report_id, status, progress) VALUES (NEW.id, NEW.status, NEW.progress);
      RETURN NEW;
    END $$;
    CREATE TRIGGER record_report_change AFTER INSERT OR UPDATE ON reports FOR EACH ROW EXECUTE FUNCTION record_report_change();`);
});
afterAll(() => t.close());

describe('report progress', () => {
  it('goes 0 → … → 100 while processing, visible through reports.get', async () => {
    const { token } = await signedInUser(t);
    const { id } = await t.client(token).reports.generate.mutate({ kind: 'product-catalog' });
    const ready = await waitFor(async () => {
      const r = await t.client(token).reports.get.query({ id });
      return r.status === 'ready' ? r : undefined;
    }, 'the report to be ready');
    expect(ready.progress).toBe(100);

    const changes = (await t.app.db('report_changes').where({ report_id: id }).orderBy('n')) as { status: string; progress: number }[];
    expect(changes[0]).toEqual(expect.objectContaining({ status: 'pending', progress: 0 }));
    expect(changes.at(-1)).toEqual(expect.objectContaining({ status: 'ready', progress: 100 }));
    const during = changes.filter((c) => c.status === 'processing').map((c) => c.progress);
    expect(during[0]).toBe(0);
    expect(during.some((p) => p > 0 && p < 100)).toBe(true);
    expect(during).toEqual([...during].sort((a, b) => a - b));

    const body = (await t.rest('GET', `/reports/${id}`, { headers: bearer(token) })).body;
    expect(body.fileSize).toBeGreaterThan(10_000);
  });
});
