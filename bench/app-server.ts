/**
 * The real app, as `npm start` builds it, on the benchmark's database (no migrations, no
 * worker). Tracing starts first when the OTEL_* variables ask for it, as in server/main.ts.
 */
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/logger.ts';
import { startTracing, tracingRequested } from '../server/observability/tracing.ts';

const config = loadConfig({ ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', PORT: '0' });
if (tracingRequested(process.env)) await startTracing({ role: 'bench' });
const { buildApp } = await import('../server/app.ts');
const app = await buildApp({ config, logger: createLogger(config), databaseUrl: process.env.BENCH_DATABASE_URL! });
const address = await app.http.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`PORT ${new URL(address).port}\n`);
process.on('SIGINT', () => void app.close().then(() => process.exit(0)));
