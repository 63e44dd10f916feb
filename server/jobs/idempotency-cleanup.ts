import { z } from 'zod';
import { defineTask } from './task.ts';

/**
 * Removes idempotency records past IDEMPOTENCY_TTL_HOURS (server/db/idempotency-store.ts).
 * Expired records are already ignored when a key is looked up; this only keeps the
 * table small. Every 15 minutes, one job per tick whatever the number of workers.
 */
export const idempotencyCleanup = defineTask({
  name: 'idempotency.cleanup',
  payload: z.object({}).loose(),
  maxAttempts: 3,
  schedule: '*/15 * * * *',
  async run(_payload, { deps, log }) {
    const removed = await deps.pipeline.idempotency.removeExpired(deps.db);
    if (removed > 0) log.info({ removed }, 'removed expired idempotency keys');
  },
});
