import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createCore } from '../app.ts';
import { migrateToLatest } from '../db/migrations.ts';
import { AppError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { NewUserInput, RoleName } from '../modules/users/user.schemas.ts';
import { CliError, runWithDatabase } from './with-database.ts';

/**
 * `npm run user:create -- --email E --name N --password P [--role admin]...`
 *
 * Creates an account the way sign-up does (same validation, same service, the
 * member role) plus any `--role`, typically the first administrator. Works against
 * DATABASE_URL or the embedded database, also while `npm start` runs on it.
 * Pending migrations are applied first, as `npm start` does, so the first admin
 * can be created on a fresh install before the server has ever run.
 * Exits 1 with one line saying what was wrong on invalid input or a duplicate email.
 */
const USAGE = 'usage: npm run user:create -- --email <email> --name <name> --password <password> [--role <role>]...';

let values: { email?: string; name?: string; password?: string; role?: string[]; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      password: { type: 'string' },
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

const parsed = NewUserInput.extend({ role: z.array(RoleName).default([]) }).safeParse(values);
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
