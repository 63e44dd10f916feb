/** Pieces the benchmarks share: seeding, child servers, autocannon runs, an idle database. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import autocannon from 'autocannon';
import type { Knex } from 'knex';
import os from 'node:os';
import { createDatabaseIfMissing, dropDatabase, withDatabase } from '../server/db/database.ts';
import { startEmbeddedPostgres } from '../server/db/embedded-postgres.ts';
import { createLogger } from '../server/logger.ts';

const root = path.resolve(import.meta.dirname, '..');
const children: ChildProcess[] = [];

/** A scratch database for one benchmark run, and how to remove it (and the embedded server, if one was started). */
export interface BenchDatabase {
  url: string;
  close(): Promise<void>;
}

/**
 * Creates `duality_bench_<name>_<pid>` on DATABASE_URL's server, or on an embedded
 * PostgreSQL in a temporary directory when DATABASE_URL is unset.
 */
export async function openBenchDatabase(name: string): Promise<BenchDatabase> {
  let tmp: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  const embedded = adminUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: (tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-bench-'))), logger: createLogger({ logLevel: 'warn' }), ephemeral: true });
  adminUrl ??= embedded!.adminUrl;
  const dbName = `duality_bench_${name}_${process.pid}`;
  await createDatabaseIfMissing(adminUrl, dbName);
  return {
    url: withDatabase(adminUrl, dbName),
    async close() {
      await dropDatabase(adminUrl, dbName).catch(() => {});
      await embedded?.stop();
      if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    },
  };
}

/** Inserts `count` products named like `Product <md5> mug` and returns 1,000 random ids. */
export async function seedProducts(db: Knex, count: number): Promise<string[]> {
  await db.raw(
    `INSERT INTO products (name, price, created_at)
     SELECT 'Product ' || md5(i::text) || ' ' || (ARRAY['mug','plate','cup','bowl','vase'])[1 + i % 5],
            ((i % 99999) + 1)::numeric / 100, now() - (i || ' seconds')::interval
     FROM generate_series(1, ?) AS i`,
    [count],
  );
  await db.raw('ANALYZE products');
  return (await db('products').select('id').orderByRaw('random()').limit(1000)).map((r: { id: string }) => r.id);
}

/**
 * Starts `script` (relative to `cwd`, default this checkout) with tsx and resolves with
 * its base URL once it prints `PORT n`. Killed by `stopAll`.
 */
export async function startServer(script: string, env: Record<string, string>, cwd = root): Promise<string> {
  return (await startServerProcess(script, env, cwd)).base;
}

/** Like startServer, with the process id too (for `cpuSeconds`). */
export function startServerProcess(script: string, env: Record<string, string>, cwd = root): Promise<{ base: string; pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ base: `http://127.0.0.1:${m[1]}`, pid: child.pid! });
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/**
 * CPU time (user + system) a process has used so far, from /proc (Linux). CPU per
 * request stays readable on a busy machine, where requests per second do not.
 */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

export async function stopAll(): Promise<void> {
  for (const c of children) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}

export interface Target {
  base: string;
  path: () => string;
  /** Default GET. */
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export async function measure(target: Target, seconds: number, connections = Number(process.env.BENCH_CONNECTIONS ?? 10)) {
  const result = await autocannon({
    url: target.base,
    connections,
    duration: seconds,
    requests: [
      {
        method: target.method ?? 'GET',
        setupRequest: (req) => ({ ...req, path: target.path(), ...(target.headers ? { headers: { ...req.headers, ...target.headers } } : {}), ...(target.body ? { body: target.body } : {}) }),
      },
    ],
  });
  return { rps: result.requests.average, requests: result.requests.total, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

/**
 * Waits until no other session of this database is running a statement, so queries
 * left over from one measurement (a slow list still in PostgreSQL) cannot slow the next.
 */
export async function waitForIdleDatabase(db: Knex, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.raw<{ rows: { busy: number }[] }>(
      `SELECT count(*)::int AS busy FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'`,
    );
    if (rows[0]!.busy === 0 || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A user holding the `admin` role and a bearer token of a fresh session, for benchmarks of protected procedures. */
export async function benchAdminToken(db: Knex): Promise<string> {
  const { SessionService } = await import('../server/modules/auth/session.service.ts');
  const [admin] = await db('users').insert({ email: `bench-${process.pid}@example.com`, name: 'Bench', passwordHash: 'x' }).returning('id');
  const adminRole = await db('roles').where({ name: 'admin' }).first();
  await db('user_roles').insert({ userId: admin.id, roleId: adminRole.id });
  return (await new SessionService({ db }).create(admin.id)).token;
}
