import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { IdempotencyStore } from './db/idempotency-store.ts';
import { createKnex } from './db/knex.ts';
import { TransactionScope } from './db/request-transaction.ts';
import { EventBus, type EnvelopeOf } from './events/bus.ts';
import type { EventName } from './events/catalog.ts';
import type { PlainRoute } from './http/plain-route.ts';
import { buildHttpServer } from './http/server.ts';
import { AfterResponseRunner } from './jobs/after-response.ts';
import { idempotencyCleanupTask } from './jobs/idempotency-cleanup.ts';
import { JobQueue } from './jobs/queue.ts';
import { readQueueStats } from './jobs/queue-stats.ts';
import { registerPoolMetrics, registerQueueMetrics, type PoolLike } from './observability/metrics.ts';
import { WorkerRecovery } from './jobs/recovery.ts';
import { startWorker, type WorkerHandle } from './jobs/worker.ts';
import { RateLimiter } from './lib/rate-limiter.ts';
import { Live } from './live/live.ts';
import { livePruneTask } from './live/prune-task.ts';
import {
  buildRootRouter,
  buildServices,
  eventCatalog,
  moduleParts,
  permissionCatalog,
  type AllEvents,
  type AllServices,
  type RootRouter,
  type UnmetNeeds,
} from './lib/module.ts';
import type { Permission } from './trpc/access.ts';
import { createContextFactory, type CreateContext, type PipelineDeps } from './trpc/context.ts';
import { requestAuthenticator } from './modules/auth/auth.request.ts';
import { modules } from './modules/index.ts';
import type { Mailer } from './modules/notifications/mailer.ts';
import type { ReportStorage } from './modules/reports/report.storage.ts';
import { createStorage } from './storage/from-config.ts';
import type { FileStorage } from './storage/storage.ts';

type Modules = typeof modules;

/** The app's event catalog: every module's events (server/modules/index.ts). */
export type AppEvents = AllEvents<Modules>;

/** A known event name of the app, e.g. `'user.created'`. */
export type AppEventName = EventName<AppEvents>;

/** What a subscriber of the app's event `N` receives. */
export type AppEventEnvelope<N extends AppEventName> = EnvelopeOf<AppEvents, N>;

/** Every service of every module, by name (what `app.services` holds). */
export type Services = AllServices<Modules>;

/** The root router (each module's under its name); the typed client is built from its type. */
export type AppRouter = RootRouter<Modules>;

/** Parts tests replace: a store that fails on demand, a mailer that counts. */
export interface AppOverrides {
  /**
   * Where report files go; default: what STORAGE_URL names (PostgreSQL when unset). A
   * function receives that configured storage, to wrap it.
   */
  reportStorage?: ReportStorage | ((configured: ReportStorage) => ReportStorage);
  /** Default: SMTP when SMTP_URL is set, otherwise .eml files under DATA_DIR/mail. */
  mailer?: Mailer;
}

/** What every module's services, router and tasks may take besides other modules' services. */
export interface Platform {
  config: Config;
  logger: Logger;
  db: Knex;
  /** Domain events: publish inside a transaction. */
  events: EventBus<AppEvents>;
  /** Background jobs: `jobs.add(trx, job, payload)`. */
  jobs: JobQueue;
  /** Every permission of every module. */
  permissions: readonly Permission[];
  /** Where files live (STORAGE_URL: PostgreSQL by default, S3, or a local directory). */
  storage: FileStorage;
  /** Rate limits, counted in PostgreSQL so every process shares them (RATE_LIMITS=off: none). */
  limiter: RateLimiter;
  /** Live change events (docs/live.md): `live.publish(trx, topic, data)` in a service, `live.stream(...)` for a subscription. */
  live: Live;
  overrides: AppOverrides;
}

// Compile-time check: every module's declared needs are met by the platform and the
// modules' services. On failure the error names the module, the part and what is missing.
const needsMet: [UnmetNeeds<Modules, Platform>] extends [never] ? true : UnmetNeeds<Modules, Platform> = true;
void needsMet;

/** The app's permission catalog: every module's permissions, in module-list order. */
export const PERMISSIONS: readonly Permission[] = permissionCatalog(modules);

/** The services with the event bus and job queue they publish to, every subscriber and task registered. */
export interface Core {
  services: Services;
  events: EventBus<AppEvents>;
  jobs: JobQueue;
  router: AppRouter;
  /** Where files live (STORAGE_URL); the readiness check and the storage commands use it too. */
  storage: FileStorage;
  /** The modules' plain REST routes (binary downloads). */
  routes: PlainRoute[];
  /** Live change events: the publisher, and this process's listener (opened with its first stream). */
  live: Live;
  /** Runs every module's close hook (the mailer's, for one). */
  closeModules(): Promise<void>;
}

/**
 * Everything but HTTP and the worker, for the app and the CLI commands alike: a
 * process that publishes must know every subscriber, or it would enqueue deliveries
 * for some of them only.
 */
export function createCore(deps: { config: Config; db: Knex; logger: Logger; overrides?: AppOverrides; databaseUrl?: string }): Core {
  const { config, db, logger } = deps;
  const jobs = new JobQueue({ logger });
  const events = new EventBus({ db, jobs, catalog: eventCatalog(modules) });
  const override = deps.overrides?.reportStorage;
  const storage = typeof override === 'function' ? override(createStorage(config.storage, { db })) : (override ?? createStorage(config.storage, { db }));
  const limiter = new RateLimiter({ db, enabled: config.limits.enabled });
  const live = new Live({ db, databaseUrl: deps.databaseUrl, logger });
  jobs.define(livePruneTask({ db, retentionMinutes: config.live.retentionMinutes }));
  const platform: Platform = { config, logger, db, events, jobs, permissions: PERMISSIONS, storage, limiter, live, overrides: deps.overrides ?? {} };
  const services = buildServices(modules, platform);
  const all = { ...platform, ...services };
  const parts = moduleParts(modules, all);
  // Subscribers live in their modules; publishers never import them. This is the only
  // place the two meet.
  for (const s of parts.subscribers) events.add(s);
  for (const task of parts.tasks) jobs.define(task);
  return { services, events, jobs, storage, live, router: buildRootRouter(modules, all), routes: parts.routes, closeModules: parts.close };
}

