import type { Knex } from 'knex';
import type { Config } from '../../config.ts';
import type { RateLimiter } from '../../lib/rate-limiter.ts';
import { defineModule } from '../../lib/module.ts';
import type { Permission } from '../../trpc/access.ts';
import type { UserService } from '../users/user.service.ts';
import { authRouter } from './auth.router.ts';
import { AuthService, authLimits } from './auth.service.ts';
import { cookieIsSecure } from './session.cookie.ts';
import { RoleService } from './role.service.ts';
import { SessionService } from './session.service.ts';

/** Sessions, roles and sign-in/out. Requests are authenticated through `auth` (see auth.request.ts). */
export const authModule = defineModule({
  name: 'auth',
  services: {
    roles: ({ db, permissions }: { db: Knex; permissions: readonly Permission[] }) => new RoleService({ db, permissions }),
    sessions: ({ db }: { db: Knex }) => new SessionService({ db }),
    auth: ({ config, users, roles, sessions, limiter }: { config: Config; users: UserService; roles: RoleService; sessions: SessionService; limiter: RateLimiter }) =>
      new AuthService({ users, roles, sessions, limiter, limits: authLimits(config.limits), secureCookies: cookieIsSecure(config) }),
  },
  router: authRouter,
});
