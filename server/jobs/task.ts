import type { Logger } from 'pino';
import type { z } from 'zod';
import type { AppDeps } from '../app.ts';

/** The job being run: its id, which attempt this is (from 1) and how many it gets. */
export interface JobInfo {
  id: string;
  attempt: number;
  maxAttempts: number;
  /**
   * Aborted halfway through a graceful shutdown (SHUTDOWN_TIMEOUT_MS / 2). A long task
   * should watch it and stop early (throwing), so the job is retried later instead of
   * being cut off when the deadline forces the process out.
   */
  signal: AbortSignal;
}

/** What the composition root lends every task: config, database, services, events, jobs, mailer. */
export type TaskDeps = AppDeps;

/** What a task's `run` receives besides its payload. */
export interface TaskContext {
  deps: TaskDeps;
  /** Scoped to this job (task name and job id on every line). */
  log: Logger;
  job: JobInfo;
}

/**
 * A typed background task: a name, a zod schema for its payload, how many attempts
 * it gets, and what it does. Made with `defineTask`, listed in `server/jobs/tasks.ts`,
 * enqueued with `jobs.add(trx, task, payload)`.
 */
export interface TaskDefinition<TName extends string = string, TPayload extends z.ZodType = z.ZodType> {
  readonly name: TName;
  readonly payload: TPayload;
  /** Attempts before the job is left permanently failed (see `npm run jobs:failed`). */
  readonly maxAttempts: number;
  /**
   * A recurring task: a crontab pattern (UTC), e.g. `*\/15 * * * *`. Every worker
   * process knows it; graphile-worker makes sure one job is queued per tick, whatever
   * the number of workers. Its payload is graphile-worker's `{ _cron: … }`.
   */
  readonly schedule?: string;
  /** Throw to fail this attempt; graphile-worker retries with exponential backoff. */
  run(payload: z.output<TPayload>, ctx: TaskContext): Promise<void>;
}

/** Any task, whatever its name and payload. */
export type AnyTaskDefinition = TaskDefinition<string, z.ZodType>;

/** Default attempts for a task that does not say (graphile-worker's own default is 25). */
export const DEFAULT_TASK_MAX_ATTEMPTS = 10;

/** Task names are dotted lowercase words (`report.generate`); `:` is reserved for event deliveries. */
export const TASK_NAME = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

/**
 * Declares a task. The payload schema types `run` and `jobs.add`, and validates the
 * payload both when the job is added and when it runs.
 *
 * @example
 * export const generateReport = defineTask({
 *   name: 'report.generate',
 *   payload: z.object({ reportId: z.uuid() }),
 *   maxAttempts: 3,
 *   async run({ reportId }, { deps, job }) {
 *     await deps.services.reports.generate(reportId, { signal: job.signal });
 *   },
 * });
 */
export function defineTask<TName extends string, TPayload extends z.ZodType>(definition: {
  name: TName;
  payload: TPayload;
  maxAttempts?: number;
  schedule?: string;
  run(payload: z.output<TPayload>, ctx: TaskContext): Promise<void>;
}): TaskDefinition<TName, TPayload> {
  if (!TASK_NAME.test(definition.name)) throw new Error(`Task name "${definition.name}" must be dotted lowercase words, e.g. report.generate`);
  const maxAttempts = definition.maxAttempts ?? DEFAULT_TASK_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 32767) throw new Error(`Task ${definition.name}: maxAttempts must be an integer from 1 to 32767`);
  return { name: definition.name, payload: definition.payload, maxAttempts, run: definition.run, ...(definition.schedule ? { schedule: definition.schedule } : {}) };
}
