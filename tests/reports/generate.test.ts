import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMailer } from '../../server/modules/notifications/mailer.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { fastForwardRetries, queuedJobs, waitFor } from '../helpers/jobs.ts';
import { mailFiles, parseMail } from '../helpers/mail.ts';
import { pdfText, sumMoney } from '../helpers/pdf.ts';
import { CountingMailer, FlakyStorage } from '../helpers/reports.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The whole report path on the real app: HTTP → row + job in one transaction → the
 * real graphile-worker runs `report.generate` → PDF in storage → ready → email.
 * Storage and mail are the real ones (disk under DATA_DIR, .eml files), wrapped so
 * a test can make them fail and count what got through.
 */
let t: TestApp;
let storage: FlakyStorage;
let mailer: CountingMailer;
const prices = ['19.90', '0.10', '0.20', '99999999.99', '7.35'];
const names = ['Espresso cup', 'Tea strainer', 'Sugar tongs', 'Silver samovar', 'Saucer'];

beforeAll(async () => {
  t = await startTestApp(
    {},
    {
      worker: true,
      overrides: ({ config, logger }) => {
        mailer = new CountingMailer(createMailer(config.mail, logger));
        return { reportStorage: (configured) => (storage = new FlakyStorage(configured)), mailer };
      },
    },
  );
  await t.app.db('products').insert(names.map((name, i) => ({ name, price: prices[i] })));
  await t.app.db('products').insert({ name: 'Archived kettle', price: '12.00', is_active: false });
});
afterAll(() => t.close());
beforeEach(() => {
  storage.failPuts = 0;
  mailer.failSends = 0;
});

async function generate(token: string): Promise<string> {
  const res = await t.rest('POST', '/reports', { body: { kind: 'product-catalog' }, headers: bearer(token) });
  expect(res.status).toBe(202);
  expect(res.body.status).toBe('pending');
  return res.body.id as string;
}

/** Waits for the report to settle (ready or failed), skipping retry backoff instead of sleeping through it. */
async function settled(token: string, id: string) {
  return waitFor(async () => {
    await fastForwardRetries(t.app.db);
    const res = await t.rest('GET', `/reports/${id}`, { headers: bearer(token) });
    return res.body.status === 'ready' || res.body.status === 'failed' ? res.body : undefined;
  }, `report ${id} to settle`);
}

const mailsFor = (id: string) => mailer.sent.filter((m) => m.key === `report-ready-${id}`);
const reportFiles = async () => {
  const keys: string[] = [];
  for await (const entry of t.app.storage.list()) keys.push(entry.key);
  return keys.sort();
};

