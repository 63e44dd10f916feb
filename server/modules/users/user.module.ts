import type { Knex } from 'knex';
import type { EventPublisher } from '../../events/bus.ts';
import { defineModule } from '../../lib/module.ts';
import type { RoleService } from '../auth/role.service.ts';
import type { SessionService } from '../auth/session.service.ts';
import { userEvents, type UserEvents } from './user.events.ts';
import { userPermissions } from './user.permissions.ts';
import { userRouter } from './user.router.ts';
import { UserService } from './user.service.ts';
import type { Live } from '../../live/live.ts';
import { UserNotifications } from './user.notifications.ts';

/** Accounts: sign-up's other half, the current user, administration; `user.*` events. */
export const usersModule = defineModule({
  name: 'users',
  services: {
    users: ({ db, roles, sessions, events }: { db: Knex; roles: RoleService; sessions: SessionService; events: EventPublisher<UserEvents> }) =>
      new UserService({ db, roles, sessions, events }),
    /** Live notifications for one user (`users.notifications`); other modules send them. */
    userNotifications: ({ live }: { live: Live }) => new UserNotifications({ live }),
  },
  router: userRouter,
  events: userEvents,
  permissions: Object.values(userPermissions),
});
