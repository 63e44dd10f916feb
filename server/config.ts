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
  IDEMPOTENCY_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(24)
    .describe('How long an Idempotency-Key and its stored response are kept, in hours; a key reused later runs again (docs/retries.md)'),
  IDEMPOTENCY_MAX_RESPONSE_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(65_536)
    .describe('Largest response body kept for an idempotent replay, in bytes; a larger one is recorded without its body and a retry gets 409 (docs/retries.md)'),
  TEST_FAILPOINT: z
    .enum(['idempotency-after-commit'])
    .optional()
    .describe('Test only, refused in production: idempotency-after-commit kills the server right after a keyed mutation commits, before it responds'),
  /** Set to true behind a reverse proxy, so the client IP (rate limits) and host (origin check) come from X-Forwarded-*. */
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
  idempotency: { ttlHours: number; maxResponseBytes: number };
  failpoint: string | undefined;
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
  if (e.TEST_FAILPOINT && e.NODE_ENV === 'production') throw new ConfigError('Invalid configuration:\n  TEST_FAILPOINT: a test-only crash switch, refused when NODE_ENV=production');
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
    idempotency: { ttlHours: e.IDEMPOTENCY_TTL_HOURS, maxResponseBytes: e.IDEMPOTENCY_MAX_RESPONSE_BYTES },
    failpoint: e.TEST_FAILPOINT,
  };
}
