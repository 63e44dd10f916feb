import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';

/** Structured JSON logs; secrets named here never reach a log line. */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.token'],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
