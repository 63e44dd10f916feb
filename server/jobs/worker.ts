import { EventEmitter } from 'node:events';
import { parseCronItems, run, type TaskList, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import type { Logger } from 'pino';
import { toGraphileLogger } from './graphile-logger.ts';
import type { WorkerRecovery } from './recovery.ts';

/** A running worker: how to stop it and how to know it died. */
export interface WorkerHandle {
  /**
   * Stops taking jobs and waits for the running ones to finish (graceful). Jobs that
   * outlive the grace period see their `signal` aborted; whatever still fails is
   * retried later by whichever worker is up.
   */
  stop(): Promise<void>;
  /** Settles when the worker stops; rejects when it stopped because of an error. */
  done: Promise<void>;
  /** graphile-worker's event emitter (job:success, job:error, …). */
  events: WorkerEvents;
}

export interface WorkerOptions {
  databaseUrl: string;
  taskList: TaskList;
  /** Jobs this process runs at the same time. */
  concurrency: number;
  /** How often to look for jobs that became due (retries); new jobs arrive by LISTEN/NOTIFY. */
  pollIntervalMs: number;
  logger: Logger;
  /** Milliseconds after a stop request before running jobs' `signal` is aborted. */
  shutdownAbortAfterMs?: number;
  /** Recurring tasks: crontab patterns (UTC) by task identifier. */
  schedules?: { task: string; match: string }[];
  /** Heartbeats for this worker's pool, so its jobs are released soon if the process dies. */
  recovery?: WorkerRecovery;
}

/**
 * Starts a graphile-worker pool on the app's database. Several workers (in this
 * process or others) can run against one database: each job is locked by exactly one
 * of them while it runs. Signals are left to the caller (server/main.ts), which stops
 * HTTP and the worker together.
 */
export async function startWorker(opts: WorkerOptions): Promise<WorkerHandle> {
  // Our own pool, so that a connection dropped by the database (restart, failover, a
  // stop during our shutdown) is logged and replaced instead of crashing the process with
  // an unhandled 'error'. It serves job fetches and completions; tasks use the knex pool.
  const pgPool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.concurrency + 2, application_name: 'duality-worker' });
  // These stay for the pool's whole life: graphile-worker's own ones are removed while
  // it shuts down, which is exactly when a stopping database drops connections.
  pgPool.on('error', (error) => opts.logger.warn({ err: error }, 'an idle worker connection failed; the pool replaces it'));
  pgPool.on('connect', (client) => {
    client.on('error', (error) => opts.logger.warn({ err: error }, 'a worker connection failed'));
  });
  // Our own emitter, so the recovery hears the pool being created inside run().
  const events: WorkerEvents = new EventEmitter();
  opts.recovery?.attach(events);
  const runner = await run({
    pgPool,
    events,
    taskList: opts.taskList,
    concurrency: opts.concurrency,
    pollInterval: opts.pollIntervalMs,
    noHandleSignals: true,
    // Recurring jobs are declared in code (a task's `schedule`); no crontab file is read
    // from the working directory. A tick missed while no worker ran is not made up.
    parsedCronItems: parseCronItems((opts.schedules ?? []).map((s) => ({ task: s.task, match: s.match, identifier: s.task }))),
    logger: toGraphileLogger(opts.logger),
    gracefulShutdownAbortTimeout: opts.shutdownAbortAfterMs ?? 15_000,
    preset: {
      worker: {
        // With the default (-1) a job's completion is a fire-and-forget query, and a
        // graceful shutdown can close the pool under it: the job finished but stays
        // locked for 4 hours. Through the batcher (even with no delay), shutdown
        // waits for every completion and failure to be written.
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    },
  }).catch(async (error: unknown) => {
    await pgPool.end();
    throw error;
  });
  let stopping: Promise<void> | undefined;
  return {
    events: runner.events,
    done: runner.promise,
    stop() {
      stopping ??= runner
        .stop()
        .catch((error: unknown) => {
          // Stopping twice (e.g. the pool had already exited) is not a failure.
          if (!(error instanceof Error && /already stopped/.test(error.message))) throw error;
        })
        .finally(() => pgPool.end());
      return stopping;
    },
  };
}
