import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { S3Settings } from './storage/s3.ts';

/**
 * TRUST_PROXY: which hops in front of the server may set X-Forwarded-For/-Host/-Proto.
 * `false` (none), a hop count, or a list of addresses and CIDR ranges, as Fastify's
 * `trustProxy` takes them. `true` (trust every hop) lets any client write its own
 * X-Forwarded-For, and so its own IP for the rate limits; it is refused.
 */
const TrustProxy = z
  .string()
  .trim()
  .transform((value, ctx): false | number | string[] => {
    if (value === 'false' || value === '0') return false;
    if (value === 'true') {
      ctx.addIssue({
        code: 'custom',
        message:
          '"true" would trust every hop, so any client could choose its own IP in X-Forwarded-For (and bypass the per-IP limits). Give the number of proxies in front of the server (e.g. 1) or their addresses/CIDR ranges (e.g. 10.0.0.0/8,127.0.0.1)',
      });
      return z.NEVER;
    }
    if (/^\d+$/.test(value)) return Number(value);
    const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean);
    const bad = entries.filter((entry) => !isAddressOrCidr(entry));
    if (bad.length || !entries.length) {
      ctx.addIssue({ code: 'custom', message: `Not a hop count, an IP address or a CIDR range: ${bad.join(', ') || value}` });
      return z.NEVER;
    }
    return entries;
  });

function isAddressOrCidr(entry: string): boolean {
  const [address = '', bits, ...rest] = entry.split('/');
  const family = net.isIP(address);
  if (!family || rest.length) return false;
  if (bits === undefined) return true;
  return /^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback)
    .transform((v) => v === 'true' || v === '1');

/** A per-minute (or per-hour) limit; 0 is not allowed, RATE_LIMITS=off switches them all off. */
const limit = (fallback: number, description: string) => z.coerce.number().int().positive().default(fallback).describe(description);

/**
 * Every environment variable the backend reads, in one place. Each one's `.describe()`
 * is its documentation: `npm run docs` writes docs/reference/configuration.md from this
 * schema (type, default, description) and `npm run docs:check` fails when that page is
 * stale or a variable has no description.
 */
