import { watch } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { locateDatabase, withDatabase } from '../../server/db/database.ts';
import { startEmbeddedPostgres } from '../../server/db/embedded-postgres.ts';
import { createLogger } from '../../server/logger.ts';
import { createMailer } from '../../server/modules/notifications/mailer.ts';
import { LocalDiskStorage } from '../../server/storage/local-disk.ts';

/**
 * The embedded database and DATA_DIR on a shared host: nothing in DATA_DIR is readable
 * by other users, the superuser's password never sits in a world-readable file, the app
 * connects as a role that is not a superuser, and running as root never loosens the
 * modes of DATA_DIR's parents.
 */
const logger = createLogger({ logLevel: 'silent' });
const isRoot = os.userInfo().uid === 0;
const dirs: string[] = [];
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});
const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

async function* walk(dir: string): AsyncIterable<string> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    yield full;
    if (entry.isDirectory()) yield* walk(full);
  }
}

describe.skipIf(Boolean(process.env.DATABASE_URL))('DATA_DIR and the embedded PostgreSQL', { timeout: 120_000 }, () => {
  it('no password file in the temp dir during initdb; DATA_DIR private; every file in it unreadable by others', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-modes-'));
    dirs.push(dataDir);
    // A temp dir of this test's own (the machine's /tmp is shared with other processes);
    // 0711 so that, as root, initdb running as postgres can still reach its password file.
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-tmp-'));
    dirs.push(tmp);
    await fs.chmod(tmp, 0o711);
    const created: string[] = [];
    const watcher = watch(tmp, (_event, name) => name && created.push(name));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    let server: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
    try {
      server = await startEmbeddedPostgres({ dataDir, logger });
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      watcher.close();
    }
    stops.push(() => server.stop());
    // embedded-postgres's own initialise() wrote `pg-password-*` there, world-readable.
    expect(created.filter((n) => n.startsWith('pg-password-'))).toEqual([]);
    expect(created.some((n) => n.startsWith('duality-initdb-'))).toBe(true);

    // Mail and report files written by the app land here too.
    const mailer = createMailer({ dir: path.join(dataDir, 'mail'), from: 'Duality <noreply@example.com>', smtpUrl: undefined }, logger);
    await mailer.send({ to: 'someone@example.com', subject: 'Hi', text: 'Hello', html: '<p>Hello</p>', key: 'mode-check' });
    mailer.close();
    await new LocalDiskStorage(path.join(dataDir, 'reports')).put('mode-check.pdf', Buffer.from('%PDF-'));

    const stat = await fs.stat(dataDir);
    if (isRoot) {
      // The postgres OS user may pass through to its cluster (group, execute only), no more.
      expect(stat.mode & 0o777).toBe(0o710);
      const { stdout } = await import('node:child_process').then((cp) => new Promise<{ stdout: string }>((r, j) => cp.execFile('id', ['-g', 'postgres'], (e, stdout) => (e ? j(e) : r({ stdout })))));
      expect(stat.gid).toBe(Number(stdout.trim()));
    } else {
      expect(stat.mode & 0o777).toBe(0o700);
    }
    expect(await mode(path.join(dataDir, 'postgres-credentials.json'))).toBe(0o600);
    expect(await mode(path.join(dataDir, 'postgres.log'))).toBe(0o600);
    expect(await mode(path.join(dataDir, 'postgres'))).toBe(0o700);
    expect(await mode(path.join(dataDir, 'mail'))).toBe(0o700);
    expect(await mode(path.join(dataDir, 'mail', 'mode-check.eml'))).toBe(0o600);
    expect(await mode(path.join(dataDir, 'reports'))).toBe(0o700);
    expect(await mode(path.join(dataDir, 'reports', 'mode-check.pdf'))).toBe(0o600);
    const open: string[] = [];
    for await (const p of walk(dataDir)) if ((await fs.lstat(p)).mode & 0o007) open.push(p);
    expect(open).toEqual([]);
  });

  it('the app connects as a role that is no superuser, owns its database, and takes over one made before it', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-role-'));
    dirs.push(dataDir);
    // A cluster from before the application role: its `app` database and objects belong to the superuser.
    const before = await startEmbeddedPostgres({ dataDir, logger });
    const admin = new pg.Client({ connectionString: before.adminUrl });
    await admin.connect();
    await admin.query('CREATE DATABASE app');
    await admin.end();
    const old = new pg.Client({ connectionString: withDatabase(before.adminUrl, 'app') });
    await old.connect();
    await old.query(`CREATE TYPE mood AS ENUM ('ok'); CREATE TABLE notes (id serial PRIMARY KEY, mood mood); CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
    await old.end();
    await before.stop();
    // ...and a credentials file from before (no application role in it).
    const file = path.join(dataDir, 'postgres-credentials.json');
    const { app: _app, ...superuserOnly } = JSON.parse(await fs.readFile(file, 'utf8'));
    await fs.writeFile(file, JSON.stringify(superuserOnly), { mode: 0o600 });

    const location = await locateDatabase(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), logger);
    stops.push(() => location.close());
    expect(new URL(location.url).username).toBe('duality_app');
    expect(JSON.parse(await fs.readFile(file, 'utf8')).app.user).toBe('duality_app');
    const client = new pg.Client({ connectionString: location.url });
    await client.connect();
    try {
      const role = (await client.query('SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication FROM pg_roles WHERE rolname = current_user')).rows[0];
      expect(role).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: true, rolreplication: false });
      // What a superuser could do from an SQL injection, this role cannot.
      await expect(client.query(`SELECT pg_read_file('/etc/passwd')`)).rejects.toMatchObject({ code: '42501' });
      await expect(client.query(`COPY (SELECT 1) TO PROGRAM 'true'`)).rejects.toMatchObject({ code: '42501' });
      // The old objects were handed over: it can use and alter them.
      await client.query(`INSERT INTO notes (mood) VALUES ('ok')`);
      await client.query('ALTER TABLE notes ADD COLUMN body text');
      await client.query(`ALTER TYPE mood ADD VALUE 'great'`);
      expect((await client.query('SELECT one() AS n')).rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
  });

  it.skipIf(!isRoot)('as root, a parent postgres cannot pass through is reported and left as it was', async () => {
    const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-private-parent-'));
    dirs.push(parent);
    expect(await mode(parent)).toBe(0o700);
    await expect(startEmbeddedPostgres({ dataDir: path.join(parent, 'data'), logger })).rejects.toThrow(
      /cannot enter .*duality-private-parent-.* \(mode 0700\), a parent of DATA_DIR=.*Nothing was changed\. Set DATA_DIR to a directory under a path postgres can pass through/,
    );
    expect(await mode(parent)).toBe(0o700);
  });
});
