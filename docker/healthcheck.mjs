/* global process, console, fetch, AbortSignal */
// The image's HEALTHCHECK, plain JavaScript so it starts fast (no tsx).
//   node docker/healthcheck.mjs          serve: GET /readyz answers 200 (the database answers)
//   node docker/healthcheck.mjs worker   worker: this container's pool wrote its heartbeat
//                                        row (worker_heartbeats) within WORKER_RECOVER_AFTER_MS
import os from 'node:os';

const role = process.argv[2] ?? 'serve';
const fail = (why) => {
  console.error(`unhealthy: ${why}`);
  process.exit(1);
};

if (role === 'worker') {
  const { default: pg } = await import('pg');
  if (!process.env.DATABASE_URL) fail('DATABASE_URL is not set');
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000, statement_timeout: 2000 });
  try {
    await client.connect();
    const staleAfterMs = Number(process.env.WORKER_RECOVER_AFTER_MS ?? 120_000);
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM worker_heartbeats WHERE host = $1 AND seen_at > now() - make_interval(secs => $2)`,
      [os.hostname(), staleAfterMs / 1000],
    );
    if (rows[0].n < 1) fail(`no recent heartbeat from host ${os.hostname()}`);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  } finally {
    await client.end().catch(() => {});
  }
} else {
  const port = process.env.PORT ?? '3000';
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2500) });
    if (!res.ok) fail(`/readyz answered ${res.status}`);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
}
process.exit(0);