describe('generating a product catalog report', () => {
  it('202 at once, then ready: a real PDF with every active product and the exact total, and one email', async () => {
    const { user, token } = await signedInUser(t, { name: 'Grace Hopper' });
    const id = await generate(token);

    const report = await settled(token, id);
    expect(report).toMatchObject({ status: 'ready', progress: 100, attempts: 1, errorMessage: null, fileUrl: `/api/v1/reports/${id}/file` });
    expect(report.startedAt).not.toBeNull();
    expect(report.completedAt).not.toBeNull();

    const file = await fetch(`${t.url}${report.fileUrl}`, { headers: bearer(token) });
    expect(file.status).toBe(200);
    const pdf = Buffer.from(await file.arrayBuffer());
    expect(pdf.length).toBe(report.fileSize);
    const { text } = await pdfText(pdf);
    expect(text).toContain('Product catalog');
    expect(text).toContain('Prepared for: Grace Hopper');
    for (const name of names) expect(text).toContain(name);
    expect(text).not.toContain('Archived kettle');
    expect(text).toContain('Products: 5');
    // Exact: a float sum of these prices is 100000027.53999999.
    expect(sumMoney(prices)).toBe('100000027.54');
    expect(text).toMatch(/Total of prices\s+100000027\.54/);

    const mails = mailsFor(id);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toBe(user.email);
    expect(mails[0]!.text).toContain(`/api/v1/reports/${id}/file`);
    const eml = (await mailFiles(t.dataDir)).get(`report-ready-${id}.eml`);
    expect(parseMail(eml!).headers.get('subject')).toBe('Your product catalog report is ready');

    // The job is done and gone from the queue.
    await waitFor(async () => (await queuedJobs(t.app.db, 'report.generate')).length === 0, 'the job to complete');
  });

  it('storage failing twice, then working: ready after 3 attempts, one file, one email', async () => {
    const { token } = await signedInUser(t);
    storage.failPuts = 2;
    const failedBefore = storage.failed;
    const id = await generate(token);
    const report = await settled(token, id);
    expect(report).toMatchObject({ status: 'ready', attempts: 3, errorMessage: null });
    expect(storage.failed - failedBefore).toBe(2);
    expect((await reportFiles()).filter((f) => f.includes(id))).toEqual([`${id}.pdf`]);
    expect(mailsFor(id)).toHaveLength(1);
  });

  it('storage failing every time: failed after 3 attempts with a readable reason, no file, no email', async () => {
    const { token } = await signedInUser(t);
    storage.failPuts = Infinity;
    const id = await generate(token);
    const report = await settled(token, id);
    expect(report).toMatchObject({
      status: 'failed',
      attempts: 3,
      progress: 0,
      fileUrl: null,
      fileSize: null,
      errorMessage: 'The report file could not be stored (storage unavailable). Gave up after 3 attempts.',
    });
    expect(mailsFor(id)).toEqual([]);
    expect((await reportFiles()).filter((f) => f.includes(id))).toEqual([]);
    const download = await fetch(`${t.url}/api/v1/reports/${id}/file`, { headers: bearer(token) });
    expect(download.status).toBe(409);
    // Settled on the report, so the job completes rather than staying failed in the queue.
    await waitFor(async () => (await queuedJobs(t.app.db, 'report.generate')).length === 0, 'the job to complete');
  });

  it('mail failing twice, then working: ready with exactly one email', async () => {
    const { token } = await signedInUser(t);
    mailer.failSends = 2;
    const id = await generate(token);
    const report = await settled(token, id);
    expect(report).toMatchObject({ status: 'ready', attempts: 3 });
    expect(mailsFor(id)).toHaveLength(1);
    expect((await reportFiles()).filter((f) => f.includes(id))).toEqual([`${id}.pdf`]);
  });

  it('mail failing every time: failed, no email, and the rendered file removed', async () => {
    const { token } = await signedInUser(t);
    mailer.failSends = Infinity;
    const id = await generate(token);
    const report = await settled(token, id);
    expect(report.status).toBe('failed');
    expect(report.errorMessage).toBe('The report was generated but the email could not be sent (mail server unavailable). Gave up after 3 attempts.');
    expect(mailsFor(id)).toEqual([]);
    expect((await reportFiles()).filter((f) => f.includes(id))).toEqual([]);
  });

  it('two attempts of the same report at once still make one file and one email', async () => {
    const { user, token } = await signedInUser(t);
    // A report with no job of its own (written directly), run twice concurrently as a
    // redelivered job would be.
    const [row] = await t.app.db('reports').insert({ owner_id: user.id, kind: 'product-catalog' }).returning('id');
    const id = (row as { id: string }).id;
    const log = t.app.logger;
    await Promise.all([
      t.app.services.reportGeneration.run(id, { attempt: 1, maxAttempts: 3 }, log),
      t.app.services.reportGeneration.run(id, { attempt: 1, maxAttempts: 3 }, log),
    ]);
    const report = await settled(token, id);
    expect(report.status).toBe('ready');
    expect(mailsFor(id)).toHaveLength(1);
    expect((await reportFiles()).filter((f) => f.includes(id))).toEqual([`${id}.pdf`]);
    // No write left unfinished; the version the other attempt replaced is kept for readers until collected.
    const versions = await t.app.db('stored_files').where({ key: `${id}.pdf` }).pluck('status');
    expect(versions.sort()).toEqual(versions.length === 1 ? ['current'] : ['current', 'replaced']);
    await t.app.storage.collectLeftovers(new Date(Date.now() + 1000));
    expect(await t.app.db('stored_files').where({ key: `${id}.pdf` }).pluck('status')).toEqual(['current']);
  });
});
