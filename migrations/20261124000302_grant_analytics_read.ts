import type { Knex } from 'knex';
import { grantPermissions, revokePermissions } from '../server/modules/auth/permission.grants.ts';

/** `analytics:read` (GET /analytics/events) for admins. */
export const up = (knex: Knex) => grantPermissions(knex, 'admin', ['analytics:read']);
export const down = (knex: Knex) => revokePermissions(knex, 'admin', ['analytics:read']);
