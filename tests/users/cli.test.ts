import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnex, type Knex } from '../../server/db/knex.ts';
import { verifyPassword } from '../../server/modules/auth/password.ts';
import { createTestDatabase } from '../helpers/test-app.ts';

/**
 * `npm run user:create` as a user runs it: a separate process, against DATABASE_URL.
 * (The embedded-database path is the same runWithDatabase the other CLI commands use.)
 */
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Knex;
beforeAll(async () => {
  database = await createTestDatabase();
  db = createKnex(database.url, { poolMax: 1 });
});
afterAll(async () => {
  await db.destroy();
  await database.drop();
});

async function userCreate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(path.join(root, 'node_modules/.bin/tsx'), ['server/cli/user-create.ts', ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run user:create', () => {
  it('creates the first admin, who can then sign in with that password', async () => {
    const res = await userCreate('--email', 'Root@Example.com', '--name', 'Root', '--password', 'a long admin password', '--role', 'admin');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Created user Root@Example\.com \([0-9a-f-]{36}\) with roles: admin, member\n$/);
    const user = await db('users').where({ email: 'Root@Example.com' }).first();
    expect(await verifyPassword(user.passwordHash, 'a long admin password')).toBe(true);
    const roles = await db('user_roles').join('roles', 'roles.id', 'user_roles.role_id').where({ userId: user.id }).pluck('name');
    expect(roles.sort()).toEqual(['admin', 'member']);
  });

  it('exits 1 with a clear message on a duplicate email, leaving nothing behind', async () => {
    const res = await userCreate('--email', 'root@example.com', '--name', 'Again', '--password', 'another password', '--role', 'admin');
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe('An account with this email already exists');
    expect(await db('users').whereRaw('lower(email) = ?', ['root@example.com'])).toHaveLength(1);
  });

  it('exits 1 naming each invalid or missing option, and on an unknown role', async () => {
    const invalid = await userCreate('--email', 'not-an-email', '--password', 'short');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('--email: Invalid email address');
    expect(invalid.stderr).toContain('--name:');
    expect(invalid.stderr).toContain('--password: Too small');
    expect(invalid.stderr).toContain('usage: npm run user:create');

    const unknownRole = await userCreate('--email', 'x@example.com', '--name', 'X', '--password', 'long enough', '--role', 'wizard');
    expect(unknownRole.code).toBe(1);
    expect(unknownRole.stderr).toContain('No role named wizard');
    expect(await db('users').where({ email: 'x@example.com' })).toEqual([]);

    const unknownOption = await userCreate('--emial', 'x@example.com');
    expect(unknownOption.code).toBe(1);
    expect(unknownOption.stderr).toContain("Unknown option '--emial'");
  });
});
