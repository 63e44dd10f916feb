import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createCore } from '../app.ts';
import { migrateToLatest } from '../db/migrations.ts';
import { AppError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { NewUserInput, RoleName } from '../modules/users/user.schemas.ts';
import { promptSecret, readSecretFromStdin } from './read-secret.ts';
import { CliError, runWithDatabase } from './with-database.ts';

/**
 * `npm run user:create -- --email E --name N [--password-stdin] [--role admin]...`
 *
 * Creates an account the way sign-up does (same validation, same service, the
 * member role) plus any `--role`, typically the first administrator. Works against
 * DATABASE_URL or the embedded database, also while `npm start` runs on it.
 * Pending migrations are applied first, as `npm start` does, so the first admin
 * can be created on a fresh install before the server has ever run.
 * Exits 1 with one line saying what was wrong on invalid input or a duplicate email.
 *
 * The password comes from a prompt on a terminal, or from stdin with `--password-stdin`
 * (scripts, CI). `--password P` still works but puts the password where `ps` and the
 * shell's history show it, so it warns on stderr.
 */
const USAGE =
  'usage: npm run user:create -- --email <email> --name <name> [--password-stdin] [--role <role>]...\n' +
  '  The password is asked for on a terminal; with --password-stdin it is read from stdin (one line).';

let values: { email?: string; name?: string; password?: string; 'password-stdin'?: boolean; role?: string[]; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      role: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(1);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const { 'password-stdin': passwordFromStdin, ...options } = values;
if (options.password !== undefined && passwordFromStdin) {
  console.error(`--password and --password-stdin cannot be used together\n${USAGE}`);
  process.exit(1);
}
if (options.password !== undefined) {
  console.error('warning: --password puts the password where `ps` and your shell history show it; use the prompt or --password-stdin instead.');
} else if (passwordFromStdin) {
  options.password = await readSecretFromStdin();
} else if (process.stdin.isTTY) {
  options.password = await promptSecret('Password: ');
  if ((await promptSecret('Repeat the password: ')) !== options.password) {
    console.error('The passwords do not match.');
    process.exit(1);
  }
} else {
  console.error(`No password: stdin is not a terminal, so pass --password-stdin and pipe the password in.\n${USAGE}`);
  process.exit(1);
}

const parsed = NewUserInput.extend({ role: z.array(RoleName).default([]) }).safeParse(options);
if (!parsed.success) {
  const problems = parsed.error.issues.map((i) => `  --${i.path.join('.') || 'input'}: ${i.message}`);
  console.error(`Invalid input:\n${problems.join('\n')}\n${USAGE}`);
  process.exit(1);
}
const { role, ...input } = parsed.data;

await runWithDatabase(async (db, { config }) => {
  await migrateToLatest(db);
  // The full core, so the account's user.created is queued for every subscriber (the
  // welcome mail goes out once a worker runs).
  const { users } = createCore({ config, db, logger: createLogger({ logLevel: 'warn' }) }).services;
  try {
    // The operator vouches for the address: no verification code is mailed.
    const user = await users.create({ ...input, extraRoles: role, emailVerified: true });
    console.log(`Created user ${user.email} (${user.id}) with roles: ${user.roles.join(', ')}`);
  } catch (error) {
    if (error instanceof AppError) {
      const detail = error.issues?.map((i) => `  ${i.message}`).join('\n');
      throw new CliError(detail ? `${error.message}:\n${detail}` : error.message);
    }
    throw error;
  }
});
