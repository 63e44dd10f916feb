import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopology, type ManagedProcess, type Topology } from '../../server/cli/topology/topology.ts';
import { loadConfig } from '../../server/config.ts';
import { createKnex } from '../../server/db/knex.ts';
import { createLogger } from '../../server/logger.ts';
import { SessionService } from '../../server/modules/auth/session.service.ts';
import { makeUser } from '../helpers/factories.ts';
import { waitFor } from '../helpers/jobs.ts';
import { mailFiles, parseMail } from '../helpers/mail.ts';
import { createEmptyDatabase } from '../helpers/test-app.ts';

/**
 * The production topology (`npm run topology`: migrate once, 2 servers, 2 workers, a
 * round-robin proxy) under a modest, bounded load of sign-ups, product writes and
 * report requests, while one worker is SIGKILLed and restarted and one server is
 * SIGTERMed (with requests in flight on it) and restarted. Then nothing may be lost,
 * duplicated or answered 5xx. Run by `npm run test:topology` (CI, after `npm test`).
 */
const LOAD_MS = Number(process.env.TOPOLOGY_LOAD_SECONDS ?? 30) * 1000;
const RECOVER_AFTER_MS = 2_000;

type Outcome = { status: number; upstream: string | null; body: any } | { status: 'closed'; error: string };

