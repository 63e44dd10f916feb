import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { createKnex } from './db/knex.ts';
import { EventBus } from './events/bus.ts';
import { buildHttpServer } from './http.ts';
import { JobQueue } from './jobs/queue.ts';
import { tasks } from './jobs/tasks.ts';
import { startWorker, type WorkerHandle } from './jobs/worker.ts';
import { AnalyticsService } from './modules/analytics/analytics.service.ts';
import { subscribeAnalytics } from './modules/analytics/analytics.subscribers.ts';
import { createMailer, type Mailer } from './modules/notifications/mailer.ts';
import { subscribeNotifications } from './modules/notifications/notifications.subscribers.ts';
import { ProductService } from './modules/products/product.service.ts';

/** Every service, built once here and handed to procedures through the context. */
export interface Services {
  products: ProductService;
  analytics: AnalyticsService;
}

/** What the composition root hands out. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Knex;
  services: Services;
  /** Domain events: publish inside a transaction, subscribe in the composition root. */
  events: EventBus;
  /** Background tasks: `jobs.add(trx, task, payload)`. */
  jobs: JobQueue;
  mailer: Mailer;
}

export interface App extends AppDeps {
  http: FastifyInstance;
  /**
   * Starts this process's worker (every subscriber and task registered so far).
   * `npm start` and `npm run worker` call it; `npm run serve` does not.
   */
  startWorker(): Promise<WorkerHandle>;
  /** Stops accepting requests and jobs, lets in-flight ones finish, then closes the pool. */
  close(): Promise<void>;
}

/** The composition root: one place that wires config → database → services → events → HTTP and worker. */
export async function buildApp(opts: { config: Config; logger: Logger; databaseUrl: string }): Promise<App> {
  const { config, logger } = opts;
  const db = createKnex(opts.databaseUrl, { poolMax: config.dbPoolMax, logger });
  const jobs = new JobQueue({ logger });
  const events = new EventBus({ db, jobs });
  const mailer = createMailer(config.mail, logger);
  const services: Services = {
    products: new ProductService({ db, events }),
    analytics: new AnalyticsService({ db }),
  };

  // Subscribers live in their modules; publishers never import them. This is the only
  // place the two meet.
  subscribeNotifications(events, { mailer });
  subscribeAnalytics(events, { analytics: services.analytics });
  for (const task of tasks) jobs.define(task);

  const deps: AppDeps = { config, logger, db, services, events, jobs, mailer };
  const http = await buildHttpServer(deps);
  let worker: Promise<WorkerHandle> | undefined;
  let closing: Promise<void> | undefined;
  return {
    ...deps,
    http,
    startWorker() {
      worker ??= startWorker({
        databaseUrl: opts.databaseUrl,
        taskList: jobs.taskList(deps),
        concurrency: config.worker.concurrency,
        pollIntervalMs: config.worker.pollIntervalMs,
        logger,
      });
      return worker;
    },
    close() {
      closing ??= (async () => {
        // HTTP and worker drain side by side; both need the pool until they are done.
        await Promise.all([http.close(), worker?.then((w) => w.stop(), () => undefined)]);
        mailer.close();
        await db.destroy();
      })();
      return closing;
    },
  };
}
