import type { TaskList } from 'graphile-worker';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { z } from 'zod';
import { BeforeCommit } from '../db/before-commit.ts';
import { runStatement } from '../db/statements.ts';
import { jobDuration, jobOutcomes } from '../observability/metrics.ts';
import { activeTraceIds, currentTraceCarrier, isTracing, withJobSpan, type TraceCarrier } from '../observability/tracing.ts';
import type { RecoveredJob } from './recovery.ts';
import type { AnyTaskDefinition, JobDefinition, TaskContext } from './task.ts';

/**
 * A SELECT of the ids of new jobs, added with `graphile_worker.add_job`, one per element of
 * the JSON array in parameter `param` (each a `JobRow`); WITH ORDINALITY keeps the ids in
 * input order.
 */
export function addJobsFrom(param: string): string {
  return `SELECT (graphile_worker.add_job(
           s.identifier, s.payload,
           queue_name => s.queue_name, run_at => s.run_at, max_attempts => s.max_attempts,
           job_key => s.job_key, priority => s.priority
         )).id::text AS id
   FROM ROWS FROM (json_to_recordset(${param}::json)
          AS (identifier text, payload json, max_attempts int, run_at timestamptz, job_key text, queue_name text, priority int))
        WITH ORDINALITY AS s(identifier, payload, max_attempts, run_at, job_key, queue_name, priority, n)
  ORDER BY s.n`;
}
const ADD_JOBS = addJobsFrom('$1');

/** A job as `addJobsFrom` reads it. */
interface JobRow {
  identifier: string;
  payload: unknown;
  max_attempts: number | null;
  run_at: string | null;
  job_key: string | null;
  queue_name: string | null;
  priority: number | null;
}

/** Jobs added with `enqueueAtCommit`, owed by their transaction until a statement adds them. */
const owedJobs = new BeforeCommit<JobRow>((trx, rows) => runStatement(trx, ADD_JOBS, [JSON.stringify(rows)]));

/**
 * The jobs `trx` owes (`enqueueAtCommit`), as the JSON `addJobsFrom` reads, for a statement
 * that adds them itself (the live publish does); undefined when it owes none. They are then
 * no longer owed: the caller's statement must run in `trx`.
 */
export function takeOwedJobs(trx: Knex): string | undefined {
  const rows = owedJobs.take(trx);
  return rows.length ? JSON.stringify(rows) : undefined;
}

/** Event deliveries are labelled by task identifier too (`event:<name>:<subscriber>`): bounded by the code, not by data. */
const metricTask = (identifier: string) => identifier;

/** One job to add: which task, its (JSON) payload, and scheduling details. */
export interface JobSpec {
  identifier: string;
  payload: unknown;
  maxAttempts?: number;
  /** Run no earlier than this (default: now). */
  runAt?: Date;
  /** A pending job with the same key is replaced instead of duplicated (graphile-worker's job_key). */
  jobKey?: string;
  /** Jobs sharing a queue name run one at a time, in order. */
  queueName?: string;
  /** Lower runs first (default 0). */
  priority?: number;
}

/** Scheduling options of `jobs.add`. */
export type AddJobOptions = Omit<JobSpec, 'identifier' | 'payload'>;

/** How a registered task is run by the worker. */
interface RegisteredTask {
  maxAttempts: number;
  /** The span a run is traced as (default: the identifier). */
  spanName?: string;
  run(payload: unknown, ctx: TaskContext): Promise<void>;
  onAbandoned?(job: RecoveredJob): Promise<void>;
}

/**
 * The key under which a job's payload carries the trace context of whoever added it,
 * so its run continues that trace in whichever process takes it. Stripped before the
 * task (or subscriber) sees the payload; present only while tracing is on.
 */
export const TRACE_KEY = '_trace';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A payload that does not match its task's schema: a bug in the caller, so a 500, never a 400. */
export class JobPayloadError extends Error {
  override name = 'JobPayloadError';
  constructor(
    readonly task: string,
    readonly issues: z.core.$ZodIssue[],
  ) {
    super(`Invalid payload for task ${task}: ${z.prettifyError({ issues } as z.ZodError)}`);
  }
}

/**
 * The task registry and the way in: every task the worker can run is registered
 * here, and jobs are added with SQL (`graphile_worker.add_job`) on the caller's
 * connection, so a job added inside a transaction exists only if that transaction
 * commits. The event bus is built on top of it (one task per subscriber).
 */
export class JobQueue {
  readonly #tasks = new Map<string, RegisteredTask>();
  readonly #schedules: { task: string; match: string }[] = [];
  #sealed = false;

  constructor(private readonly deps: { logger: Logger }) {}

  /** Registers a typed task (see `defineJob`; modules list theirs in their manifest). */
  define(task: AnyTaskDefinition): void {
    if (task.schedule) this.#schedules.push({ task: task.name, match: task.schedule });
    this.register(task.name, {
      maxAttempts: task.maxAttempts,
      ...(task.onAbandoned ? { onAbandoned: (job: RecoveredJob) => task.onAbandoned!(job) } : {}),
      run: async (payload, ctx) => {
        const parsed = task.payload.safeParse(payload);
        if (!parsed.success) throw new JobPayloadError(task.name, parsed.error.issues);
        await task.run(parsed.data, ctx);
      },
    });
  }

