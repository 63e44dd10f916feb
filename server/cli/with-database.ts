import type { Knex } from 'knex';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { locateDatabase } from '../db/database.ts';
import { createKnex } from '../db/knex.ts';
import { createLogger } from '../logger.ts';

/**
 * Runs a command against the app's database: DATABASE_URL, or the embedded one under
 * DATA_DIR (joined if `npm start` is running on it, started and stopped otherwise).
 * A thrown error prints its message and exits 1.
 */
export async function runWithDatabase(command: (db: Knex, ctx: { config: Config; url: string }) => Promise<void>): Promise<void> {
  let exitCode = 0;
  try {
    const config = loadConfig();
    const logger = createLogger({ logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn' });
    const database = await locateDatabase(config, logger);
    const db = createKnex(database.url, { poolMax: 2, applicationName: 'duality-cli' });
    try {
      await command(db, { config, url: database.url });
    } finally {
      await db.destroy();
      await database.close();
    }
  } catch (error) {
    console.error(error instanceof ConfigError || error instanceof CliError ? error.message : error instanceof Error ? `error: ${error.message}` : error);
    exitCode = 1;
  }
  process.exit(exitCode);
}

/** An error whose message is all the user needs (no stack). */
export class CliError extends Error {
  override name = 'CliError';
}
