/** The real app, as `npm start` builds it, on the benchmark's database (no migrations, no worker). */
import { buildApp } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/logger.ts';

const config = loadConfig({ ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', PORT: '0' });
const app = await buildApp({ config, logger: createLogger(config), databaseUrl: process.env.BENCH_DATABASE_URL! });
const address = await app.http.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`PORT ${new URL(address).port}\n`);
process.on('SIGINT', () => void app.close().then(() => process.exit(0)));
