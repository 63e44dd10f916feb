import type { Logger } from 'pino';
import type { z } from 'zod';
import type { RecoveredJob } from './recovery.ts';

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

/**
 * What a task's `run` receives besides its payload. Services are not in it: a
 * module builds its tasks from the services it declares (its manifest's `tasks`), so
 * a task's dependencies are the ones its closure names.
 */
export interface TaskContext {
  /** Scoped to this job (task name and job id on every line). */
  log: Logger;
  job: JobInfo;
}

/**
 * A kind of job: its name, a zod schema for its payload and how many attempts it gets.
 * Enough to enqueue one (`jobs.add(trx, job, payload)`), so a service can add jobs
 * before the task that runs them is built. Made with `defineJob`.
 */
export interface JobDefinition<TName extends string = string, TPayload extends z.ZodType = z.ZodType> {
  readonly name: TName;
  readonly payload: TPayload;
  /** Attempts before the job is left permanently failed (see `npm run jobs:failed`). */
  readonly maxAttempts: number;
}

/** What runs a job, and what settles one that a dead worker took with it on its last attempt. */
export interface TaskHandlers<TPayload extends z.ZodType> {
  /** Throw to fail this attempt; graphile-worker retries with exponential backoff. */
  run(payload: z.output<TPayload>, ctx: TaskContext): Promise<void>;
  /**
   * Called when crashed-worker recovery (recovery.ts) finds one of these jobs lost on
   * its last attempt: it will not run again, so whatever waits on it must be settled
   * here. Jobs carry no payload through the public view; give them a `jobKey` that
   * says what they were for.
   */
  onAbandoned?(job: RecoveredJob): Promise<void>;
}

/**
 * A typed background task: a job definition and its handlers. Listed in its module's
 * manifest (`tasks`), enqueued with `jobs.add(trx, task, payload)`.
 */
export interface TaskDefinition<TName extends string = string, TPayload extends z.ZodType = z.ZodType> extends JobDefinition<TName, TPayload>, TaskHandlers<TPayload> {}

/** Any task, whatever its name and payload. */
export type AnyTaskDefinition = TaskDefinition<string, z.ZodType>;

/** A job definition that can be given its handlers once the services they use exist. */
export interface DefinedJob<TName extends string, TPayload extends z.ZodType> extends JobDefinition<TName, TPayload> {
  handle(handlers: TaskHandlers<TPayload>): TaskDefinition<TName, TPayload>;
}

/** Default attempts for a task that does not say (graphile-worker's own default is 25). */
export const DEFAULT_TASK_MAX_ATTEMPTS = 10;

/** Task names are dotted lowercase words (`report.generate`); `:` is reserved for event deliveries. */
export const TASK_NAME = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

/**
 * Declares a kind of job. The payload schema types `jobs.add` and the handlers, and
 * validates the payload both when the job is added and when it runs.
 *
 * @example
 * export const generateReportJob = defineJob({ name: 'report.generate', payload: z.object({ reportId: z.uuid() }), maxAttempts: 3 });
 * // in the module's manifest, with the services it needs:
 * tasks: ({ reportGeneration }) => [
 *   generateReportJob.handle({ run: ({ reportId }, { job }) => reportGeneration.run(reportId, job) }),
 * ],
 */
export function defineJob<TName extends string, TPayload extends z.ZodType>(definition: {
  name: TName;
  payload: TPayload;
  maxAttempts?: number;
}): DefinedJob<TName, TPayload> {
  if (!TASK_NAME.test(definition.name)) throw new Error(`Task name "${definition.name}" must be dotted lowercase words, e.g. report.generate`);
  const maxAttempts = definition.maxAttempts ?? DEFAULT_TASK_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 32767) throw new Error(`Task ${definition.name}: maxAttempts must be an integer from 1 to 32767`);
  const job = { name: definition.name, payload: definition.payload, maxAttempts };
  return {
    ...job,
    handle: (handlers) => ({ ...job, run: handlers.run, ...(handlers.onAbandoned ? { onAbandoned: handlers.onAbandoned } : {}) }),
  };
}

/** Declares a job and its handlers at once, for a task that needs no services (or closes over them). */
export function defineTask<TName extends string, TPayload extends z.ZodType>(
  definition: { name: TName; payload: TPayload; maxAttempts?: number } & TaskHandlers<TPayload>,
): TaskDefinition<TName, TPayload> {
  const { run, onAbandoned, ...job } = definition;
  return defineJob(job).handle({ run, ...(onAbandoned ? { onAbandoned } : {}) });
}
