import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { locateDatabase, redactUrl, type DatabaseLocation } from '../../db/database.ts';
import { findFreePort } from '../../db/embedded-postgres.ts';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface TopologyOptions {
  servers: number;
  workers: number;
  /** The proxy's port (0: a free one). Servers get free ports of their own. */
  port: number;
  /** Give every process its own DATA_DIR (`<DATA_DIR>/<name>`) instead of sharing one. */
  separateDataDirs: boolean;
  /** Extra environment for every process (on top of this process's environment). */
  env?: Record<string, string>;
  /** Each child's log line as it arrives (the CLI prints them; tests collect them). */
  onLine?: (proc: ManagedProcess, line: string) => void;
  config: Config;
  logger: Logger;
}

/** One `server/main.ts <role>` child, which the topology (or a test) can stop and start again. */
export interface ManagedProcess {
  name: string;
  role: 'serve' | 'worker';
  /** Serve only: the port it listens on (kept across restarts). */
  port?: number;
  dataDir: string;
  child: ChildProcess;
  /** Every line it printed, across restarts (JSON log lines parsed). */
  lines: Record<string, any>[];
  /** Settles when the current child exits: its exit code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Resolves once the process is ready (serve: /readyz answers 200; worker: it logged "worker running"). */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends a signal to the current child. */
  kill(signal: NodeJS.Signals): void;
  /** Starts a new child with the same settings (after the previous one exited). */
  restart(): Promise<void>;
}

export interface Topology {
  databaseUrl: string;
  proxy: RoundRobinProxy;
  servers: ManagedProcess[];
  workers: ManagedProcess[];
  /** SIGTERM to every process, waits for them, then closes the proxy and (if we started it) the database. */
  stop(): Promise<void>;
  /** SIGKILL to every process (a second Ctrl-C). */
  kill(): void;
}

const nodeArgs = ['--import', 'tsx', 'server/main.ts'];

/**
 * The production topology as plain processes: one PostgreSQL (DATABASE_URL's, or the
 * embedded one run as a standalone server for all of them), `migrate` once, then
 * `servers` × `serve` and `workers` × `worker` on their own ports with
 * MIGRATE_ON_START=false, and a round-robin proxy in front of the servers.
 */
export async function startTopology(opts: TopologyOptions): Promise<Topology> {
  const database = await locateDatabase(opts.config, opts.logger);
  const started: ManagedProcess[] = [];
  let proxy: RoundRobinProxy | undefined;
  try {
    const dataDir = opts.config.dataDir;
    const proxyPort = opts.port || (await findFreePort());
    const publicUrl = `http://localhost:${proxyPort}`;
    const baseEnv: Record<string, string> = {
      ...opts.env,
      DATABASE_URL: database.url,
      MIGRATE_ON_START: 'false',
      PUBLIC_URL: publicUrl,
      HOST: '127.0.0.1',
    };

    const migrate = await runToEnd([...nodeArgs, 'migrate'], { ...baseEnv, DATA_DIR: dataDir });
    if (migrate.code !== 0) throw new Error(`migrate exited ${migrate.code}:\n${migrate.output}`);

    const make = async (role: 'serve' | 'worker', index: number): Promise<ManagedProcess> => {
      const name = `${role}-${index}`;
      const ownDir = opts.separateDataDirs ? path.join(dataDir, name) : dataDir;
      await fs.mkdir(ownDir, { recursive: true });
      const port = role === 'serve' ? await findFreePort() : undefined;
      const env = { ...baseEnv, DATA_DIR: ownDir, ...(port ? { PORT: String(port), TRUST_PROXY: '127.0.0.1' } : {}) };
      const proc = managedProcess({ name, role, dataDir: ownDir, env, ...(port ? { port } : {}), ...(opts.onLine ? { onLine: opts.onLine } : {}) });
      started.push(proc);
      return proc;
    };
    const servers = await Promise.all(Array.from({ length: opts.servers }, (_, i) => make('serve', i + 1)));
    const workers = await Promise.all(Array.from({ length: opts.workers }, (_, i) => make('worker', i + 1)));
    await Promise.all([...servers, ...workers].map((p) => p.ready()));

    proxy = await startRoundRobinProxy({ port: proxyPort, upstreams: () => servers.map((s) => ({ name: s.name, port: s.port! })) });

    let stopping: Promise<void> | undefined;
    const topology: Topology = {
      databaseUrl: database.url,
      proxy,
      servers,
      workers,
      stop() {
        stopping ??= (async () => {
          await Promise.all(started.map(async (p) => {
            if (p.running()) p.kill('SIGTERM');
            await p.exited;
          }));
          await proxy!.close();
          await database.close();
        })();
        return stopping;
      },
      kill() {
        for (const p of started) if (p.running()) p.kill('SIGKILL');
      },
    };
    return topology;
  } catch (error) {
    for (const p of started) if (p.running()) p.kill('SIGKILL');
    await Promise.all(started.map((p) => p.exited));
    await proxy?.close();
    await database.close();
    throw error;
  }
}

