import { hash, parseOptions, verify, type Algorithm, type Options } from '@node-rs/argon2';

/**
 * Argon2id at OWASP's minimum: 19 MiB of memory, 2 iterations, parallelism 1.
 * (`algorithm: 2` is Argon2id; the package's enum is a const enum, which
 * isolatedModules cannot read.)
 */
export const PASSWORD_HASH_OPTIONS = {
  algorithm: 2 as Algorithm,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
} as const satisfies Options;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/**
 * A hash of a password nobody has, made with the options above. Sign-in verifies
 * against it when the email is unknown, so a wrong email costs the same as a wrong
 * password and response times do not tell which accounts exist. A test checks
 * that its parameters still match PASSWORD_HASH_OPTIONS.
 */
export const DUMMY_PASSWORD_HASH = '$argon2id$v=19$m=19456,t=2,p=1$nvAhPg56ONrN1YCKJbhbZA$udyU7ZkqU8wa+u9Op06e0gCwcXdKSmnlRCas0hVH+wo';

export function hashPassword(password: string): Promise<string> {
  return hash(password, PASSWORD_HASH_OPTIONS);
}

/** False for a wrong password and for a hash that cannot be parsed (never throws on bad input). */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** The Argon2 parameters a stored hash was made with. */
export function passwordHashParameters(passwordHash: string) {
  return parseOptions(passwordHash);
}
