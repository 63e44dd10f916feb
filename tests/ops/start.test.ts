import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { findFreePort } from '../../server/db/embedded-postgres.ts';
import { createKnex } from '../../server/db/knex.ts';
import { createLogger } from '../../server/logger.ts';
import { createTestDatabase } from '../helpers/test-app.ts';

const root = path.resolve(import.meta.dirname, '../..');
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Started {
  child: ChildProcess;
  base: string;
  logs: () => string;
  exit: Promise<number | null>;
}

/** `npm start`, as a user runs it (tsx server/main.ts), on its own data directory and port. */
async function start(env: Record<string, string>, opts: { processGroup?: boolean } = {}): Promise<Started> {
  const port = await findFreePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'info', PORT: String(port), DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, like a terminal's foreground job: Ctrl-C reaches the whole group.
    detached: opts.processGroup ?? false,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 60_000;
  while (!output.includes('"msg":"listening')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, base: `http://localhost:${port}`, logs: () => output, exit };
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function post(base: string, body: unknown, token: string) {
  return fetch(`${base}/api/v1/products`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

/**
 * A token for a first admin made as docs/getting-started.md says, with `npm run user:create`
 * beside the running server, on the same data; then signed in over HTTP.
 */
async function adminToken(base: string, env: Record<string, string>): Promise<string> {
  const email = `admin-${randomUUID()}@example.com`;
  const password = 'first admin password';
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'server/cli/user-create.ts', '--email', email, '--name', 'Admin', '--password', password, '--role', 'admin'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'warn', ...env },
  });
  const res = await fetch(`${base}/api/v1/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

describe('npm start', () => {
  it.skipIf(Boolean(process.env.DATABASE_URL))(
    'starts an embedded PostgreSQL, migrates, serves, shuts down cleanly on SIGTERM, and reuses its data',
    async () => {
      const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-start-'));
      cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));

      const first = await start({ DATA_DIR: dataDir });
      expect(first.logs()).toContain('applied migrations');
      expect(first.logs()).toMatch(/"docs":"http:\/\/localhost:\d+\/docs"/);
      expect(first.logs()).toContain('"embedded":true');
      expect((await fetch(`${first.base}/readyz`)).status).toBe(200);
      const token = await adminToken(first.base, { DATA_DIR: dataDir });
      const created: any = await (await post(first.base, { name: "Survives restarts", price: "1.50" }, token)).json();

      first.child.kill('SIGTERM');
      expect(await first.exit).toBe(0);
      expect(first.logs()).toContain('"msg":"stopped"');
      await expect(fs.access(path.join(dataDir, 'postgres', 'postmaster.pid'))).rejects.toThrow();

      const second = await start({ DATA_DIR: dataDir });
      expect(second.logs()).not.toContain('applied migrations');
      const again = await fetch(`${second.base}/api/v1/products/${created.id}`);
      expect(again.status).toBe(200);
      second.child.kill('SIGINT');
      expect(await second.exit).toBe(0);
    },
  );

  it.skipIf(Boolean(process.env.DATABASE_URL))(
    "Ctrl-C (SIGINT to the whole process group) lets in-flight requests finish on the embedded database",
    async () => {
      const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-ctrl-c-'));
      cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
      const app = await start({ DATA_DIR: dataDir }, { processGroup: true });
      const credentials = JSON.parse(await fs.readFile(path.join(dataDir, 'postgres-credentials.json'), 'utf8'));
      const port = (await fs.readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[3];
      const db = createKnex(`postgres://${credentials.user}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/app`, { poolMax: 2 });
      const trx = await db.transaction();
      await trx.raw('LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
      const slow = fetch(`${app.base}/api/v1/products`).then((r) => r.status);
      await waitFor(async () => (await db.raw(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%products%'`)).rows.length > 0);
      process.kill(-app.child.pid!, 'SIGINT');
      await waitFor(async () => app.logs().includes('shutting down'));
      await trx.commit();
      await db.destroy();
      expect(await slow).toBe(200);
      expect(await app.exit).toBe(0);
      await expect(fs.access(path.join(dataDir, 'postgres', 'postmaster.pid'))).rejects.toThrow();
    },
  );

  it('uses DATABASE_URL when set and starts no embedded database', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-start-url-'));
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    const app = await start({ DATABASE_URL: database.url, DATA_DIR: dataDir });
    expect(app.logs()).toContain('"embedded":false');
    const token = await adminToken(app.base, { DATABASE_URL: database.url, DATA_DIR: dataDir });
    expect((await post(app.base, { name: 'On the given server', price: '2' }, token)).status).toBe(201);
    await expect(fs.access(path.join(dataDir, 'postgres'))).rejects.toThrow();
    app.child.kill('SIGTERM');
    expect(await app.exit).toBe(0);
  });

  it('finishes an in-flight request before exiting', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const app = await start({ DATABASE_URL: database.url });
    // Hold a lock so the list request is still running when the signal arrives.
    const db = createKnex(database.url, { poolMax: 2 });
    cleanups.push(() => db.destroy());
    const trx = await db.transaction();
    await trx.raw('LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
    const slow = fetch(`${app.base}/api/v1/products`).then((r) => r.status);
    await waitFor(async () => (await db.raw(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%products%'`)).rows.length > 0);
    app.child.kill('SIGTERM');
    await waitFor(async () => app.logs().includes('shutting down'));
    await trx.commit();
    expect(await slow).toBe(200);
    expect(await app.exit).toBe(0);
  });

  it('gives up on a request that outlives SHUTDOWN_TIMEOUT_MS and exits 1', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const app = await start({ DATABASE_URL: database.url, SHUTDOWN_TIMEOUT_MS: '300' });
    const db = createKnex(database.url, { poolMax: 2 });
    cleanups.push(() => db.destroy());
    const trx = await db.transaction();
    cleanups.push(() => trx.rollback().catch(() => {}));
    await trx.raw('LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
    void fetch(`${app.base}/api/v1/products`).catch(() => {});
    await waitFor(async () => (await db.raw(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%products%'`)).rows.length > 0);
    app.child.kill('SIGTERM');
    expect(await app.exit).toBe(1);
    expect(app.logs()).toContain('shutdown took too long');
  });
});

describe('health endpoints', () => {
  it('/healthz answers while the process lives; /readyz is 503 while the database does not answer', async () => {
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
    const port = await findFreePort(); // nothing listens there
    const app = await buildApp({ config, logger: createLogger(config), databaseUrl: `postgres://nobody:x@127.0.0.1:${port}/none` });
    try {
      expect((await app.http.inject({ url: '/healthz' })).statusCode).toBe(200);
      const ready = await app.http.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ code: 'SERVICE_UNAVAILABLE', message: 'Database is not answering' });
    } finally {
      await app.close();
    }
  });
});
