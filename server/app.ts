import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { createKnex } from './db/knex.ts';
import { EventBus } from './events/bus.ts';
import { buildHttpServer } from './http.ts';
import { AfterResponseRunner } from './jobs/after-response.ts';
import { JobQueue } from './jobs/queue.ts';
import { readQueueStats } from './jobs/queue-stats.ts';
import { registerPoolMetrics, registerQueueMetrics, type PoolLike } from './observability/metrics.ts';
import { WorkerRecovery } from './jobs/recovery.ts';
import { tasks } from './jobs/tasks.ts';
import { startWorker, type WorkerHandle } from './jobs/worker.ts';
import { FixedWindowLimiter } from './lib/rate-limiter.ts';
import { AnalyticsService } from './modules/analytics/analytics.service.ts';
import { subscribeAnalytics } from './modules/analytics/analytics.subscribers.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { RoleService } from './modules/auth/role.service.ts';
import { SessionService } from './modules/auth/session.service.ts';
import { createMailer, type Mailer } from './modules/notifications/mailer.ts';
import { subscribeNotifications } from './modules/notifications/notifications.subscribers.ts';
import { ProductService } from './modules/products/product.service.ts';
import { ReportService } from './modules/reports/report.service.ts';
import { LocalDiskStorage, type ReportStorage } from './modules/reports/report.storage.ts';
import { abandonedReport, generateReport, reportJobKey } from './modules/reports/report.tasks.ts';
import { UserService } from './modules/users/user.service.ts';

/** Every service, built once here and handed to procedures through the context. */
export interface Services {
  products: ProductService;
  users: UserService;
  roles: RoleService;
  sessions: SessionService;
  auth: AuthService;
  analytics: AnalyticsService;
  reports: ReportService;
}

/** Parts tests replace: a store that fails on demand, a mailer that counts. */
export interface AppOverrides {
  /** Where report files go; default: the local disk under DATA_DIR/reports. */
  reportStorage?: ReportStorage;
  /** Default: SMTP when SMTP_URL is set, otherwise .eml files under DATA_DIR/mail. */
  mailer?: Mailer;
}

/** Builds every service on one database; publishers get the event bus, enqueuers the job queue. */
function createServices(deps: { config: Config; db: Knex; events: EventBus; jobs: JobQueue; mailer: Mailer; overrides: AppOverrides }): Services {
  const { config, db, events, jobs } = deps;
  const roles = new RoleService({ db });
  const sessions = new SessionService({ db });
  const users = new UserService({ db, roles, sessions, events });
  const signInLimiter = new FixedWindowLimiter({ limit: config.signInLimitPerMinute, windowMs: 60_000 });
  const products = new ProductService({ db, events });
  const reports = new ReportService({
    db,
    products,
    users,
    storage: deps.overrides.reportStorage ?? new LocalDiskStorage(path.join(config.dataDir, 'reports')),
    mailer: deps.mailer,
    enqueue: async (trx, reportId) => {
      await jobs.add(trx, generateReport, { reportId }, { jobKey: reportJobKey(reportId) });
    },
    apiBaseUrl: `${config.publicUrl ?? `http://localhost:${config.port}`}/api/v1`,
  });
  return {
    products,
    users,
    roles,
    sessions,
    auth: new AuthService({ users, roles, sessions, signInLimiter }),
    analytics: new AnalyticsService({ db }),
    reports,
  };
}

/** The services with the event bus and job queue they publish to, every subscriber and task registered. */
export interface Core {
  services: Services;
  /** Domain events: publish inside a transaction; subscribers are registered below. */
  events: EventBus;
  /** Background tasks: `jobs.add(trx, task, payload)`. */
  jobs: JobQueue;
  mailer: Mailer;
}

/**
 * Everything but HTTP and the worker, for the app and the CLI commands alike: a
 * process that publishes must know every subscriber, or it would enqueue deliveries
 * for some of them only.
 */
export function createCore(deps: { config: Config; db: Knex; logger: Logger; overrides?: AppOverrides }): Core {
  const { config, db, logger } = deps;
  const jobs = new JobQueue({ logger });
  const events = new EventBus({ db, jobs });
  const mailer = deps.overrides?.mailer ?? createMailer(config.mail, logger);
  const services = createServices({ config, db, events, jobs, mailer, overrides: deps.overrides ?? {} });

  // Subscribers live in their modules; publishers never import them. This is the only
  // place the two meet.
  subscribeNotifications(events, { mailer });
  subscribeAnalytics(events, { analytics: services.analytics });
  for (const task of tasks) jobs.define(task);

  return { services, events, jobs, mailer };
}

/** What the composition root hands out. */
export interface AppDeps extends Core {
  config: Config;
  logger: Logger;
  db: Knex;
  /** Runs the tasks procedures hand to `ctx.afterResponse`. */
  afterResponse: AfterResponseRunner;
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

/** The composition root: one place that wires config → database → services → events → HTTP and worker. */
export async function buildApp(opts: { config: Config; logger: Logger; databaseUrl: string; overrides?: AppOverrides }): Promise<App> {
  const { config, logger } = opts;
  const db = createKnex(opts.databaseUrl, { poolMax: config.dbPoolMax, logger });
  const core = createCore({ config, db, logger, ...(opts.overrides ? { overrides: opts.overrides } : {}) });
  const deps: AppDeps = { config, logger, db, ...core, afterResponse: new AfterResponseRunner() };
  const http = await buildHttpServer(deps);
  // Releases the jobs of worker processes that died without shutting down (see recovery.ts).
  const recovery = new WorkerRecovery({
    db,
    logger,
    recoverAfterMs: config.worker.recoverAfterMs,
    onAbandoned: async (job) => {
      if (job.task === generateReport.name) await abandonedReport(deps, job);
    },
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
        taskList: deps.jobs.taskList(deps),
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
        const stuck = await deps.afterResponse.drain();
        if (stuck) logger.warn({ stuck }, 'after-response tasks still running at shutdown; abandoning them');
        deps.mailer.close();
        for (const unregister of unregisterMetrics) unregister();
        await db.destroy();
      })();
      return closing;
    },
  };
}
