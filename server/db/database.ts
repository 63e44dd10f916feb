import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { startEmbeddedPostgres, type PostgresServer } from './embedded-postgres.ts';

/** Where the app's data lives for this process, and whether it must stop a server on exit. */
export interface DatabaseLocation {
  url: string;
  /** Set when the database is the embedded PostgreSQL (started or attached to). */
  embedded?: PostgresServer;
  close(): Promise<void>;
}

const EMBEDDED_DATABASE = 'app';

/**
 * DATABASE_URL wins; without it, the embedded PostgreSQL under DATA_DIR is started
 * (or joined, when another process of ours already runs it) and its `app` database
 * is created on first use, owned by the application role, which is what the returned
 * URL connects as (the superuser is for set-up only).
 */
export async function locateDatabase(config: Config, logger: Logger): Promise<DatabaseLocation> {
  if (config.databaseUrl) return { url: config.databaseUrl, close: async () => {} };
  const server = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, logger });
  await createDatabaseIfMissing(server.adminUrl, EMBEDDED_DATABASE, { owner: server.appRole });
  await giveToRole(server.adminUrl, EMBEDDED_DATABASE, server.appRole);
  return { url: withDatabase(server.appUrl, EMBEDDED_DATABASE), embedded: server, close: () => server.stop() };
}

/**
 * Makes `role` the owner of database `name` and of everything in it that the connecting
 * (super)user owns: for a database made before the application role existed, so that
 * role can migrate it. Extensions stay with their owner (they are created by whoever has
 * CREATE on the database; pg_trgm is a trusted extension). A no-op once done.
 */
export async function giveToRole(adminUrl: string, name: string, role: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [name]);
    if (!rows[0] || rows[0].owner === role) return;
    await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(name)} OWNER TO ${admin.escapeIdentifier(role)}`);
  } finally {
    await admin.end();
  }
  const inside = new pg.Client({ connectionString: withDatabase(adminUrl, name) });
  await inside.connect();
  try {
    await inside.query(`DO $$
      DECLARE r record; role text := ${inside.escapeLiteral(role)};
      BEGIN
        FOR r IN SELECT nspname FROM pg_namespace WHERE nspowner = current_user::regrole AND nspname !~ '^pg_' AND nspname <> 'information_schema' LOOP
          EXECUTE format('ALTER SCHEMA %I OWNER TO %I', r.nspname, role);
        END LOOP;
        FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relowner = current_user::regrole AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
                   AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i')) LOOP
          EXECUTE format('ALTER %s %s OWNER TO %I', CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.name, role);
        END LOOP;
        FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE p.proowner = current_user::regrole AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') LOOP
          EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.name, role);
        END LOOP;
        FOR r IN SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE t.typowner = current_user::regrole AND t.typtype IN ('e', 'd') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') LOOP
          EXECUTE format('ALTER TYPE %s OWNER TO %I', r.name, role);
        END LOOP;
      END $$`);
  } finally {
    await inside.end();
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createDatabaseIfMissing(adminUrl: string, name: string, opts: string | { template?: string; owner?: string } = {}): Promise<void> {
  const { template, owner } = typeof opts === 'string' ? { template: opts, owner: undefined } : opts;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    const from = template ? ` TEMPLATE ${client.escapeIdentifier(template)}` : '';
    const ownedBy = owner ? ` OWNER ${client.escapeIdentifier(owner)}` : '';
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${from}${ownedBy}`).catch((error: { code?: string }) => {
      if (error.code !== '42P04') throw error; // created meanwhile by a concurrent process
    });
  } finally {
    await client.end();
  }
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Runs `fn` against a new, empty database on the same server as `url` (created from
 * template0, so nothing installed in template1 leaks in), dropped afterwards. The
 * role needs CREATEDB; the embedded PostgreSQL's superuser has it.
 */
export async function withScratchDatabase<T>(url: string, purpose: string, fn: (scratchUrl: string) => Promise<T>): Promise<T> {
  const name = `duality_${purpose}_${randomBytes(5).toString('hex')}`;
  try {
    await createDatabaseIfMissing(url, name, 'template0');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Could not create a scratch database on the server of ${redactUrl(url)}: ${reason}. This command needs a role that may CREATE DATABASE.`, {
      cause: error,
    });
  }
  try {
    return await fn(withDatabase(url, name));
  } finally {
    await dropDatabase(url, name);
  }
}

/** The URL with its password hidden, fit for a log line. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
