import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { loadConfig } from './server/config.ts';
import { locateDatabase } from './server/db/database.ts';
import { knexConfig } from './server/db/knex.ts';
import { knexCliMigrationConfig } from './server/db/migrations.ts';
import { MIGRATION_TEMPLATE } from './server/db/new-migration.ts';
import { createLogger } from './server/logger.ts';

/**
 * For knex's own CLI (`npx knex migrate:latest`, `migrate:status`, `migrate:rollback`,
 * `migrate:make`…): the same database as the app (DATABASE_URL, or the embedded one under
 * DATA_DIR, started if needed), the same migrations, and graphile-worker's schema
 * installed before the first one runs. knex loads it through knexfile.js, which
 * registers the TypeScript loader first. The npm scripts (`npm run db:*`) add the
 * migration lock for concurrent processes and clearer messages.
 */
export default async function knexfile(): Promise<Knex.Config> {
  const config = loadConfig();
  const logger = createLogger({ logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn' });
  const database = await locateDatabase(config, logger);
  const applicationName = `duality-knex-cli-${process.pid}`;
  if (database.embedded) {
    // knex's CLI ends with process.exit(), where nothing asynchronous runs: a child stops the
    // server (unless another process uses it), ignoring this process's still-open pool.
    const stopper = fileURLToPath(new URL('./server/cli/stop-embedded.ts', import.meta.url));
    process.once('exit', () => {
      spawnSync(process.execPath, ['--import', 'tsx', stopper, config.dataDir, applicationName], { stdio: 'inherit', cwd: fileURLToPath(new URL('.', import.meta.url)) });
    });
  }
  return {
    ...knexConfig(database.url, { poolMax: 2, applicationName }),
    // extension and stub only serve `npx knex migrate:make`; `npm run db:make` also snake-cases the name.
    migrations: { ...knexCliMigrationConfig(), extension: 'ts', stub: MIGRATION_TEMPLATE },
  };
}
