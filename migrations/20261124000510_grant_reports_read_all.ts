import type { Knex } from 'knex';
import { grantPermissions, revokePermissions } from '../server/modules/auth/permission.grants.ts';

/** `reports:read-all` lets its holder read anyone's report (support, audits); admin gets it. */
export const up = (knex: Knex) => grantPermissions(knex, 'admin', ['reports:read-all']);
export const down = (knex: Knex) => revokePermissions(knex, 'admin', ['reports:read-all']);