/** Where each part of a running topology is, for people. */
export function describeTopology(t: Topology, database: Pick<DatabaseLocation, 'url'> = { url: t.databaseUrl }): string {
  const lines = [
    `proxy     ${t.proxy.url}  (API ${t.proxy.url}/api/v1 · docs ${t.proxy.url}/docs) → ${t.servers.map((s) => s.name).join(', ')}`,
    ...t.servers.map((s) => `${s.name.padEnd(9)} http://localhost:${s.port}  pid ${s.child.pid}  DATA_DIR ${s.dataDir}`),
    ...t.workers.map((w) => `${w.name.padEnd(9)} pid ${w.child.pid}  DATA_DIR ${w.dataDir}`),
    `database  ${redactUrl(database.url)}`,
    `mail      ${[...new Set([...t.servers, ...t.workers].map((p) => path.join(p.dataDir, 'mail')))].join(', ')} (.eml files; or SMTP_URL)`,
  ];
  return lines.join('\n');
}

function managedProcess(opts: {
  name: string;
  role: 'serve' | 'worker';
  port?: number;
  dataDir: string;
  env: Record<string, string>;
  onLine?: (proc: ManagedProcess, line: string) => void;
}): ManagedProcess {
  const events = new EventEmitter();
  const lines: Record<string, any>[] = [];
  let child!: ChildProcess;
  let exited!: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let alive = false;
  let generation = 0;

  const spawnChild = () => {
    generation++;
    const mine = generation;
    child = spawn(process.execPath, [...nodeArgs, opts.role], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches only the topology, which then
      // sends each process exactly one SIGTERM (a second signal would mean "exit now").
      detached: true,
    });
    alive = true;
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        let parsed: Record<string, any>;
        try {
          parsed = JSON.parse(line) as Record<string, any>;
        } catch {
          parsed = { msg: line };
        }
        lines.push({ ...parsed, generation: mine });
        opts.onLine?.(proc, line);
        events.emit('line');
      });
    }
    exited = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        alive = false;
        events.emit('line');
        resolve({ code, signal });
      }),
    );
  };

  const proc: ManagedProcess = {
    name: opts.name,
    role: opts.role,
    ...(opts.port ? { port: opts.port } : {}),
    dataDir: opts.dataDir,
    get child() {
      return child;
    },
    lines,
    get exited() {
      return exited;
    },
    running: () => alive,
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      const mine = generation;
      while (Date.now() < deadline) {
        if (!alive) throw new Error(`${opts.name} exited before it was ready:\n${lines.filter((l) => l.generation === mine).map((l) => l.msg).join('\n')}`);
        if (opts.role === 'worker') {
          if (lines.some((l) => l.generation === mine && typeof l.msg === 'string' && l.msg.startsWith('worker running'))) return;
          await new Promise<void>((resolve) => {
            const done = () => {
              events.off('line', done);
              clearTimeout(timer);
              resolve();
            };
            const timer = setTimeout(done, 200);
            events.once('line', done);
          });
        } else {
          const ok = await fetch(`http://127.0.0.1:${opts.port}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
          if (ok) return;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error(`${opts.name} was not ready within ${timeoutMs} ms`);
    },
    kill(signal) {
      if (alive) child.kill(signal);
    },
    async restart() {
      if (alive) throw new Error(`${opts.name} is still running`);
      spawnChild();
      await proc.ready();
    },
  };
  spawnChild();
  return proc;
}

function runToEnd(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
