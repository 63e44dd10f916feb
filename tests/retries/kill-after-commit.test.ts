import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { waitFor } from '../helpers/jobs.ts';
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

async function serve(env: Record<string, string> = {}): Promise<{ proc: RoleProcess; api: string }> {
  const proc = startRoleProcess('serve', { DATABASE_URL: t.databaseUrl, DATA_DIR: t.dataDir, ...env });
  procs.push(proc);
  const listening = await waitFor(() => loggedLine(proc, 'listening: API'), 'the serve process to listen', 60_000);
  return { proc, api: listening.api as string };
}

describe('a server killed after the keyed commit, before it responds', () => {
  it('loses the response but not the outcome: the retry, on another process, replays it and nothing is written twice', async () => {
    const { token } = await signedInUser(t, { roles: ['admin'] });
    const key = randomUUID();
    const name = `Crash ${key}`;
    const request = (api: string) =>
      fetch(`${api}/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(token), 'idempotency-key': key },
        body: JSON.stringify({ name, price: '9.00' }),
      });

    // TEST_FAILPOINT=idempotency-after-commit: SIGKILL right after COMMIT, before the reply.
    const doomed = await serve({ TEST_FAILPOINT: 'idempotency-after-commit' });
    await expect(request(doomed.api)).rejects.toThrow();
    expect(await doomed.proc.exit).toBeNull(); // killed by a signal, no exit code
    expect(doomed.proc.child.signalCode).toBe('SIGKILL');

    // It committed: one product, one product.created delivery per subscriber, one record.
    const rows = await t.app.db('products').where({ name });
    expect(rows).toHaveLength(1);
    const deliveries = async () =>
      (
        await t.app.db.raw(
          `SELECT count(*)::int AS n FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks k ON k.id = j.task_id
            WHERE k.identifier LIKE 'event:product.created:%' AND j.payload->'payload'->>'productId' = ?`,
          [rows[0].id],
        )
      ).rows[0].n as number;
    const queued = await deliveries();
    expect(queued).toBe(t.app.events.subscribersOf('product.created').length);

    // The client retries against another process (the same database, as behind a load balancer).
    const healthy = await serve();
    const retry = await request(healthy.api);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(((await retry.json()) as { id: string }).id).toBe(rows[0].id);
    expect(await t.app.db('products').where({ name })).toHaveLength(1);
    expect(await deliveries()).toBe(queued);

    healthy.proc.child.kill('SIGTERM');
    expect(await healthy.proc.exit).toBe(0);
  }, 180_000);

  it('TEST_FAILPOINT is refused in production', async () => {
    const { loadConfig, ConfigError } = await import('../../server/config.ts');
    expect(() => loadConfig({ NODE_ENV: 'production', TEST_FAILPOINT: 'idempotency-after-commit' })).toThrow(ConfigError);
  });
});