/** A request through `base`: its status (and body), or 'closed' when the connection dropped without an answer. */
async function call(base: string, method: string, url: string, body?: unknown, token?: string, extra: Record<string, string> = {}): Promise<Outcome> {
  try {
    const res = await fetch(`${base}/api/v1${url}`, {
      method,
      headers: { ...extra, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, upstream: res.headers.get('x-upstream'), body: parsed };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { status: 'closed', error: String(cause?.code ?? cause?.message ?? error) };
  }
}

/**
 * A keep-alive HTTP/1.1 connection of our own, so the test sees what the server does
 * with the connection itself: the raw response text, and when the server closed it.
 */
function rawConnection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  return {
    closed,
    text: () => text,
    send(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
      const payload = body === undefined ? '' : JSON.stringify(body);
      const lines = [`${method} ${url} HTTP/1.1`, 'host: localhost', 'connection: keep-alive', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      if (payload) lines.push('content-type: application/json', `content-length: ${Buffer.byteLength(payload)}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n${payload}`);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const is2xx = (o: Outcome) => typeof o.status === 'number' && o.status >= 200 && o.status < 300;
const is5xx = (o: Outcome) => typeof o.status === 'number' && o.status >= 500;

let topology: Topology;
let db: Knex;
let dataDir: string;
let dropDatabase: () => Promise<void>;
let lock: Knex.Transaction | undefined;

beforeAll(async () => {
  const database = await createEmptyDatabase();
  dropDatabase = database.drop;
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-topology-'));
  const config = loadConfig({ DATABASE_URL: database.url, DATA_DIR: dataDir });
  topology = await startTopology({
    servers: 2,
    workers: 2,
    port: 0,
    // As on separate hosts: each process its own DATA_DIR (reports live in PostgreSQL).
    separateDataDirs: true,
    config,
    logger: createLogger({ logLevel: 'warn' }),
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DB_POOL_MAX: '5',
      WORKER_CONCURRENCY: '3',
      WORKER_POLL_INTERVAL_MS: '200',
      WORKER_RECOVER_AFTER_MS: String(RECOVER_AFTER_MS),
      SHUTDOWN_TIMEOUT_MS: '15000',
      // One client IP sends all the load; the limits are not what this test is about.
      RATE_LIMITS: 'off',
    },
  });
  db = createKnex(database.url, { poolMax: 3 });
});

afterAll(async () => {
  if (lock && !lock.isCompleted()) await lock.rollback();
  topology?.kill();
  await topology?.stop();
  await db?.destroy();
  await dropDatabase?.();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

/** The `mail …` log lines of every worker process (killed ones included): one per message handed to the transport. */
function mailSends(workers: ManagedProcess[]): Map<string, number> {
  const sends = new Map<string, number>();
  for (const w of workers) for (const l of w.lines) if (l.mail?.messageId) sends.set(l.mail.messageId, (sends.get(l.mail.messageId) ?? 0) + 1);
  return sends;
}

describe('the topology under load, with a worker killed and a server terminated', () => {
  it('loses no committed write, sends every mail once, and never answers 5xx', async () => {
    const base = topology.proxy.url;
    const sessions = new SessionService({ db });
    const admin = await makeUser(db, { roles: ['admin'] });
    const adminToken = (await sessions.create(admin.id)).token;
    const reporters = await Promise.all([0, 1, 2].map((i) => makeUser(db, { email: `reporter-${i}-${process.pid}@example.com` })));
    const reporterTokens = await Promise.all(reporters.map(async (u) => (await sessions.create(u.id)).token));

    const signUps: { email: string; outcome: Outcome }[] = [];
    const creates: { name: string; price: string; outcome: Outcome }[] = [];
    const updates: { id: string; price: string; at: number; outcome: Outcome }[] = [];
    const reportRequests: Outcome[] = [];
    const reads: Outcome[] = [];
    const direct: Outcome[] = [];
    const started = Date.now();
    const until = started + LOAD_MS;
    let seq = 0;
    const pid = process.pid;

    const signUpLoop = async () => {
      while (Date.now() < until) {
        const email = `signup-${pid}-${++seq}@example.com`;
        signUps.push({ email, outcome: await call(base, 'POST', '/auth/sign-up', { email, name: `Sign-up ${seq}`, password: 'a long enough password' }) });
        await sleep(150);
      }
    };
    const productLoop = async () => {
      while (Date.now() < until) {
        const name = `Product ${pid}-${++seq}`;
        const price = `${(seq % 500) + 1}.${String(seq % 100).padStart(2, '0')}`;
        const outcome = await call(base, 'POST', '/products', { name, price }, adminToken);
        creates.push({ name, price, outcome });
        if (outcome.status === 201) {
          const id = (outcome as { body: { id: string } }).body.id;
          for (const cents of ['10', '20']) {
            const newPrice = `${(seq % 300) + 2}.${cents}`;
            const at = updates.length;
            updates.push({ id, price: newPrice, at, outcome: await call(base, 'PATCH', `/products/${id}`, { price: newPrice }, adminToken) });
          }
        }
        reads.push(await call(base, 'GET', `/products?search=${encodeURIComponent('Product')}&size=50`));
        await sleep(100);
      }
    };
    const reportLoop = async () => {
      let i = 0;
      while (Date.now() < until) {
        reportRequests.push(await call(base, 'POST', '/reports', { kind: 'product-catalog' }, reporterTokens[i++ % reporterTokens.length]));
        await sleep(1_200);
      }
    };

    const [worker1, worker2] = topology.workers;
    const timings = { serverDrainMs: 0, idleKeepAliveClosedMs: 0, workerStopMs: 0 };
    let interrupted: { id: string; task: string }[] = [];
    const [server1] = topology.servers;
    const faults = (async () => {
      await sleep(LOAD_MS * 0.2);
      // Kill it while it holds a job (its pool's id is its heartbeat row's, by pid).
      const pool = await waitFor(async () => ((await db('worker_heartbeats').where({ pid: worker1!.child.pid }).first()) as { poolId: string } | undefined)?.poolId, 'worker-1 to beat');
      interrupted = await waitFor(async () => {
        const { rows } = await db.raw<{ rows: { id: string; task: string }[] }>('SELECT id::text, task_identifier AS task FROM graphile_worker.jobs WHERE locked_by = ?', [pool]);
        return rows.length ? rows : undefined;
      }, 'worker-1 to hold a job', 15_000).catch(() => []);
      worker1!.kill('SIGKILL');
      const killed = await worker1!.exited;
      expect(killed.signal).toBe('SIGKILL');
      await sleep(LOAD_MS * 0.1);
      await worker1!.restart();

      await sleep(LOAD_MS * 0.15);
      // Requests in flight on the server at the moment it is told to stop: sign-ups
      // (Argon2 makes each one take a while) and reads (held by a lock), sent to it directly.
      const serverUrl = `http://127.0.0.1:${server1!.port}`;
      // Signal only once the server has read every one of them (Fastify logs each
      // "incoming request"), so all of them are truly in flight, not still connecting.
      // (Their URLs are ones the load through the proxy never uses: a trailing slash on
      // the sign-ups, size=100 and size=5 on the reads.)
      const ours = /^\/api\/v1\/(auth\/sign-up\/|products\?size=(100|5)$)/;
      const seen = () => server1!.lines.filter((l) => l.msg === 'incoming request' && l.generation === 1 && ours.test(l.req?.url ?? '')).length;
      // An idle keep-alive connection (one answered request), and one whose request the
      // test holds in flight: `products` is locked, so its read waits until we let go.
      const idle = rawConnection(server1!.port!);
      idle.send('GET', '/healthz');
      await waitFor(() => idle.text().includes('"status":"ok"'), 'the idle connection’s first answer');
      lock = await db.transaction();
      await lock!.raw('LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
      const busy = rawConnection(server1!.port!);
      busy.send('GET', '/api/v1/products?size=5', undefined, { 'x-request-id': `in-flight-${pid}-held` });
      const inFlight = [
        ...Array.from({ length: 4 }, (_, i) => {
          const email = `signup-${pid}-direct-${i}@example.com`;
          return call(serverUrl, 'POST', '/auth/sign-up/', { email, name: `Direct ${i}`, password: 'a long enough password' }, undefined, { 'x-request-id': `in-flight-${pid}-s${i}` }).then((outcome) => {
            signUps.push({ email, outcome });
            return outcome;
          });
        }),
        ...Array.from({ length: 6 }, (_, i) => call(serverUrl, 'GET', '/products?size=100', undefined, undefined, { 'x-request-id': `in-flight-${pid}-r${i}` })),
      ];
      // (see above) wait for the server to have them all
      await waitFor(() => seen() >= inFlight.length + 1 || undefined, 'the server to receive the in-flight requests', 10_000);
      const termAt = Date.now();
      server1!.kill('SIGTERM');
      // While a request is still held, the server has closed the idle keep-alive
      // connection and stopped listening, and is still running.
      const idleClosedAt = await idle.closed;
      timings.idleKeepAliveClosedMs = idleClosedAt - termAt;
      expect(server1!.running()).toBe(true);
      await waitFor(async () => (await call(serverUrl, 'GET', '/healthz')).status === 'closed', 'the server to stop accepting connections', 10_000);
      expect(busy.text()).toBe('');
      await lock!.rollback();
      direct.push(...(await Promise.all(inFlight)));
      const stopped = await server1!.exited;
      timings.serverDrainMs = Date.now() - termAt;
      expect(stopped).toEqual({ code: 0, signal: null });
      // The held request got its answer, with `Connection: close`, and then the connection closed.
      await busy.closed;
      const head = busy.text().split('\r\n\r\n')[0]!;
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head.toLowerCase()).toContain('connection: close');
      direct.push({ status: 200, upstream: server1!.name, body: undefined });
      // While it is gone, the proxy sends everything to the other server.
      await sleep(LOAD_MS * 0.1);
      await server1!.restart();

      // A graceful worker stop under load: it finishes what it holds and exits 0.
      await sleep(LOAD_MS * 0.1);
      const workerTermAt = Date.now();
      worker2!.kill('SIGTERM');
      expect(await worker2!.exited).toEqual({ code: 0, signal: null });
      timings.workerStopMs = Date.now() - workerTermAt;
      await worker2!.restart();
    })();

    await Promise.all([signUpLoop(), productLoop(), productLoop(), reportLoop(), faults]);
    const loadSeconds = (Date.now() - started) / 1000;

    // Let the workers finish everything that was committed (the killed worker's jobs
    // come back after WORKER_RECOVER_AFTER_MS).
    await waitFor(async () => {
      const [{ n }] = (await db('graphile_worker._private_jobs').count({ n: '*' })) as [{ n: string }];
      return Number(n) === 0;
    }, 'the job queue to drain', 90_000);

    const all = [...signUps.map((s) => s.outcome), ...creates.map((c) => c.outcome), ...updates.map((u) => u.outcome), ...reportRequests, ...reads];
    // Through the proxy and directly to the stopping server: never a 5xx.
    expect(all.filter(is5xx)).toEqual([]);
    expect(direct.filter(is5xx)).toEqual([]);
    // Requests the stopping server had already read all complete (the drain).
    expect(direct.filter((o) => !is2xx(o))).toEqual([]);

    // Sign-ups: every acknowledged one committed; every committed one has exactly one
    // analytics row and exactly one welcome mail, handed to the mailer once.
    const committed = (await db('users').where('email', 'like', `signup-${pid}-%`).select('id', 'email')) as { id: string; email: string }[];
    const committedEmails = new Set(committed.map((u) => u.email));
    const acknowledged = signUps.filter((s) => s.outcome.status === 202);
    expect(acknowledged.filter((s) => !committedEmails.has(s.email)).map((s) => s.email)).toEqual([]);
    const analytics = (await db('analytics_events').where({ name: 'user.signed_up' }).select('userId')) as { userId: string }[];
    // Each worker wrote the mails it sent into its own DATA_DIR.
    const mails = new Map<string, string>();
    for (const own of await fs.readdir(dataDir)) for (const [file, eml] of await mailFiles(path.join(dataDir, own))) mails.set(`${own}/${file}`, eml);
    const welcomeTo = new Map<string, number>();
    const reportMails = new Set<string>();
    for (const [file, eml] of mails) {
      const name = path.basename(file);
      if (name.startsWith('welcome-')) {
        const to = parseMail(eml).headers.get('to')!;
        welcomeTo.set(to, (welcomeTo.get(to) ?? 0) + 1);
      }
      if (name.startsWith('report-ready-')) reportMails.add(name);
    }
    const sends = mailSends(topology.workers);
    for (const user of committed) {
      expect(analytics.filter((a) => a.userId === user.id), user.email).toHaveLength(1);
      expect(welcomeTo.get(user.email), user.email).toBe(1);
    }
    expect([...sends.entries()].filter(([, n]) => n > 1)).toEqual([]);

    // Reports: every one requested (acknowledged or not) is ready, with one mail.
    const reports = (await db('reports').select('id', 'status', 'attempts')) as { id: string; status: string; attempts: number }[];
    const reportIds = new Set(reports.map((r) => r.id));
    const accepted = reportRequests.filter((o) => o.status === 202).map((o) => (o as { body: { id: string } }).body.id);
    expect(accepted.filter((id) => !reportIds.has(id))).toEqual([]);
    expect(reports.filter((r) => r.status !== 'ready')).toEqual([]);
    for (const r of reports) expect(reportMails.has(`report-ready-${r.id}.eml`), r.id).toBe(true);

    // Products: every 201 is there; every product's price is its last acknowledged
    // update, or a later one whose answer was lost.
    const products = new Map(((await db('products').select('id', 'name', 'price')) as { id: string; name: string; price: string }[]).map((p) => [p.id, p]));
    const names = new Set([...products.values()].map((p) => p.name));
    const createdOk = creates.filter((c) => c.outcome.status === 201);
    expect(createdOk.filter((c) => !names.has(c.name)).map((c) => c.name)).toEqual([]);
    for (const [id, product] of products) {
      const mine = updates.filter((u) => u.id === id);
      const lastOk = mine.filter((u) => is2xx(u.outcome)).at(-1);
      if (!lastOk) continue;
      const allowed = [lastOk.price, ...mine.filter((u) => u.at > lastOk.at && u.outcome.status === 'closed').map((u) => u.price)];
      expect(allowed, id).toContain(product.price);
    }

    const count = (list: Outcome[], pred: (o: Outcome) => boolean) => list.filter(pred).length;
    const closed = (o: Outcome) => o.status === 'closed';
    const summary = {
      loadSeconds: Number(loadSeconds.toFixed(1)),
      requests: all.length,
      signUps: { sent: signUps.length, acknowledged202: acknowledged.length, committed: committed.length, closed: count(signUps.map((s) => s.outcome), closed), welcomeMails: [...welcomeTo.values()].reduce((a, b) => a + b, 0), analyticsRows: analytics.length },
      products: { created201: createdOk.length, updates200: count(updates.map((u) => u.outcome), is2xx), closed: count([...creates, ...updates].map((c) => c.outcome), closed) },
      reports: { accepted202: accepted.length, inDatabase: reports.length, ready: reports.filter((r) => r.status === 'ready').length, retried: reports.filter((r) => r.attempts > 1).length, mails: reportMails.size },
      terminatedServerInFlight: { sent: direct.length, completed2xx: count(direct, is2xx), closed: count(direct, closed), other4xx: count(direct, (o) => typeof o.status === 'number' && o.status >= 400 && o.status < 500) },
      closedReasons: [...all, ...direct].flatMap((o) => (o.status === 'closed' ? [o.error] : [])),
      status5xx: count(all, is5xx) + count(direct, is5xx),
      shutdown: timings,
      jobsHeldByKilledWorker: interrupted.map((j) => j.task),
      mailSends: sends.size,
    };
    // Not an assertion: the figures for the notes and docs/deployment.md.
    console.info(`topology fault test: ${JSON.stringify(summary, null, 2)}`);
    expect(acknowledged.length).toBeGreaterThan(10);
    expect(accepted.length).toBeGreaterThan(3);
    expect(interrupted.length, 'the SIGKILL hit worker-1 while it held a job').toBeGreaterThan(0);
  }, 120_000);
});