export const EnvSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'])
    .default('development')
    .describe('`production` hides fault details: no stack traces or SQL in any response, only "Internal server error".'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port; `0` picks a free one.'),
  HOST: z.string().default('127.0.0.1').describe('Interface to listen on; `0.0.0.0` in a container.'),
  DATABASE_URL: z
    .string()
    .url()
    .optional()
    .describe('The PostgreSQL to use (`postgres://user:pass@host:5432/db`). Unset: an embedded PostgreSQL is started under `DATA_DIR`.'),
  DATA_DIR: z
    .string()
    .default('.data')
    .describe('Local data: the embedded database (`DATA_DIR/postgres`, its log `postgres.log`), mail files, report files. Git-ignored.'),
  EMBEDDED_PG_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(0)
    .describe('Port of the embedded PostgreSQL (127.0.0.1 only); `0` picks a free one at each start.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level; `silent` turns logging off.'),
  BODY_LIMIT: z.coerce.number().int().positive().default(1_048_576).describe('Largest request body accepted, in bytes; a larger one gets 413.'),
  PUBLIC_URL: z
    .string()
    .url()
    .optional()
    .describe('Public base URL, written into the OpenAPI document\'s `servers`, links in mails and the origin check. Unset: `http://localhost:$PORT`.'),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const origins = v.split(',').map((o) => o.trim()).filter(Boolean);
      for (const origin of origins) {
        let parsed: URL | undefined;
        try {
          parsed = new URL(origin);
        } catch {
          // reported below
        }
        if (!parsed || parsed.origin !== origin) ctx.addIssue({ code: 'custom', message: `${origin} is not an origin such as https://app.example.com (scheme, host, port; no path)` });
      }
      return origins;
    })
    .describe(
      'Comma-separated origins whose pages may call the API from a browser, with credentials (e.g. `https://app.example.com,http://localhost:5173`). Empty: none; the docs page on the server\'s own origin needs no entry.',
    ),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10).describe('Database connections per process (each running job holds one).'),
  MIGRATE_ON_START: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1')
    .describe(
      'Apply pending migrations when a process starts (under a lock, so instances started together take turns). `false` where migrations are a separate deploy step: the process then refuses to start while any are pending.',
    ),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(5).describe('Jobs one worker process runs at the same time.'),
  WORKER_POLL_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(10)
    .default(2000)
    .describe('How often an idle worker looks for jobs that became due (retries, scheduled jobs). New jobs wake it at once through LISTEN/NOTIFY.'),
  WORKER_RECOVER_AFTER_MS: z.coerce
    .number()
    .int()
    .min(400)
    .default(120_000)
    .describe('A worker process silent this long (no heartbeat) is taken for dead and the jobs it held are released for others (server/jobs/recovery.ts).'),
  SMTP_URL: z
    .string()
    .url()
    .optional()
    .describe('`smtp(s)://user:pass@host:port` to send mail by SMTP. Unset: each mail is written as an `.eml` file under `DATA_DIR/mail`.'),
  MAIL_FROM: z.string().min(3).default('Duality <no-reply@duality.localhost>').describe('The From header of every mail the backend sends.'),
  SHUTDOWN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(30_000)
    .describe('How long SIGTERM/SIGINT waits for in-flight requests and jobs before exiting 1; a second signal exits at once.'),
  RATE_LIMITS: z
    .enum(['on', 'off'])
    .default('on')
    .describe('`off` switches every rate limit off (benchmarks, load tests); the server warns at start-up. Never in production.'),
  SIGN_IN_LIMIT_PER_MINUTE: limit(10, 'Sign-in attempts per minute against one account from one client IP'),
  SIGN_IN_IP_LIMIT_PER_MINUTE: limit(30, 'Sign-in attempts per minute from one client IP, whatever the accounts'),
  SIGN_IN_ACCOUNT_LIMIT_PER_MINUTE: limit(
    100,
    'Sign-in attempts per minute against one account from all IPs together (slows guessing spread over many IPs); well above the per-IP limits, so one stranger cannot lock the owner out',
  ),
  SIGN_UP_LIMIT_PER_HOUR: limit(5, 'Sign-ups per hour from one client IP'),
  PASSWORD_RESET_LIMIT_PER_HOUR: limit(5, 'Password-reset and verification mails per hour, per client IP and per account'),
  REPORT_LIMIT_PER_HOUR: limit(20, 'Report requests per hour per user'),
  MAX_PENDING_REPORTS: limit(3, 'Reports one user may have queued or in progress at once; more is a 429'),
  REPORT_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .default(30)
    .describe(
      'Days a report is kept after it was requested: then a daily job deletes it, its stored file (on every backend) and its `.eml` file. `0` keeps reports forever.',
    ),
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
    .describe('Test only, refused in production: `idempotency-after-commit` kills the server right after a keyed mutation commits, before it responds'),
  TRUST_PROXY: TrustProxy.default(false).describe(
    'Which proxies in front of the server may set X-Forwarded-For/-Proto/-Host: `false`, a hop count (e.g. `1`), or a comma-separated list of addresses/CIDR ranges. `true` is refused (any client could pick its IP).',
  ),
  DOCS_ENABLED: flag('true').describe('Serve the API browser at /docs (with /docs/json and /docs/yaml). `false`: those answer 404; the document stays at /openapi.json. Turn off in production if the API should not be browsable.'),
  SESSION_MAX_AGE_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3650)
    .default(90)
    .describe('Absolute session lifetime in days: a session ends this long after sign-in, however often it is used (use keeps it alive up to 30 days at a time)'),
  TRPC_MAX_BATCH: z.coerce.number().int().min(1).max(1000).default(20).describe('Most calls one batched tRPC request may carry; more is a 400'),
  SLOW_REQUEST_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(1000)
    .describe('Requests slower than this many milliseconds get one warn log line with their DB time and handler time; 0 turns it off.'),
  SLOW_REQUEST_DB_TIME: z
    .enum(['auto', 'on', 'off'])
    .default('auto')
    .describe(
      'Whether the slow-request line includes time in SQL (`dbMs`, `dbQueries`). `auto`: on Node 24+ (where following a request through its queries is free) and while tracing; off on Node 20–22 without tracing, where it costs every request ~10 % of a get-by-id. `on` forces it.',
    ),
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
  STORAGE_URL: z
    .string()
    .optional()
    .describe('Where report files are stored: unset = PostgreSQL, s3://bucket/prefix = an S3-compatible bucket, file:///absolute/path = a local directory (single host)'),
  AWS_REGION: z.string().optional().describe('AWS region of the S3 bucket; us-east-1 when AWS_ENDPOINT_URL_S3 is set and this is not'),
  AWS_ENDPOINT_URL_S3: z.string().url().optional().describe('S3-compatible endpoint (MinIO, a local server); unset = AWS S3'),
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .optional()
    .describe('Path-style S3 addressing (endpoint/bucket/key); default true when AWS_ENDPOINT_URL_S3 is set'),
  S3_PRESIGN: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1')
    .describe('With S3 storage, answer downloads with 302 to a short-lived presigned URL instead of streaming through the API'),
  S3_PRESIGN_EXPIRES_SECONDS: z.coerce.number().int().min(1).max(604_800).default(300).describe('Lifetime of a presigned download URL, in seconds'),
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
  /** Origins allowed to call from a browser (CORS), with credentials. */
  corsOrigins: string[];
  dbPoolMax: number;
  migrateOnStart: boolean;
  worker: { concurrency: number; pollIntervalMs: number; recoverAfterMs: number };
  mail: { smtpUrl: string | undefined; from: string; dir: string };
  shutdownTimeoutMs: number;
  /** Every rate limit; `enabled: false` when RATE_LIMITS=off. */
  limits: {
    enabled: boolean;
    signInPerMinute: number;
    signInIpPerMinute: number;
    signInAccountPerMinute: number;
    signUpPerHour: number;
    passwordResetPerHour: number;
    reportsPerHour: number;
    maxPendingReports: number;
  };
  trustProxy: false | number | string[];
  trpcMaxBatch: number;
  docsEnabled: boolean;
  /** Days reports (rows, files, mails) are kept; 0 = forever. */
  reportRetentionDays: number;
  sessionMaxAgeDays: number;
  idempotency: { ttlHours: number; maxResponseBytes: number };
  failpoint: string | undefined;
  slowRequestMs: number;
  slowRequestDbTime: 'auto' | 'on' | 'off';
  metrics: { port: number | undefined; host: string; token: string | undefined; queueRefreshMs: number };
  storage: StorageConfig;
}

