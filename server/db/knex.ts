import knexFactory, { type Knex } from 'knex';
import { knexSnakeCaseMappers, Model } from 'objection';
import pg from 'pg';
import type { Logger } from 'pino';

// NUMERIC (oid 1700) stays a string: money never passes through a float.
pg.types.setTypeParser(1700, (value) => value);

/**
 * Builds the knex instance the whole app shares. Columns are snake_case in
 * PostgreSQL and camelCase in code; Objection maps between them.
 */
export function createKnex(url: string, opts: { poolMax?: number; applicationName?: string; logger?: Logger } = {}): Knex {
  const log = opts.logger;
  const db = knexFactory({
    client: 'pg',
    connection: { connectionString: url, application_name: opts.applicationName ?? 'duality' },
    pool: { min: 0, max: opts.poolMax ?? 10 },
    ...knexSnakeCaseMappers(),
    // knex otherwise prints pool and deprecation warnings straight to the console.
    ...(log ? { log: { warn: (m: unknown) => log.warn({ knex: m }), error: (m: unknown) => log.error({ knex: m }), debug: (m: unknown) => log.debug({ knex: m }), deprecate: (m: unknown) => log.warn({ knex: m }) } } : {}),
  });
  Model.knex(db);
  return db;
}

export type { Knex };
