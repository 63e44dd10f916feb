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
 * is created on first use.
 */
export async function locateDatabase(config: Config, logger: Logger): Promise<DatabaseLocation> {
  if (config.databaseUrl) return { url: config.databaseUrl, close: async () => {} };
  const server = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, logger });
  await createDatabaseIfMissing(server.adminUrl, EMBEDDED_DATABASE);
  return { url: withDatabase(server.adminUrl, EMBEDDED_DATABASE), embedded: server, close: () => server.stop() };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createDatabaseIfMissing(adminUrl: string, name: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    const from = template ? ` TEMPLATE ${client.escapeIdentifier(template)}` : '';
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${from}`).catch((error: { code?: string }) => {
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
