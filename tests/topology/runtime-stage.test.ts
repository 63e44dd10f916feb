import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../server/db/embedded-postgres.ts';
import { waitFor } from '../helpers/jobs.ts';
import { ROOT } from '../helpers/processes.ts';
import { createEmptyDatabase } from '../helpers/test-app.ts';

/**
 * The Dockerfile's final stage, without Docker: a directory holding exactly what its
 * COPY lines bring in, `node_modules` from `npm ci --omit=dev` (as the prod-deps stage
 * does), and the image's ENTRYPOINT run with `migrate`, `serve` and `worker`, plus its
 * HEALTHCHECK script. A dev dependency the image's code needs would fail here.
 */
const run = promisify(execFile);
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(runtimeStage)![1]!) as string[];
const healthcheck = JSON.parse(/^HEALTHCHECK .*CMD (\[.*\])$/m.exec(runtimeStage)![1]!) as string[];

let dir: string;
let dataDir: string;
let databaseUrl: string;
let drop: () => Promise<void>;
const children: ReturnType<typeof spawn>[] = [];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-image-'));
  dataDir = path.join(dir, 'data');
  await fs.mkdir(dataDir);
  for (const line of runtimeStage.split('\n')) {
    const m = /^COPY (?!--from)(.+)$/.exec(line.trim());
    if (!m) continue;
    const parts = m[1]!.split(/\s+/);
    const target = parts.pop()!;
    for (const source of parts) {
      const to = target.endsWith('/') || parts.length > 1 ? path.join(dir, target, path.basename(source)) : path.join(dir, target);
      await fs.cp(path.join(ROOT, source), to, { recursive: true });
    }
  }
  // The prod-deps stage. --prefer-offline: the packages are in npm's cache after the project's own `npm ci`.
  await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
  const database = await createEmptyDatabase();
  databaseUrl = database.url;
  drop = database.drop;
}, 300_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await drop?.();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function image(args: string[], env: Record<string, string>) {
  const { DATABASE_URL: _ignored, ...rest } = process.env;
  const child = spawn(args[0]!, args.slice(1), {
    cwd: dir,
    env: { ...rest, NODE_ENV: 'production', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', DATABASE_URL: databaseUrl, MIGRATE_ON_START: 'false', ...env },
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('the image’s final stage, assembled from the Dockerfile without Docker', () => {
  it('has no dev-only package installed (those the lockfile marks "dev")', async () => {
    const lock = JSON.parse(await fs.readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([p, meta]) => p.startsWith('node_modules/') && meta.dev).map(([p]) => p);
    expect(devOnly).toContain('node_modules/vitest');
    const present = [];
    for (const p of devOnly) if (await fs.stat(path.join(dir, p)).then(() => true, () => false)) present.push(p);
    expect(present).toEqual([]);
    expect(await fs.stat(path.join(dir, 'node_modules/tsx')).then(() => true, () => false)).toBe(true);
  });

  it('migrate, then serve answers /readyz (its HEALTHCHECK passes), then worker beats (its health check passes)', async () => {
    const migrate = image([...entrypoint, 'migrate'], {});
    expect(await migrate.exited, migrate.output()).toBe(0);
    expect(migrate.output()).toContain('applied migrations');

    const port = await findFreePort();
    const serve = image([...entrypoint, 'serve'], { PORT: String(port) });
    await waitFor(() => serve.output().includes('listening:') || serve.child.exitCode !== null, 'serve to listen', 60_000);
    expect(serve.child.exitCode, serve.output()).toBeNull();
    const health = image(healthcheck, { PORT: String(port) });
    expect(await health.exited, health.output()).toBe(0);

    const signUp = await fetch(`http://127.0.0.1:${port}/api/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `image-${process.pid}@example.com`, name: 'Image', password: 'a long enough password' }),
    });
    expect(signUp.status).toBe(202);

    const worker = image([...entrypoint, 'worker'], { WORKER_POLL_INTERVAL_MS: '100' });
    await waitFor(() => worker.output().includes('worker running') || worker.child.exitCode !== null, 'the worker to start', 60_000);
    expect(worker.child.exitCode, worker.output()).toBeNull();
    const workerHealth = image([...healthcheck, 'worker'], {});
    expect(await workerHealth.exited, workerHealth.output()).toBe(0);
    // The welcome mail of the sign-up, sent by the image's worker.
    await waitFor(async () => (await fs.readdir(path.join(dataDir, 'mail')).catch(() => [] as string[])).some((f) => f.startsWith('welcome-')), 'the welcome mail', 30_000);

    serve.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    expect(await worker.exited).toBe(0);
    // Stopped: the health checks now fail.
    const after = image(healthcheck, { PORT: String(port) });
    expect(await after.exited).toBe(1);
  }, 180_000);
});
