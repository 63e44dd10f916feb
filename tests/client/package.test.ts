import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClientPackage, CLIENT_PACKAGE_NAME, type BuiltPackage } from '../../server/cli/client-package/build.ts';
import { checkConsumer } from '../../server/cli/client-package/consumer.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The client package a frontend in another repository installs (`npm run client:check`
 * does the same in CI, against `npm start`): packed, installed with only its peers,
 * compiled under a strict frontend tsconfig with assertions that no procedure's types
 * are `any`, and run against the live app.
 */
const repo = path.resolve(import.meta.dirname, '../..');
// Inside the repository, so the build resolves the peers from its node_modules.
const distDir = path.join(repo, 'node_modules', '.cache', `duality-client-test-${randomBytes(4).toString('hex')}`);
let t: TestApp;
let built: BuiltPackage;

beforeAll(async () => {
  [t, built] = await Promise.all([startTestApp(), buildClientPackage(repo, { distDir })]);
}, 240_000);
afterAll(async () => {
  await t?.close();
  await fs.rm(distDir, { recursive: true, force: true });
});

describe('the client package', () => {
  it('packs .js and .d.ts for both clients, versioned as the server, with the peers as peer dependencies', async () => {
    const { stdout } = await promisify(execFile)('tar', ['-tzf', built.tarball]);
    const files = stdout.trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
    for (const name of ['index', 'rest', 'router', 'paginate', 'rest-types']) expect(files).toEqual(expect.arrayContaining([`${name}.js`, `${name}.d.ts`]));
    expect(files).toContain('openapi.json');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);

    const manifest = JSON.parse(await fs.readFile(path.join(built.dir, 'package.json'), 'utf8'));
    const root = JSON.parse(await fs.readFile(path.join(repo, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: CLIENT_PACKAGE_NAME, version: root.version, type: 'module' });
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['@trpc/client', '@trpc/server', 'openapi-fetch', 'superjson']);
    expect(manifest.peerDependenciesMeta).toEqual({ 'openapi-fetch': { optional: true } });
    // None of the server's own dependencies (fastify, knex, objection, pino, zod…).
    for (const name of Object.keys(manifest.dependencies ?? {})) expect(['fastify', 'knex', 'objection', 'pg', 'pino', 'zod', 'graphile-worker']).not.toContain(name);
  });

  it('imports nothing but its own files and declared packages: none of the server', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(built.dir, 'package.json'), 'utf8'));
    const declared = new Set([...Object.keys(manifest.peerDependencies), ...Object.keys(manifest.dependencies ?? {})]);
    for (const file of await fs.readdir(built.dir)) {
      if (!/\.(js|d\.ts)$/.test(file)) continue;
      const text = await fs.readFile(path.join(built.dir, file), 'utf8');
      const specifiers = [...text.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      for (const s of specifiers) {
        if (s.startsWith('.')) expect(s, `${file} imports ${s}`).toMatch(/^\.\/[\w-]+\.js$/);
        else expect(declared.has(s.split('/').slice(0, s.startsWith('@') ? 2 : 1).join('/')), `${file} imports ${s}`).toBe(true);
      }
    }
    expect(built.procedures.length).toBeGreaterThan(10);
  });

  it('compiles under a strict frontend tsconfig, with no `any` in any procedure, and both clients work against the live server', async () => {
    const result = await checkConsumer({ repoRoot: repo, tarball: built.tarball, url: t.url });
    expect(result.output).toMatch(/client check passed/);
  }, 240_000);
});
