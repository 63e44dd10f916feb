import knexFactory, { type Knex } from 'knex';
import { knexSnakeCaseMappers, Model } from 'objection';
import pg from 'pg';
import type { Logger } from 'pino';
import { idleFirst } from './idle-connection.ts';
import { timeQueries } from '../observability/request-timings.ts';

// NUMERIC (oid 1700) stays a string: money never passes through a float.
pg.types.setTypeParser(1700, (value) => value);

/**
 * Builds the knex instance the whole app shares. Columns are snake_case in
 * PostgreSQL and camelCase in code; Objection maps between them.
 */
export function createKnex(url: string, opts: KnexOptions = {}): Knex {
  const db = knexFactory(knexConfig(url, opts));
  idleFirst(db);
  timeQueries(db);
  Model.knex(db);
  return db;
}

export interface KnexOptions {
  poolMax?: number;
  applicationName?: string;
  /** Where knex's own warnings go; without one they become process warnings on stderr. */
  logger?: Logger;
}

const KNEX_MIGRATION_NOTICES = /^(migration file "|migration failed with error|Can't take lock to run migrations|If you are sure migrations are not running)/;

/** The knex configuration behind createKnex; knexfile.ts uses it so `npx knex` behaves the same. */
export function knexConfig(url: string, opts: KnexOptions = {}): Knex.Config {
  const log = opts.logger;
  return {
    client: 'pg',
    connection: { connectionString: url, application_name: opts.applicationName ?? 'duality' },
    pool: { min: 0, max: opts.poolMax ?? 10 },
    ...knexSnakeCaseMappers(),
    // knex otherwise prints pool and deprecation warnings straight to the console.
    log: {
      warn(message: unknown) {
        // knex announces a failed migration and a taken lock itself; server/db/migrations.ts
        // reports both, with the migration's name, the database's details and what to do.
        if (typeof message === 'string' && KNEX_MIGRATION_NOTICES.test(message)) return;
        if (log) log.warn({ knex: message });
        else process.emitWarning(String(message), 'KnexWarning');
      },
      ...(log
        ? { error: (m: unknown) => log.error({ knex: m }), debug: (m: unknown) => log.debug({ knex: m }), deprecate: (m: unknown) => log.warn({ knex: m }) }
        : {}),
    },
  };
}

export type { Knex };
