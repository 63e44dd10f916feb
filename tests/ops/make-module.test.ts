import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm run make:module`: refusals are one line and write nothing; a good name writes the
 * module's files and its line in the module list. Run on a copy of what the generator
 * reads (server/modules, migrations), so the repository is never touched. CI generates a
 * module in a scratch clone and runs its tests (.ci/run).
 */
const repo = path.resolve(import.meta.dirname, '../..');
const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-make-module-'));
afterAll(() => fs.rm(scratch, { recursive: true, force: true }));

await fs.cp(path.join(repo, 'server/modules'), path.join(scratch, 'server/modules'), { recursive: true });
await fs.cp(path.join(repo, 'migrations'), path.join(scratch, 'migrations'), { recursive: true });
await fs.mkdir(path.join(scratch, 'tests'));

function makeModule(name: string) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(repo, 'server/cli/make-module.ts'), name], {
    cwd: repo,
    env: { ...process.env, MAKE_MODULE_ROOT: scratch },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function tree(): Promise<string[]> {
  const files = await fs.readdir(scratch, { recursive: true });
  return files.sort();
}

describe('npm run make:module', () => {
  const refused: [string, RegExp][] = [
    ['Orders', /not kebab-case or camelCase/],
    ['order_lines', /not kebab-case or camelCase/],
    ['9lives', /not kebab-case or camelCase/],
    ['order--lines', /not kebab-case or camelCase/],
    ['delete', /reserved/],
    ['auth', /reserved/],
    ['products', /taken: server\/modules\/products exists/],
    ['product', /taken: its entity "product"/],
    ['', /usage/],
  ];
  for (const [name, reason] of refused) {
    it(`refuses ${JSON.stringify(name)} in one line and writes nothing`, async () => {
      const before = await tree();
      const index = await fs.readFile(path.join(scratch, 'server/modules/index.ts'), 'utf8');
      const r = makeModule(name);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(reason);
      expect(await tree()).toEqual(before);
      expect(await fs.readFile(path.join(scratch, 'server/modules/index.ts'), 'utf8')).toBe(index);
    });
  }

  it('writes a complete module and one line in the list, then refuses the same name', async () => {
    const r = makeModule('order-lines');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const dir = await fs.readdir(path.join(scratch, 'server/modules/order-lines'));
    expect(dir.sort()).toEqual(
      ['events', 'factory', 'model', 'module', 'permissions', 'router', 'schemas', 'service'].map((role) => `order-line.${role}.ts`).sort(),
    );
    expect(await fs.readdir(path.join(scratch, 'tests/order-lines'))).toEqual(['order-lines.test.ts']);
    const migrations = (await fs.readdir(path.join(scratch, 'migrations'))).filter((f) => /order_lines/.test(f)).map((f) => f.slice(15));
    expect(migrations).toEqual(['create_order_lines.ts', 'grant_order_lines_manage.ts']);
    const index = await fs.readFile(path.join(scratch, 'server/modules/index.ts'), 'utf8');
    expect(index).toContain("import { orderLinesModule } from './order-lines/order-line.module.ts';");
    expect(index).toMatch(/\n {2}orderLinesModule,\n\] as const;/);
    const router = await fs.readFile(path.join(scratch, 'server/modules/order-lines/order-line.router.ts'), 'utf8');
    expect(router).toContain("path: '/order-lines/{id}'");
    const events = await fs.readFile(path.join(scratch, 'server/modules/order-lines/order-line.events.ts'), 'utf8');
    expect(events).toContain("'order-line.created'");

    expect(makeModule('orderLines')).toMatchObject({ status: 1, stderr: expect.stringContaining('taken') });
  });
});
