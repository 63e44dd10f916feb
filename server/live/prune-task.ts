import type { Knex } from 'knex';
import { z } from 'zod';
import { defineTask } from '../jobs/task.ts';
import { pruneLiveEvents } from './live.ts';

/**
 * Keeps the change-event log bounded (docs/live.md): every 5 minutes, events older than
 * LIVE_RETENTION_MINUTES go. One job per tick whatever the number of workers.
 */
export function livePruneTask(deps: { db: Knex; retentionMinutes: number }) {
  return defineTask({
    name: 'live.prune',
    payload: z.object({}).loose(),
    maxAttempts: 3,
    schedule: '*/5 * * * *',
    async run(_payload, { log }) {
      const removed = await pruneLiveEvents(deps.db, deps.retentionMinutes);
      if (removed > 0) log.info({ removed }, 'pruned live change events past their retention');
    },
  });
}
