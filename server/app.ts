import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { createKnex } from './db/knex.ts';
import { buildHttpServer } from './http.ts';
import { AfterResponseRunner } from './jobs/after-response.ts';
import { FixedWindowLimiter } from './lib/rate-limiter.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { RoleService } from './modules/auth/role.service.ts';
import { SessionService } from './modules/auth/session.service.ts';
import { ProductService } from './modules/products/product.service.ts';
import { ReportService } from './modules/reports/report.service.ts';
import { LocalDiskStorage, type ReportStorage } from './modules/reports/report.storage.ts';
import { UserService } from './modules/users/user.service.ts';

/** Every service, built once here and handed to procedures through the context. */
export interface Services {
  products: ProductService;
  users: UserService;
  roles: RoleService;
  sessions: SessionService;
  auth: AuthService;
  reports: ReportService;
}

/** Replaceable parts: tests swap in a failing store to exercise retries. */
export interface AppOverrides {
  /** Where report files go; default: the local disk under DATA_DIR/reports. */
  reportStorage?: ReportStorage;
}

/** Builds every service on one database; the app and the CLI commands share it. */
export function createServices(deps: { config: Config; db: Knex; overrides?: AppOverrides }): Services {
  const { config, db } = deps;
  const roles = new RoleService({ db });
  const sessions = new SessionService({ db });
  const users = new UserService({ db, roles, sessions });
  const signInLimiter = new FixedWindowLimiter({ limit: config.signInLimitPerMinute, windowMs: 60_000 });
  const products = new ProductService({ db });
  const reports = new ReportService({
    db,
    products,
    users,
    storage: deps.overrides?.reportStorage ?? new LocalDiskStorage(path.join(config.dataDir, 'reports')),
    // Wired to the job queue and the mailer once those land (issue 4).
    enqueue: async () => {},
    mailer: { send: async () => Promise.reject(new Error('No mailer wired yet')) },
    apiBaseUrl: `${config.publicUrl ?? `http://localhost:${config.port}`}/api/v1`,
  });
  return {
    products,
    users,
    roles,
    sessions,
    auth: new AuthService({ users, roles, sessions, signInLimiter }),
    reports,
  };
}

/** What the composition root hands out. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Knex;
  services: Services;
  /** Runs the tasks procedures hand to `ctx.afterResponse`. */
  afterResponse: AfterResponseRunner;
}

export interface App extends AppDeps {
  http: FastifyInstance;
  /** Stops accepting requests, lets in-flight ones and their after-response tasks finish, then closes the pool. */
  close(): Promise<void>;
}

/** The composition root: one place that wires config → database → services → HTTP. */
export async function buildApp(opts: { config: Config; logger: Logger; databaseUrl: string; overrides?: AppOverrides }): Promise<App> {
  const { config, logger } = opts;
  const db = createKnex(opts.databaseUrl, { poolMax: config.dbPoolMax, logger });
  const services = createServices({ config, db, ...(opts.overrides ? { overrides: opts.overrides } : {}) });
  const deps: AppDeps = { config, logger, db, services, afterResponse: new AfterResponseRunner() };
  const http = await buildHttpServer(deps);
  let closing: Promise<void> | undefined;
  return {
    ...deps,
    http,
    close() {
      closing ??= (async () => {
        await http.close();
        // After-response tasks of the last requests may still use the pool.
        const stuck = await deps.afterResponse.drain();
        if (stuck) logger.warn({ stuck }, 'after-response tasks still running at shutdown; abandoning them');
        await db.destroy();
      })();
      return closing;
    },
  };
}
