import { stopEmbeddedPostgresIfIdle } from '../db/embedded-postgres.ts';
import { createLogger } from '../logger.ts';

/**
 * `tsx server/cli/stop-embedded.ts <dataDir> [application]`: stops the embedded PostgreSQL
 * under dataDir unless a client other than `application` is connected. knexfile.ts runs
 * it as knex's CLI exits, so `npx knex …` leaves no server behind, as `npm run db:*` does.
 */
const [dataDir, application] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: tsx server/cli/stop-embedded.ts <dataDir> [application]');
  process.exit(2);
}
await stopEmbeddedPostgresIfIdle(dataDir, { logger: createLogger({ logLevel: 'warn' }), ...(application ? { ignoreApplication: application } : {}) });
