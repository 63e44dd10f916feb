import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { describeTopology, startTopology } from './topology/topology.ts';

/**
 * `npm run topology -- --servers 2 --workers 2 [--port 3000] [--shared-data-dir]`:
 * the compose topology without Docker (see docs/deployment.md). Ctrl-C stops everything;
 * a second Ctrl-C kills it.
 */
const USAGE = 'usage: npm run topology -- [--servers N] [--workers N] [--port P] [--shared-data-dir] [--quiet]';

let values;
try {
  ({ values } = parseArgs({
    options: {
      servers: { type: 'string', default: '2' },
      workers: { type: 'string', default: '2' },
      port: { type: 'string', default: '3000' },
      // Each process its own DATA_DIR by default, as on separate hosts: nothing it needs from another is on disk.
      'separate-data-dirs': { type: 'boolean', default: true },
      'shared-data-dir': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const count = (name: string, raw: string, min: number) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > 32) {
    console.error(`--${name} must be a whole number from ${min} to 32 (got "${raw}")\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const servers = count('servers', values.servers, 1);
const workers = count('workers', values.workers, 0);
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number (got "${values.port}")\n${USAGE}`);
  process.exit(2);
}

let config;
try {
  config = loadConfig();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
const logger = createLogger({ logLevel: 'warn' });

console.log(`starting ${servers} server(s), ${workers} worker(s)…`);
const topology = await startTopology({
  servers,
  workers,
  port,
  separateDataDirs: !values['shared-data-dir'],
  config,
  logger,
  onLine: values.quiet ? undefined : (proc, line) => process.stdout.write(`[${proc.name}] ${line}\n`),
}).catch((error: unknown) => {
  console.error(`topology did not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

console.log(`\n${describeTopology(topology)}\n\nCtrl-C stops everything (a second Ctrl-C kills it).`);
for (const p of [...topology.servers, ...topology.workers]) {
  void p.exited.then(({ code, signal }) => {
    if (!stopping) console.error(`${p.name} exited on its own (${signal ?? `code ${code}`}); the others keep running`);
  });
}

let stopping = false;
const onSignal = () => {
  if (stopping) {
    console.log('killing everything');
    topology.kill();
    return;
  }
  stopping = true;
  console.log('\nstopping: SIGTERM to every process, waiting for in-flight work…');
  void topology.stop().then(
    () => {
      console.log('stopped');
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
// Not removeAllListeners: tsx's hidden listener tells the tsx parent we got the signal (see server/main.ts).
for (const signal of ['SIGTERM', 'SIGINT'] as const) for (const listener of process.listeners(signal)) process.off(signal, listener);
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
