import knexFactory, { type Knex } from 'knex';
import { knexSnakeCaseMappers, Model } from 'objection';
import pg from 'pg';

// NUMERIC (oid 1700) stays a string: money never passes through a float.
pg.types.setTypeParser(1700, (value) => value);

/**
 * Builds the knex instance the whole app shares. Columns are snake_case in
 * PostgreSQL and camelCase in code; Objection maps between them.
 */
export function createKnex(url: string, opts: { poolMax?: number; applicationName?: string } = {}): Knex {
  const db = knexFactory({
    client: 'pg',
    connection: { connectionString: url, application_name: opts.applicationName ?? 'duality' },
    pool: { min: 0, max: opts.poolMax ?? 10 },
    ...knexSnakeCaseMappers(),
  });
  Model.knex(db);
  return db;
}

export type { Knex };
