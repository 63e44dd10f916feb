import { run, type TaskList, type WorkerEvents } from 'graphile-worker';
import type { Logger } from 'pino';
import { toGraphileLogger } from './graphile-logger.ts';

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
}

/**
 * Starts a graphile-worker pool on the app's database. Several workers (in this
 * process or others) can run against one database: each job is locked by exactly one
 * of them while it runs. Signals are left to the caller (server/main.ts), which stops
 * HTTP and the worker together.
 */
export async function startWorker(opts: WorkerOptions): Promise<WorkerHandle> {
  const runner = await run({
    connectionString: opts.databaseUrl,
    taskList: opts.taskList,
    concurrency: opts.concurrency,
    pollInterval: opts.pollIntervalMs,
    // The pool serves the job fetches and completions; task code uses the app's knex pool.
    maxPoolSize: opts.concurrency + 2,
    noHandleSignals: true,
    // No crontab file in the working directory is read; recurring jobs would be declared in code.
    crontab: '',
    logger: toGraphileLogger(opts.logger),
    gracefulShutdownAbortTimeout: opts.shutdownAbortAfterMs ?? 30_000,
  });
  let stopping: Promise<void> | undefined;
  return {
    events: runner.events,
    done: runner.promise,
    stop() {
      stopping ??= runner.stop().catch((error: unknown) => {
        // Stopping twice (e.g. the pool had already exited) is not a failure.
        if (!(error instanceof Error && /already stopped/.test(error.message))) throw error;
      });
      return stopping;
    },
  };
}