/**
 * The router and plain routes with no app behind them, for describing the API
 * (`npm run openapi`): building them only names the services, so each is a stand-in
 * that refuses to be used.
 */
export function describeApi(): { router: AppRouter; routes: PlainRoute[] } {
  const unavailable = new Proxy(
    {},
    {
      get: (_t, name) =>
        new Proxy(() => {}, {
          get: () => {
            throw new Error(`${String(name)} is not available while describing the API`);
          },
          apply: () => {
            throw new Error(`${String(name)} is not available while describing the API`);
          },
        }),
    },
  );
  return { router: buildRootRouter(modules, unavailable), routes: moduleParts(modules, unavailable).routes };
}

/** What the composition root hands out. */
export interface AppDeps extends Core {
  config: Config;
  logger: Logger;
  db: Knex;
  /** Runs the tasks procedures hand to `ctx.afterResponse`. */
  afterResponse: AfterResponseRunner;
  /** Builds a request's context, as both doors and the plain routes do. */
  createContext: CreateContext;
  /** Request transactions and idempotency records, for the procedure pipeline. */
  pipeline: PipelineDeps;
}

export interface App extends AppDeps {
  http: FastifyInstance;
  /**
   * Starts this process's worker (every subscriber and task registered so far).
   * `npm start` and `npm run worker` call it; `npm run serve` does not.
   */
  startWorker(): Promise<WorkerHandle>;
  /**
   * Stops accepting requests and jobs, lets in-flight ones (and their after-response
   * tasks) finish, then closes the pool.
   */
  close(): Promise<void>;
}

/** The composition root: one place that wires config → database → modules → events → HTTP and worker. */
export async function buildApp(opts: { config: Config; logger: Logger; databaseUrl: string; overrides?: AppOverrides }): Promise<App> {
  const { config, logger } = opts;
  if (!config.limits.enabled) logger.warn('RATE_LIMITS=off: sign-in, sign-up, password-reset and report limits are all switched off. For benchmarks and load tests only, never in production.');
  // Services get the scope-following knex: inside a keyed mutation it is that request's
  // transaction (server/db/request-transaction.ts), everywhere else the pool.
  const transactions = new TransactionScope(createKnex(opts.databaseUrl, { poolMax: config.dbPoolMax, logger }));
  const db = transactions.db;
  const core = createCore({ config, db, logger, databaseUrl: opts.databaseUrl, ...(opts.overrides ? { overrides: opts.overrides } : {}) });
  const pipeline: PipelineDeps = { transactions, idempotency: new IdempotencyStore(config.idempotency), failpoint: config.failpoint };
  core.jobs.define(idempotencyCleanupTask({ store: pipeline.idempotency, db }));
  const afterResponse = new AfterResponseRunner();
  const createContext = createContextFactory({
    authenticate: requestAuthenticator({ auth: core.services.auth, publicUrl: config.publicUrl }),
    isProduction: config.isProduction,
    afterResponse,
    pipeline,
  });
  const deps: AppDeps = { config, logger, db, ...core, afterResponse, createContext, pipeline };
  const http = await buildHttpServer({ config, logger, db, storage: core.storage, router: core.router, routes: core.routes, createContext });
  // Releases the jobs of worker processes that died without shutting down (see recovery.ts).
  const recovery = new WorkerRecovery({
    db,
    logger,
    recoverAfterMs: config.worker.recoverAfterMs,
    onAbandoned: (job) => core.jobs.abandoned(job),
  });
  const unregisterMetrics = [
    registerPoolMetrics(() => (db.client as { pool?: PoolLike }).pool),
    registerQueueMetrics(() => readQueueStats(db), config.metrics.queueRefreshMs),
  ];
  let worker: Promise<WorkerHandle> | undefined;
  let closing: Promise<void> | undefined;
  return {
    ...deps,
    http,
    startWorker() {
      worker ??= startWorker({
        databaseUrl: opts.databaseUrl,
        taskList: deps.jobs.taskList(),
        schedules: deps.jobs.schedules(),
        concurrency: config.worker.concurrency,
        pollIntervalMs: config.worker.pollIntervalMs,
        // Halfway to the shutdown deadline, running jobs are asked to stop, so they can
        // fail cleanly (and be retried elsewhere) before the process is forced out.
        shutdownAbortAfterMs: Math.floor(config.shutdownTimeoutMs / 2),
        logger,
        recovery,
      });
      return worker;
    },
    close() {
      closing ??= (async () => {
        // HTTP and worker drain side by side; both need the pool until they are done.
        await Promise.all([http.close(), worker?.then((w) => w.stop(), () => undefined)]);
        recovery.stop();
        await recovery.settled();
        // After-response tasks of the last requests may still use the pool.
        // HTTP ended every stream already; this closes the listening connection.
        await core.live.close();
        const stuck = await deps.afterResponse.drain();
        if (stuck) logger.warn({ stuck }, 'after-response tasks still running at shutdown; abandoning them');
        await core.closeModules();
        for (const unregister of unregisterMetrics) unregister();
        await db.destroy();
      })();
      return closing;
    },
  };
}
