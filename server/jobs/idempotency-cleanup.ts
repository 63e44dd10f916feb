import type { Knex } from 'knex';
import { z } from 'zod';
import type { IdempotencyStore } from '../db/idempotency-store.ts';
import { defineTask } from './task.ts';

/**
 * Removes idempotency records past IDEMPOTENCY_TTL_HOURS (server/db/idempotency-store.ts).
 * Expired records are already ignored when a key is looked up; this only keeps the
 * table small. Every 15 minutes, one job per tick whatever the number of workers.
 */
export function idempotencyCleanupTask(deps: { store: IdempotencyStore; db: Knex }) {
  return defineTask({
    name: 'idempotency.cleanup',
    payload: z.object({}).loose(),
    maxAttempts: 3,
    schedule: '*/15 * * * *',
    async run(_payload, { log }) {
      const removed = await deps.store.removeExpired(deps.db);
      if (removed > 0) log.info({ removed }, 'removed expired idempotency keys');
    },
  });
}
