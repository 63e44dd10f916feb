import { expect, it } from 'vitest';
import { DUMMY_PASSWORD_HASH, hashPassword, PASSWORD_HASH_OPTIONS, passwordHashParameters, verifyPassword } from '../../server/modules/auth/password.ts';

const { algorithm, memoryCost, timeCost, parallelism, outputLen } = PASSWORD_HASH_OPTIONS;

it('hashes with Argon2id at OWASP’s minimum (19 MiB, 2 iterations, parallelism 1)', async () => {
  const hash = await hashPassword('a password');
  expect(hash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
  expect(await verifyPassword(hash, 'a password')).toBe(true);
  expect(await verifyPassword(hash, 'A password')).toBe(false);
  expect(await verifyPassword('not a hash', 'a password')).toBe(false);
});

it('the dummy hash for unknown emails costs what a real one does (same parameters)', () => {
  expect(passwordHashParameters(DUMMY_PASSWORD_HASH)).toMatchObject({ algorithm, memoryCost, timeCost, parallelism, outputLen });
});
