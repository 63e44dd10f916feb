import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
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

/**
 * One node process (no tsx wrapper), so /proc/<pid>/cmdline is the command's own. `feed`
 * runs once the process is up and gets its pid and stdin.
 */
function userCreateWithStdin(args: string[], feed: (pid: number, stdin: NodeJS.WritableStream) => Promise<void>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli/user-create.ts', ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return feed(child.pid!, child.stdin).then(async () => ({ code: await exited, stdout, stderr }));
}

describe('npm run user:create', () => {
  it('creates the first admin from a password on stdin, which never appears in the process list', async () => {
    const password = 'a long admin password';
    let cmdline = '';
    const res = await userCreateWithStdin(['--email', 'Root@Example.com', '--name', 'Root', '--password-stdin', '--role', 'admin'], async (pid, stdin) => {
      // While the command waits for its password, read what `ps` would show.
      await new Promise((r) => setTimeout(r, 300));
      cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      stdin.end(`${password}\n`);
    });
    expect(cmdline).toContain('--password-stdin');
    expect(cmdline).not.toContain(password);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Created user Root@Example\.com \([0-9a-f-]{36}\) with roles: admin, member\n$/);
    const user = await db('users').where({ email: 'Root@Example.com' }).first();
    expect(await verifyPassword(user.passwordHash, 'a long admin password')).toBe(true);
    const roles = await db('user_roles').join('roles', 'roles.id', 'user_roles.role_id').where({ userId: user.id }).pluck('name');
    expect(roles.sort()).toEqual(['admin', 'member']);
  });

  it('still takes --password, with a warning on stderr; refuses no password at all when stdin is no terminal', async () => {
    const res = await userCreate('--email', 'flag@example.com', '--name', 'Flag', '--password', 'a long flag password');
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/^warning: --password puts the password where `ps` and your shell history show it/);
    const user = await db('users').where({ email: 'flag@example.com' }).first();
    expect(await verifyPassword(user.passwordHash, 'a long flag password')).toBe(true);

    const none = await userCreateWithStdin(['--email', 'none@example.com', '--name', 'None'], async (_pid, stdin) => void stdin.end());
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('No password: stdin is not a terminal, so pass --password-stdin');
    const both = await userCreate('--email', 'both@example.com', '--name', 'Both', '--password', 'x', '--password-stdin');
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('--password and --password-stdin cannot be used together');
    expect(await db('users').whereIn('email', ['none@example.com', 'both@example.com'])).toEqual([]);
  });

  it.skipIf(!existsSync('/usr/bin/script'))('asks on a terminal, twice, without echoing what is typed', async () => {
    const password = 'typed at the prompt';
    // util-linux's `script` gives the command a pseudo-terminal and passes our writes to it as keystrokes.
    const command = [process.execPath, '--import', 'tsx', 'server/cli/user-create.ts', '--email', 'tty@example.com', '--name', 'Tty'].map((a) => `'${a}'`).join(' ');
    const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    const waitForScreen = async (text: string) => {
      for (let i = 0; i < 600 && !screen.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
      expect(screen).toContain(text);
    };
    await waitForScreen('Password: ');
    child.stdin.write(`${password}\r`);
    await waitForScreen('Repeat the password: ');
    child.stdin.write(`${password}\r`);
    await waitForScreen('Created user tty@example.com');
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(screen).not.toContain(password);
    const user = await db('users').where({ email: 'tty@example.com' }).first();
    expect(await verifyPassword(user.passwordHash, password)).toBe(true);
  });

  it('exits 1 with a clear message on a duplicate email, leaving nothing behind', async () => {
    const res = await userCreateWithStdin(['--email', 'root@example.com', '--name', 'Again', '--password-stdin', '--role', 'admin'], async (_pid, stdin) => void stdin.end('another password'));
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
