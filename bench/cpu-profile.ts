/**
 * `npm run bench:profile`: where the app's CPU goes per request, by layer. Runs the app
 * (bench/app-server.ts) under `node --cpu-prof`, loads one scenario with autocannon,
 * stops the app so V8 writes the profile, and sums each sample's self time by the
 * package (or the app folder, or Node's core) its function comes from, in µs of
 * main-thread time per request. The profile file is kept for a closer look
 * (Chrome DevTools, or speedscope).
 *
 * BENCH_APP_DIR profiles another checkout's app (with its node_modules) on the same load.
 *
 * BENCH_SCENARIO: rest-get (default), trpc-get, list, cursor (a products.list page by the
 * cursor that ends page 500), create. BENCH_SECONDS (default 10),
 * BENCH_CONNECTIONS (default 32), BENCH_PRODUCTS (default 100,000).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { benchAdminToken, measure, openBenchDatabase, seedProducts, type Target } from './harness.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 100_000);
const SCENARIO = process.env.BENCH_SCENARIO ?? 'rest-get';
const root = path.resolve(import.meta.dirname, '..');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The layer a function belongs to: an npm package, a folder of this app, or a part of Node. */
export function layerOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) {
    const mod = url.slice('node:'.length).replace(/^internal\//, '').split('/')[0]!.replace(/\.js$/, '').replace(/^_/, '');
    return `node:${mod}`;
  }
  const local = url.replace(/^file:\/\//, '');
  // This checkout's files, or another's (BENCH_APP_DIR): by folder under server/ (or bench/).
  const app = /\/((?:server|bench)\/[^/]+)/.exec(local);
  if (app) return `app:${app[1]!.replace(/\.ts$/, '')}`;
  return url;
}

/**
 * µs of self time per layer, over the samples taken between `from` and `to` (µs on the
 * monotonic clock V8 and `process.hrtime` share on Linux; default: the whole profile).
 */
export function selfTimeByLayer(profile: Profile, from = -Infinity, to = Infinity): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) continue;
    const node = byId.get(profile.samples[i]!)!;
    const layer = layerOf(node.callFrame);
    totals.set(layer, (totals.get(layer) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return totals;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename);
if (isMain) {
  const database = await openBenchDatabase('profile');
  const db = createKnex(database.url, { poolMax: 2 });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-profile-'));
  try {
    await migrateToLatest(db);
    const ids = await seedProducts(db, PRODUCTS);
    const token = await benchAdminToken(db);
    await db.destroy();
    let cursor = '';
    const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
    const targets: Record<string, Omit<Target, 'base'>> = {
      'rest-get': { path: () => `/api/v1/products/${pick()}` },
      'trpc-get': { path: () => `/trpc/products.get?input=${encodeURIComponent(JSON.stringify({ json: { id: pick() } }))}` },
      list: { path: () => `/api/v1/products?page=${1 + Math.floor(Math.random() * 5)}&size=20` },
      cursor: { path: () => `/api/v1/products?size=20&cursor=${cursor}` },
      create: { method: 'POST', path: () => '/api/v1/products', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ name: 'Bench cup', price: '7.50' }) },
    };
    const target = targets[SCENARIO];
    if (!target) throw new Error(`BENCH_SCENARIO must be one of ${Object.keys(targets).join(', ')}`);

    const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--import', 'tsx', 'bench/app-server.ts'], {
      cwd: process.env.BENCH_APP_DIR ? path.resolve(process.env.BENCH_APP_DIR) : root,
      env: { ...process.env, BENCH_DATABASE_URL: database.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /PORT (\d+)/.exec(out);
        if (m) resolve(`http://127.0.0.1:${m[1]}`);
      });
      child.on('exit', (code) => reject(new Error(`app exited with ${code}`)));
    });
    // The app's own cursor (whatever its format) at the deepest page number's end.
    if (SCENARIO === 'cursor') cursor = encodeURIComponent(((await (await fetch(`${base}/api/v1/products?size=20&page=500`)).json()) as { nextCursor: string }).nextCursor);
    await measure({ base, ...target }, 5, CONNECTIONS); // warm-up: JIT, pools (outside the window counted)
    const from = Number(process.hrtime.bigint() / 1000n);
    const run = await measure({ base, ...target }, SECONDS, CONNECTIONS);
    const to = Number(process.hrtime.bigint() / 1000n);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
    const file = (await fs.readdir(dir)).find((f) => f.endsWith('.cpuprofile'))!;
    const profile = JSON.parse(await fs.readFile(path.join(dir, file), 'utf8')) as Profile;
    const totals = selfTimeByLayer(profile, from, to);
    totals.delete('(idle)');
    const requests = run.requests;
    const sum = [...totals.values()].reduce((a, b) => a + b, 0);
    const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([layer, us]) => ({ layer, 'µs/req': Math.round((us / requests) * 10) / 10, share: `${((us / sum) * 100).toFixed(1)} %` }));
    console.log(`${SCENARIO}: ${requests} requests, ${Math.round(run.rps)} req/s, main-thread CPU ${Math.round(sum / requests)} µs/req (profiler overhead included; the machine may be shared)`);
    console.table(rows);
    const kept = path.join(os.tmpdir(), `duality-${SCENARIO}-${Date.now()}.cpuprofile`);
    await fs.copyFile(path.join(dir, file), kept);
    console.log(`profile: ${kept}`);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    await database.close();
  }
}
