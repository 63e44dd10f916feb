import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildClientPackage } from './client-package/build.ts';
import { checkConsumer } from './client-package/consumer.ts';
import { startLiveServer } from './client-package/live-server.ts';

/**
 * `npm run client:build`: the typed clients as an npm package, packed to
 * dist/duality-client-<version>.tgz (docs/clients.md says how a frontend installs it).
 *
 * `npm run client:check [-- --url http://…]`: builds it, installs the tarball into a
 * scratch project with only its peers, compiles client/consumer/sample.ts under a strict
 * frontend tsconfig and runs it against a live server: the one at --url, or else
 * `npm start` on a free port with its own data directory (embedded PostgreSQL unless
 * DATABASE_URL is set), stopped afterwards. Exits 1 on any failure.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [command, ...args] = process.argv.slice(2);
const log = (line: string) => console.log(`client: ${line}`);

try {
  if (command === 'build') {
    await buildClientPackage(repoRoot, { log });
  } else if (command === 'check') {
    const urlFlag = args.indexOf('--url');
    const givenUrl = urlFlag >= 0 ? args[urlFlag + 1] : undefined;
    const built = await buildClientPackage(repoRoot, { log });
    const dataDir = givenUrl ? undefined : await fs.mkdtemp(path.join(os.tmpdir(), 'duality-client-server-'));
    const server = dataDir ? await startLiveServer(repoRoot, dataDir) : undefined;
    try {
      const url = givenUrl ?? server!.url;
      log(`running the sample against ${url}`);
      const result = await checkConsumer({ repoRoot, tarball: built.tarball, url, log });
      process.stdout.write(result.output);
    } finally {
      await server?.stop();
      if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
    }
  } else {
    console.error('usage: tsx server/cli/client-package.ts build | check [--url <server>]');
    process.exit(2);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
