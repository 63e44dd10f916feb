import { Logger as GraphileLogger, type LogLevel } from 'graphile-worker';
import type { Logger } from 'pino';

const LEVELS: Record<LogLevel, 'error' | 'warn' | 'info' | 'debug'> = {
  error: 'error',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
};

/**
 * graphile-worker logs through our pino logger, so its lines share the app's format and
 * level. It attaches the whole job row to its lines (payload and last error included,
 * which hold emails and names): only the job's identity goes through.
 */
export function toGraphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const { error, ...rest } = (meta ?? {}) as { error?: unknown };
    const worker = withoutJobData({ ...scope, ...rest });
    logger[LEVELS[level] ?? 'info']({ worker, ...(error ? { err: error } : {}) }, message);
  });
}

interface JobRow {
  id?: unknown;
  task_identifier?: unknown;
  attempts?: unknown;
  max_attempts?: unknown;
  queue_name?: unknown;
}

function withoutJobData(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'job' && isObject(value)) out.job = jobIdentity(value);
    else if (key === 'jobs' && Array.isArray(value)) out.jobs = value.map((j: unknown) => (isObject(j) ? jobIdentity(j) : j));
    else if (key !== 'payload') out[key] = value;
  }
  return out;
}

function jobIdentity(job: JobRow): Record<string, unknown> {
  return { id: job.id, task: job.task_identifier, attempts: job.attempts, maxAttempts: job.max_attempts, ...(job.queue_name ? { queue: job.queue_name } : {}) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
