import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { createKnex } from './db/knex.ts';
import { buildHttpServer } from './http.ts';
import { FixedWindowLimiter } from './lib/rate-limiter.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { RoleService } from './modules/auth/role.service.ts';
import { SessionService } from './modules/auth/session.service.ts';
import { ProductService } from './modules/products/product.service.ts';
import { UserService } from './modules/users/user.service.ts';

/** Every service, built once here and handed to procedures through the context. */
export interface Services {
  products: ProductService;
  users: UserService;
  roles: RoleService;
  sessions: SessionService;
  auth: AuthService;
}

/** Builds every service on one database; the app and the CLI commands share it. */
export function createServices(deps: { config: Config; db: Knex }): Services {
  const { config, db } = deps;
  const roles = new RoleService({ db });
  const sessions = new SessionService({ db });
  const users = new UserService({ db, roles, sessions });
  const signInLimiter = new FixedWindowLimiter({ limit: config.signInLimitPerMinute, windowMs: 60_000 });
  return {
    products: new ProductService({ db }),
    users,
    roles,
    sessions,
    auth: new AuthService({ users, roles, sessions, signInLimiter }),
  };
}

/** What the composition root hands out. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Knex;
  services: Services;
}

export interface App extends AppDeps {
  http: FastifyInstance;
  /** Stops accepting requests, lets in-flight ones finish, then closes the pool. */
  close(): Promise<void>;
}

/** The composition root: one place that wires config → database → services → HTTP. */
export async function buildApp(opts: { config: Config; logger: Logger; databaseUrl: string }): Promise<App> {
  const { config, logger } = opts;
  const db = createKnex(opts.databaseUrl, { poolMax: config.dbPoolMax, logger });
  const services = createServices({ config, db });
  const deps: AppDeps = { config, logger, db, services };
  const http = await buildHttpServer(deps);
  let closing: Promise<void> | undefined;
  return {
    ...deps,
    http,
    close() {
      closing ??= (async () => {
        await http.close();
        await db.destroy();
      })();
      return closing;
    },
  };
}
