import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/**
 * Work a procedure hands over to run once its response has been sent. Best effort:
 * it runs in this process, is lost if the process dies first, and its failure is only
 * logged. For work that must happen, add a job instead
 * (see docs/jobs-and-reports.md, "Which path when").
 */
export type AfterResponseTask = () => void | Promise<void>;

const TASKS = Symbol('afterResponseTasks');

type WithTasks = ServerResponse & { [TASKS]?: AfterResponseTask[] };

/**
 * Runs after-response tasks and keeps track of the running ones, so shutdown can
 * let them finish before the database pool closes.
 *
 * Nothing happens per request unless a procedure adds a task: the first task of a
 * response attaches one `close` listener to it. Node emits `close` on a response once
 * it has been handed to the socket (or the client went away), whichever door sent it.
 * Tasks of one response run one after the other, in the order they were added, and
 * run whatever the response's status was: a procedure adds a task at the point where
 * the work is decided.
 */
export class AfterResponseRunner {
  readonly #running = new Set<Promise<void>>();

  /** Schedules `task` to run after `response` is sent; failures are logged to `log`. */
  schedule(response: ServerResponse, log: Logger, task: AfterResponseTask): void {
    const res = response as WithTasks;
    const queued = res[TASKS];
    if (queued) {
      queued.push(task);
      return;
    }
    const tasks: AfterResponseTask[] = [task];
    res[TASKS] = tasks;
    // Added after the response already went out (e.g. the client left mid-procedure): run now.
    if (res.closed) this.#start(res, tasks, log);
    else res.once('close', () => this.#start(res, tasks, log));
  }

  /** How many responses' tasks are running now. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Resolves once every running task has settled, or after `timeoutMs` (a stuck task
   * must not hold shutdown forever); returns how many were still running then.
   */
  async drain(timeoutMs = 10_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    try {
      while (this.#running.size > 0) {
        if ((await Promise.race([Promise.allSettled([...this.#running]), deadline])) === 'timeout') return this.#running.size;
      }
      return 0;
    } finally {
      clearTimeout(timer);
    }
  }

  #start(res: WithTasks, tasks: AfterResponseTask[], log: Logger): void {
    const run = (async () => {
      // Tasks added while earlier ones run are picked up by this same loop.
      for (let i = 0; i < tasks.length; i++) {
        try {
          await tasks[i]!();
        } catch (error) {
          log.error({ err: error }, 'after-response task failed');
        }
      }
      // Synchronously after the last check: a task added from now on starts a new run.
      delete res[TASKS];
    })();
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }
}
