import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { mailFiles } from '../helpers/mail.ts';
import { loggedLine, startRoleProcess, type RoleProcess } from '../helpers/processes.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';


let t: TestApp;
const procs: RoleProcess[] = [];
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await t.close();
});

describe('npm run serve and npm run worker as separate processes on one database', () => {
  it('the HTTP-only process publishes, the worker-only process delivers, both stop cleanly on SIGTERM', async () => {
    const env = { DATABASE_URL: t.databaseUrl, DATA_DIR: t.dataDir };
    const serve = startRoleProcess('serve', env);
    const worker = startRoleProcess('worker', { ...env, WORKER_CONCURRENCY: '2' });
    procs.push(serve, worker);

    const listening = await waitFor(() => loggedLine(serve, 'listening: API'), 'the serve process to listen', 60_000);
    await waitFor(() => loggedLine(worker, 'worker running 2 job(s) at a time'), 'the worker process to start', 60_000);

    const { token } = await signedInUser(t, { roles: ['admin'] });
    const created = await fetch(`${listening.api}/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ name: 'Across processes', price: '2.00' }),
    });
    expect(created.status).toBe(201);
    const product = (await created.json()) as { id: string };
    await waitFor(
      async () => (await t.app.db('analytics_events').whereRaw(`properties->>'productId' = ?`, [product.id])).length === 1,
      'the worker process to record the product',
    );

    const envelope = await t.app.db.transaction((trx) =>
      t.app.events.publish(trx, 'user.created', { userId: randomUUID(), email: 'linus@example.com', name: 'Linus' }),
    );
    await waitFor(async () => (await mailFiles(t.dataDir)).has(`welcome-${envelope.id}.eml`), 'the worker process to write the welcome email');
    await waitForIdleQueue(t.app.db);
    expect(loggedLine(serve, 'worker running')).toBeUndefined();

    serve.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    // Exit 0 after "stopped": the orderly shutdown ran to its end (not a 143 from a signal hook).
    expect(await serve.exit).toBe(0);
    expect(await worker.exit).toBe(0);
    expect(loggedLine(serve, 'stopped')).toBeDefined();
    expect(loggedLine(worker, 'stopped')).toBeDefined();
  });
});
