import path from 'node:path';
import { z } from 'zod';

/**
 * Every environment variable the backend reads, in one place. The README's
 * configuration table is written from this schema; keep them in step.
 */
export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** When unset, an embedded PostgreSQL is started under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('.data'),
  /** Port of the embedded PostgreSQL; 0 picks a free one at start. */
  EMBEDDED_PG_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest request body accepted, in bytes. */
  BODY_LIMIT: z.coerce.number().int().positive().default(1_048_576),
  /** Public base URL, used in the OpenAPI document's servers list. */
  PUBLIC_URL: z.string().url().optional(),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10),
  /**
   * Apply pending migrations when the server starts (under a lock, so instances started
   * together take turns). Set to false where migrations are a separate deploy step;
   * the server then refuses to start while any are pending.
   */
  MIGRATE_ON_START: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Jobs one worker process runs at the same time. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(5),
  /**
   * How often an idle worker looks for jobs that became due (retries, scheduled
   * jobs). New jobs wake it at once through LISTEN/NOTIFY, whatever this is.
   */
  WORKER_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(2000),
  /**
   * A worker process silent this long (no heartbeat) is taken for dead and the jobs it
   * held are released for others; see server/jobs/recovery.ts.
   */
  WORKER_RECOVER_AFTER_MS: z.coerce.number().int().min(400).default(120_000),
  /** smtp(s)://user:pass@host:port; unset writes each mail as an .eml file under DATA_DIR/mail. */
  SMTP_URL: z.string().url().optional(),
  /** The From header of every mail the backend sends. */
  MAIL_FROM: z.string().min(3).default('Duality <no-reply@duality.localhost>'),
  /** How long a graceful shutdown may wait for in-flight work before exiting anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** Sign-in attempts allowed per minute, per client IP and per email (in each process). */
  SIGN_IN_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(10),
  /** Set to true behind a reverse proxy, so the client IP (rate limits) and host (origin check) come from X-Forwarded-*. */
  SLOW_REQUEST_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(1000)
    .describe('Requests slower than this many milliseconds get one warn log line with their DB time and handler time; 0 turns it off.'),
  METRICS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .optional()
    .describe('Serve Prometheus metrics at /metrics on this separate port (every role, workers too); 0 picks a free port. Unset: no metrics port.'),
  METRICS_HOST: z.string().optional().describe('Address the metrics port listens on; default: HOST.'),
  METRICS_TOKEN: z
    .string()
    .min(16)
    .optional()
    .describe('Also serve /metrics on the API port, to requests with `Authorization: Bearer <token>` only. Unset: /metrics is not on the API port.'),
  METRICS_QUEUE_REFRESH_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(10_000)
    .describe("How often, at most, a scrape re-reads the job queue's depth and age from the database."),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .url()
    .optional()
    .describe('OpenTelemetry collector (OTLP) base URL, e.g. http://localhost:4318. Setting it (or OTEL_TRACES_EXPORTER) turns tracing on; the SDK reads every standard OTEL_* variable.'),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json', 'grpc']).optional().describe('OTLP protocol; the SDK default is http/protobuf.'),
  OTEL_TRACES_EXPORTER: z.string().optional().describe('Standard OpenTelemetry variable: otlp, console or none (none turns tracing off).'),
  OTEL_SERVICE_NAME: z.string().optional().describe('Service name on every span; default duality (each span also carries duality.role).'),
  OTEL_TRACES_SAMPLER: z
    .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
    .optional()
    .describe('Standard OpenTelemetry sampler; default parentbased_always_on. With traceidratio samplers, OTEL_TRACES_SAMPLER_ARG is the ratio (e.g. 0.1).'),
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional().describe('Standard OpenTelemetry variable: true forces tracing off whatever else is set.'),
  OTEL_TRACES_SAMPLER_ARG: z.string().optional().describe('The sampler argument, e.g. 0.1 for 10 % with parentbased_traceidratio.'),
  TRUST_PROXY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
});

export type Env = z.infer<typeof EnvSchema>;

/** The validated, typed configuration the composition root is built from. */
export interface Config {
  env: Env['NODE_ENV'];
  isProduction: boolean;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  logLevel: Env['LOG_LEVEL'];
  bodyLimit: number;
  publicUrl: string | undefined;
  dbPoolMax: number;
  migrateOnStart: boolean;
  worker: { concurrency: number; pollIntervalMs: number; recoverAfterMs: number };
  mail: { smtpUrl: string | undefined; from: string; dir: string };
  shutdownTimeoutMs: number;
  signInLimitPerMinute: number;
  trustProxy: boolean;
  slowRequestMs: number;
  metrics: { port: number | undefined; host: string; token: string | undefined; queueRefreshMs: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the environment; throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset": `DATABASE_URL= npm start` should not fail validation.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    logLevel: e.LOG_LEVEL,
    bodyLimit: e.BODY_LIMIT,
    publicUrl: e.PUBLIC_URL,
    dbPoolMax: e.DB_POOL_MAX,
    migrateOnStart: e.MIGRATE_ON_START,
    worker: { concurrency: e.WORKER_CONCURRENCY, pollIntervalMs: e.WORKER_POLL_INTERVAL_MS, recoverAfterMs: e.WORKER_RECOVER_AFTER_MS },
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM, dir: path.join(path.resolve(e.DATA_DIR), 'mail') },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    signInLimitPerMinute: e.SIGN_IN_LIMIT_PER_MINUTE,
    trustProxy: e.TRUST_PROXY,
    slowRequestMs: e.SLOW_REQUEST_MS,
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST ?? e.HOST, token: e.METRICS_TOKEN, queueRefreshMs: e.METRICS_QUEUE_REFRESH_MS },
  };
}
