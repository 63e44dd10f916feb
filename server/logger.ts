import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';
import { activeTraceIds, isTracing } from './observability/tracing.ts';

/**
 * While tracing, every line logged inside a traced operation (a request, a job, a mail
 * sent for it) carries the trace and span ids, unless its logger was bound to them
 * already (a request's logger is, so its lines outside the span's async context, such as
 * "request completed", are tied to the trace too).
 */
function traceFields(_merge: object, _level: number, logger: Logger): object {
  // pino merges the line's own fields into the returned object, so it must be a fresh one.
  if (!isTracing()) return {};
  const ids = activeTraceIds();
  if (!ids || 'trace_id' in logger.bindings()) return {};
  return ids;
}

/** Structured JSON logs; secrets named here never reach a log line. */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    mixin: traceFields,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.token'],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
