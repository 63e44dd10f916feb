import type { Knex } from 'knex';
import type { Config } from '../../config.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { RateLimiter } from '../../lib/rate-limiter.ts';
import { defineModule } from '../../lib/module.ts';
import type { Permission } from '../../trpc/access.ts';
import type { UserService } from '../users/user.service.ts';
import { AccountTokenService } from './account-token.service.ts';
import { authRouter } from './auth.router.ts';
import { authTasks } from './auth.tasks.ts';
import { AuthService, authLimits } from './auth.service.ts';
import { cookieIsSecure } from './session.cookie.ts';
import { RoleService } from './role.service.ts';
import { SessionService } from './session.service.ts';

/** Sessions, roles, sign-in/out and the account lifecycle (verification, password reset and change). Requests are authenticated through `auth` (see auth.request.ts). */
export const authModule = defineModule({
  name: 'auth',
  services: {
    roles: ({ db, permissions }: { db: Knex; permissions: readonly Permission[] }) => new RoleService({ db, permissions }),
    sessions: ({ db, config }: { db: Knex; config: Config }) => new SessionService({ db, maxAgeMs: config.sessionMaxAgeDays * 24 * 60 * 60 * 1000 }),
    accountTokens: ({ db }: { db: Knex }) => new AccountTokenService({ db }),
    auth: ({
      config,
      db,
      users,
      roles,
      sessions,
      accountTokens,
      jobs,
      limiter,
    }: {
      config: Config;
      db: Knex;
      users: UserService;
      roles: RoleService;
      sessions: SessionService;
      accountTokens: AccountTokenService;
      jobs: Pick<JobQueue, 'add'>;
      limiter: RateLimiter;
    }) => new AuthService({ db, users, roles, sessions, accountTokens, jobs, limiter, limits: authLimits(config.limits), secureCookies: cookieIsSecure(config) }),
  },
  router: authRouter,
  tasks: authTasks,
});
