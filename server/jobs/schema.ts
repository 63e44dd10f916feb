import type { Knex } from 'knex';
import { runMigrations } from 'graphile-worker';
import pino, { type Logger } from 'pino';
import { toGraphileLogger } from './graphile-logger.ts';

/**
 * Installs or upgrades graphile-worker's own schema (`graphile_worker`) in the
 * database `db` points at. Every transaction that publishes an event or adds a job
 * calls `graphile_worker.add_job`, so the schema must exist before the first request,
 * not only once a worker has started. Idempotent and safe to run from several
 * processes at once; `migrateToLatest` runs it before our own migrations.
 */
export async function installJobQueueSchema(db: Knex, logger?: Logger): Promise<void> {
  await runMigrations({
    connectionString: connectionStringOf(db),
    maxPoolSize: 2,
    // Its progress lines are noise next to our own migration log; warnings still show.
    logger: toGraphileLogger(logger ?? pino({ level: 'warn' })),
  });
}

/** The URL a knex instance built by `createKnex` connects with. */
export function connectionStringOf(db: Knex): string {
  const connection = (db.client as { config: { connection?: { connectionString?: string } } }).config.connection;
  if (!connection?.connectionString) throw new Error('This knex instance was not built by createKnex (no connectionString)');
  return connection.connectionString;
}