  /**
   * Registers a task under a raw identifier. Lower level than `define`: the event
   * bus uses it for its deliveries. Must happen before the worker starts.
   */
  register(identifier: string, task: RegisteredTask): void {
    if (this.#sealed) throw new Error(`Task ${identifier} registered after the worker started; register tasks in the composition root`);
    if (this.#tasks.has(identifier)) throw new Error(`Task ${identifier} is registered twice`);
    this.#tasks.set(identifier, task);
  }

  /** The recurring tasks (those defined with a `schedule`), for the worker's crontab. */
  schedules(): { task: string; match: string }[] {
    return [...this.#schedules];
  }

  has(identifier: string): boolean {
    return this.#tasks.has(identifier);
  }

  /** Every registered task identifier, for logs and the worker. */
  identifiers(): string[] {
    return [...this.#tasks.keys()];
  }

  /**
   * Adds a job for a typed task on `db`: pass the service's transaction so the job
   * commits (or vanishes) with the write that caused it. The payload is validated
   * against the task's schema here, so a bad one fails the request, not the worker.
   * Returns the job id.
   */
  async add<T extends JobDefinition>(db: Knex, task: T, payload: z.input<T['payload']>, options: AddJobOptions = {}): Promise<string> {
    if (!this.#tasks.has(task.name)) throw new Error(`Task ${task.name} is not registered: list it in its module's manifest (tasks)`);
    const parsed = task.payload.safeParse(payload);
    if (!parsed.success) throw new JobPayloadError(task.name, parsed.error.issues);
    const [id] = await this.enqueue(db, [{ ...options, identifier: task.name, payload: parsed.data, maxAttempts: options.maxAttempts ?? task.maxAttempts }]);
    return id!;
  }

  /**
   * Adds several jobs in one statement through `graphile_worker.add_job`, on the
   * given connection or transaction. Returns their ids in order. Jobs the transaction
   * owes (`enqueueAtCommit`) are added first, in the same statement.
   */
  async enqueue(db: Knex, jobs: JobSpec[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const owed = owedJobs.take(db);
    const rows = owed.concat(this.#rows(jobs));
    // One round trip whatever the number of jobs, one text whatever they are (a named statement).
    const result = await runStatement<{ id: string }>(db, ADD_JOBS, [JSON.stringify(rows)]);
    return result.rows.slice(owed.length).map((r) => r.id);
  }

  /**
   * Adds jobs in transaction `trx` without a round trip of their own: they ride on the
   * transaction's next `enqueue` or live publish, or are added just before its next query
   * or its commit (db/before-commit.ts), so every later statement in `trx` sees them. They
   * commit or roll back with `trx` exactly as with `enqueue`; their ids are not returned.
   * Given anything but a transaction knex handed out, adds them at once.
   */
  async enqueueAtCommit(trx: Knex, jobs: JobSpec[]): Promise<void> {
    const rows = this.#rows(jobs);
    if (!owedJobs.defer(trx, rows)) await runStatement(trx, ADD_JOBS, [JSON.stringify(rows)]);
  }

  /** The trace context of whoever adds them travels in the payloads (read now, in the adder's span). */
  #rows(jobs: JobSpec[]): JobRow[] {
    const carrier = currentTraceCarrier();
    return jobs.map((j) => ({
      identifier: j.identifier,
      payload: carrier && isPlainObject(j.payload) ? { ...j.payload, [TRACE_KEY]: carrier } : (j.payload ?? {}),
      max_attempts: j.maxAttempts ?? this.#tasks.get(j.identifier)?.maxAttempts ?? null,
      run_at: j.runAt?.toISOString() ?? null,
      job_key: j.jobKey ?? null,
      queue_name: j.queueName ?? null,
      priority: j.priority ?? null,
    }));
  }

  /**
   * Settles a job a dead worker took with it on its last attempt, through its task's
   * `onAbandoned` (crashed-worker recovery calls this).
   */
  async abandoned(job: RecoveredJob): Promise<void> {
    await this.#tasks.get(job.task)?.onAbandoned?.(job);
  }

  /**
   * graphile-worker's task list. Seals the registry: a task registered later could
   * never run in this process.
   */
  taskList(): TaskList {
    this.#sealed = true;
    const list: TaskList = {};
    for (const [identifier, task] of this.#tasks) {
      list[identifier] = async (raw, helpers) => {
        let payload: unknown = raw;
        let carrier: TraceCarrier | undefined;
        if (isPlainObject(raw) && TRACE_KEY in raw) {
          const { [TRACE_KEY]: trace, ...rest } = raw;
          payload = rest;
          carrier = trace as TraceCarrier;
        }
        const { job } = helpers;
        const execute = async () => {
          const ids = activeTraceIds();
          const log = this.deps.logger.child({ task: identifier, jobId: job.id, attempt: job.attempts, ...ids });
          const started = performance.now();
          try {
            await task.run(payload, { log, job: { id: job.id, attempt: job.attempts, maxAttempts: job.max_attempts, signal: helpers.abortSignal } });
            jobOutcomes.inc({ task: metricTask(identifier), outcome: 'completed' });
          } catch (error) {
            jobOutcomes.inc({ task: metricTask(identifier), outcome: job.attempts >= job.max_attempts ? 'failed' : 'retried' });
            throw error;
          } finally {
            jobDuration.observe({ task: metricTask(identifier) }, (performance.now() - started) / 1000);
          }
        };
        if (!isTracing()) return execute();
        await withJobSpan(
          task.spanName ?? identifier,
          carrier,
          { 'duality.job.task': identifier, 'duality.job.id': job.id, 'duality.job.attempt': job.attempts, 'duality.job.max_attempts': job.max_attempts },
          execute,
        );
      };
    }
    return list;
  }
}
