import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { mailFiles } from '../helpers/mail.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/** `npm run serve` / `npm run worker` as a user runs them, on the test database, with its log lines collected. */
interface Proc {
  child: ChildProcess;
  lines: Record<string, any>[];
  exit: Promise<number | null>;
}

function start(role: 'serve' | 'worker', env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', role], {
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, any>[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ msg: line });
    }
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, exit };
}

const logged = (p: Proc, text: string) => p.lines.find((l) => typeof l.msg === 'string' && l.msg.includes(text));

let t: TestApp;
const procs: Proc[] = [];
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
    const serve = start('serve', env);
    const worker = start('worker', { ...env, WORKER_CONCURRENCY: '2' });
    procs.push(serve, worker);

    const listening = await waitFor(() => logged(serve, 'listening: API'), 'the serve process to listen', 60_000);
    await waitFor(() => logged(worker, 'worker running 2 job(s) at a time'), 'the worker process to start', 60_000);

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
    expect(logged(serve, 'worker running')).toBeUndefined();

    serve.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    // Exit 0 after "stopped": the orderly shutdown ran to its end (not a 143 from a signal hook).
    expect(await serve.exit).toBe(0);
    expect(await worker.exit).toBe(0);
    expect(logged(serve, 'stopped')).toBeDefined();
    expect(logged(worker, 'stopped')).toBeDefined();
  });
});
