import type { Knex } from 'knex';

/**
 * Polls `check` until it returns something truthy and returns that. The timeout only
 * turns a hang into a readable failure; nothing asserts on how long it took.
 */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface QueuedJob {
  id: string;
  task: string;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  runAt: Date;
  createdAt: Date;
  locked: boolean;
}

/** Every job in graphile-worker's queue (pending, retrying, running or permanently failed). */
export async function queuedJobs(db: Knex, taskPrefix = ''): Promise<QueuedJob[]> {
  const { rows } = await db.raw<{ rows: any[] }>(
    `SELECT id::text, task_identifier, attempts, max_attempts, last_error, run_at, created_at, locked_at IS NOT NULL AS locked
       FROM graphile_worker.jobs WHERE starts_with(task_identifier, ?) ORDER BY id`,
    [taskPrefix],
  );
  return rows.map((r) => ({
    id: r.id,
    task: r.task_identifier,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    lastError: r.last_error,
    runAt: r.run_at,
    createdAt: r.created_at,
    locked: r.locked,
  }));
}

/** Waits until no job is pending, retrying or running (permanently failed ones may stay). */
export async function waitForIdleQueue(db: Knex): Promise<void> {
  await waitFor(async () => (await queuedJobs(db)).every((j) => j.attempts >= j.maxAttempts && !j.locked), 'the job queue to drain');
}

/**
 * Makes jobs waiting for a retry due now and wakes the workers: graphile-worker's
 * backoff (e^attempts seconds) stays real, tests just skip the wait. Returns how many.
 */
export async function fastForwardRetries(db: Knex): Promise<number> {
  const { rows } = await db.raw<{ rows: unknown[] }>(
    `SELECT 1 FROM graphile_worker.reschedule_jobs(
       ARRAY(SELECT id FROM graphile_worker.jobs WHERE attempts > 0 AND attempts < max_attempts AND locked_at IS NULL AND run_at > now()),
       run_at => now())`,
  );
  if (rows.length) await db.raw(`SELECT pg_notify('jobs:insert', json_build_object('count', ?::int)::text)`, [rows.length]);
  return rows.length;
}
