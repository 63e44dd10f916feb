import os from 'node:os';
import type { WorkerEvents } from 'graphile-worker';
import type { Knex } from 'knex';
import type { Logger } from 'pino';

/** A job that was locked by a dead worker pool when the sweep released it. */
export interface RecoveredJob {
  id: string;
  task: string;
  /** The job's key (graphile-worker's job_key), by which its owner finds what it was for. */
  key: string | null;
  /** Attempts used, counting the one the dead worker was running. */
  attempts: number;
  maxAttempts: number;
  /** False when that was its last attempt: the job will not run again. */
  retried: boolean;
}

export interface WorkerRecoveryOptions {
  db: Knex;
  logger: Logger;
  /**
   * A pool that has not sent a heartbeat for this long is taken for dead and its jobs
   * are released. Heartbeats go out every quarter of it and sweeps run every half, so a
   * killed worker's job is picked up again between 1× and 1.5× this (plus the job's
   * retry backoff and the poll interval).
   */
  recoverAfterMs: number;
  /**
   * Called for each job the dead pool was running on its last attempt. Such a job will
   * not run again, so whatever waits on it (a report in `processing`) must be settled
   * here; the job's key says which (jobs carry no payload through the public view).
   */
  onAbandoned?: (job: RecoveredJob) => Promise<void>;
}

/**
 * Crashed-worker recovery for graphile-worker 0.17.
 *
 * graphile-worker unlocks the jobs of a worker that died without shutting down
 * (SIGKILL, OOM, power loss) only once they have been locked for four hours, and the
 * interval is hard-coded in 0.17. Here every pool this process runs writes a heartbeat
 * row; any process's sweep treats a pool silent for `recoverAfterMs` as dead and calls
 * graphile-worker's own `force_unlock_workers` for it (its documented way to release a
 * crashed worker's jobs early). The job's interrupted attempt counts, and it is made
 * due after the same e^attempts seconds backoff as a failure.
 *
 * Why this is safe where it is used: a live pool keeps beating while its jobs run
 * (heartbeats come from the event loop, which a task only holds between awaits), so
 * only a pool that cannot reach the database for `recoverAfterMs` can lose a job it
 * is still running; such a job cannot commit its result either, and tasks are written
 * to be repeatable (the report job: temporary file + rename, email claimed under a row
 * lock). Pools that never registered (other deployments) keep the four-hour rule.
 */
export class WorkerRecovery {
  readonly #pools = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #ticks = 0;
  #busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: WorkerRecoveryOptions) {
    if (!(opts.recoverAfterMs >= 400)) throw new Error('recoverAfterMs must be at least 400 ms');
  }

  /** Registers the pools a graphile-worker runner creates; pass `events` to `run()` before it starts. */
  attach(events: WorkerEvents): void {
    events.on('pool:create', ({ workerPool }) => this.#serially(() => this.register(workerPool.id)));
    events.on('pool:release', ({ workerPool }) => this.#serially(() => this.unregister(workerPool.id)));
  }

  /** Starts heartbeating for `poolId`, and the periodic beat-and-sweep if not running yet. */
  async register(poolId: string): Promise<void> {
    this.#pools.add(poolId);
    await this.opts.db('worker_heartbeats')
      .insert({ poolId, host: os.hostname(), pid: process.pid })
      .onConflict('poolId')
      .merge({ seenAt: this.opts.db.fn.now() });
    this.#timer ??= setInterval(() => this.#serially(() => this.#tick()), Math.floor(this.opts.recoverAfterMs / 4)).unref();
  }

  /** A pool that shut down cleanly has unlocked its jobs itself; forget it. */
  async unregister(poolId: string): Promise<void> {
    this.#pools.delete(poolId);
    await this.opts.db('worker_heartbeats').where({ poolId }).delete();
    if (this.#pools.size === 0) this.stop();
  }

  /** Stops the timer (the rows of pools still registered go stale and are swept by others). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Waits for the beat or sweep in progress, if any (shutdown and tests). */
  settled(): Promise<void> {
    return this.#busy.then(() => undefined);
  }

  /**
   * Releases the jobs of every pool silent for `recoverAfterMs`, in one transaction, so
   * two processes sweeping at once never both handle a pool. Returns what it released.
   */
  async sweep(): Promise<RecoveredJob[]> {
    const released = await this.opts.db.transaction(async (trx) => {
      const dead = (await trx('worker_heartbeats')
        .where('seenAt', '<', trx.raw(`now() - make_interval(secs => ?)`, [this.opts.recoverAfterMs / 1000]))
        .delete()
        .returning('poolId')) as { poolId: string }[];
      if (dead.length === 0) return { pools: [] as string[], jobs: [] as RecoveredJob[] };
      const pools = dead.map((d) => d.poolId);
      // The public jobs view (it shows no payloads; a task that needs settling gives its jobs a key).
      const { rows } = await trx.raw<{ rows: { id: string; task_identifier: string; key: string | null; attempts: number; max_attempts: number }[] }>(
        `SELECT id::text, task_identifier, key, attempts, max_attempts FROM graphile_worker.jobs WHERE locked_by = ANY(?::text[]) ORDER BY id`,
        [pools],
      );
      await trx.raw('SELECT graphile_worker.force_unlock_workers(?::text[])', [pools]);
      const jobs = rows.map((r) => ({ id: r.id, task: r.task_identifier, key: r.key, attempts: r.attempts, maxAttempts: r.max_attempts, retried: r.attempts < r.max_attempts }));
      for (const job of jobs.filter((j) => j.retried)) {
        // The interrupted attempt counts: back off as graphile-worker does after a failure.
        await trx.raw(`SELECT graphile_worker.reschedule_jobs(ARRAY[?::bigint], run_at => now() + exp(least(?, 10)) * interval '1 second')`, [job.id, job.attempts]);
      }
      const exhausted = jobs.filter((j) => !j.retried).map((j) => j.id);
      if (exhausted.length) {
        await trx.raw('SELECT graphile_worker.permanently_fail_jobs(?::bigint[], ?)', [exhausted, 'The worker running the last attempt stopped unexpectedly']);
      }
      return { pools, jobs };
    });
    if (released.pools.length) this.opts.logger.warn({ pools: released.pools, jobs: released.jobs.map((j) => ({ id: j.id, task: j.task, attempts: j.attempts, retried: j.retried })) }, 'released the jobs of dead worker pools');
    for (const job of released.jobs.filter((j) => !j.retried)) {
      await this.opts.onAbandoned?.(job).catch((error: unknown) => this.opts.logger.error({ err: error, job: job.id, task: job.task }, 'settling an abandoned job failed'));
    }
    return released.jobs;
  }

  async #tick(): Promise<void> {
    this.#ticks += 1;
    if (this.#pools.size) {
      await this.opts.db('worker_heartbeats').whereIn('poolId', [...this.#pools]).update({ seenAt: this.opts.db.fn.now() });
    }
    if (this.#ticks % 2 === 0) await this.sweep();
  }

  /** One database round at a time, and a failure is a log line, never a crash. */
  #serially(work: () => Promise<unknown>): void {
    this.#busy = this.#busy.then(work).catch((error: unknown) => this.opts.logger.warn({ err: error }, 'worker heartbeat or sweep failed; trying again at the next tick'));
  }
}
