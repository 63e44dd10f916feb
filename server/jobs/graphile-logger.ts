import { Logger as GraphileLogger, type LogLevel } from 'graphile-worker';
import type { Logger } from 'pino';

const LEVELS: Record<LogLevel, 'error' | 'warn' | 'info' | 'debug'> = {
  error: 'error',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
};

/** graphile-worker logs through our pino logger, so its lines share the app's format and level. */
export function toGraphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const { error, ...rest } = (meta ?? {}) as { error?: unknown };
    logger[LEVELS[level] ?? 'info']({ worker: { ...scope, ...rest }, ...(error ? { err: error } : {}) }, message);
  });
}