/** Which file storage `STORAGE_URL` names; see server/storage/from-config.ts. */
export type StorageConfig =
  | { kind: 'postgres' }
  | { kind: 'file'; directory: string }
  | { kind: 's3'; s3: S3Settings; presign: { expiresInSeconds: number } | undefined };

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
    corsOrigins: e.CORS_ORIGINS,
    dbPoolMax: e.DB_POOL_MAX,
    migrateOnStart: e.MIGRATE_ON_START,
    worker: { concurrency: e.WORKER_CONCURRENCY, pollIntervalMs: e.WORKER_POLL_INTERVAL_MS, recoverAfterMs: e.WORKER_RECOVER_AFTER_MS },
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM, dir: path.join(path.resolve(e.DATA_DIR), 'mail') },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    limits: {
      enabled: e.RATE_LIMITS === 'on',
      signInPerMinute: e.SIGN_IN_LIMIT_PER_MINUTE,
      signInIpPerMinute: e.SIGN_IN_IP_LIMIT_PER_MINUTE,
      signInAccountPerMinute: e.SIGN_IN_ACCOUNT_LIMIT_PER_MINUTE,
      signUpPerHour: e.SIGN_UP_LIMIT_PER_HOUR,
      passwordResetPerHour: e.PASSWORD_RESET_LIMIT_PER_HOUR,
      reportsPerHour: e.REPORT_LIMIT_PER_HOUR,
      maxPendingReports: e.MAX_PENDING_REPORTS,
    },
    trustProxy: e.TRUST_PROXY,
    trpcMaxBatch: e.TRPC_MAX_BATCH,
    docsEnabled: e.DOCS_ENABLED,
    reportRetentionDays: e.REPORT_RETENTION_DAYS,
    sessionMaxAgeDays: e.SESSION_MAX_AGE_DAYS,
    idempotency: { ttlHours: e.IDEMPOTENCY_TTL_HOURS, maxResponseBytes: e.IDEMPOTENCY_MAX_RESPONSE_BYTES },
    failpoint: e.TEST_FAILPOINT,
    slowRequestMs: e.SLOW_REQUEST_MS,
    slowRequestDbTime: e.SLOW_REQUEST_DB_TIME,
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST ?? e.HOST, token: e.METRICS_TOKEN, queueRefreshMs: e.METRICS_QUEUE_REFRESH_MS },
    storage: storageConfig(e),
  };
}

/** STORAGE_URL and the S3 variables → StorageConfig; a bad value is a ConfigError naming the variable. */
function storageConfig(e: Env): StorageConfig {
  const raw = e.STORAGE_URL;
  const bad = (message: string, variable = 'STORAGE_URL') => new ConfigError(`Invalid configuration:\n  ${variable}: ${message}`);
  if (e.S3_PRESIGN && !/^s3:/i.test(raw ?? '')) throw bad('presigned downloads need S3 storage (STORAGE_URL=s3://bucket/prefix)', 'S3_PRESIGN');
  if (!raw || /^postgres(ql)?:$/i.test(raw)) return { kind: 'postgres' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad(`${JSON.stringify(raw)} is not a URL; use s3://bucket/prefix or file:///absolute/path`);
  }
  switch (url.protocol) {
    case 'file:': {
      if (url.host) throw bad(`file URLs name a local path: file:///absolute/path (three slashes), not ${raw}`);
      return { kind: 'file', directory: path.resolve(fileURLToPath(url)) };
    }
    case 's3:': {
      const bucket = url.hostname;
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw bad(`${JSON.stringify(bucket)} is not a valid bucket name (s3://bucket/prefix)`);
      const trimmed = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
      const prefix = trimmed ? `${trimmed}/` : '';
      const endpoint = e.AWS_ENDPOINT_URL_S3;
      return {
        kind: 's3',
        s3: { bucket, prefix, region: e.AWS_REGION, endpoint, forcePathStyle: e.S3_FORCE_PATH_STYLE ?? Boolean(endpoint) },
        presign: e.S3_PRESIGN ? { expiresInSeconds: e.S3_PRESIGN_EXPIRES_SECONDS } : undefined,
      };
    }
    case 'postgres:':
      throw bad('postgres: alone means the app database; a separate database for files is not supported');
    default:
      throw bad(`unknown scheme ${JSON.stringify(url.protocol)}; use s3://bucket/prefix, file:///absolute/path, or leave it unset to keep files in PostgreSQL`);
  }
}

