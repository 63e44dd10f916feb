import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { Knex } from 'knex';
import { AccountToken, type AccountTokenPurpose } from './account-token.model.ts';

/** How long a mailed token works. */
export const ACCOUNT_TOKEN_LIFETIME_MS: Record<AccountTokenPurpose, number> = {
  'verify-email': 48 * 60 * 60 * 1000,
  'reset-password': 60 * 60 * 1000,
};

// 20 random bytes (160 bits), base32 lower case: 32 characters of [a-z2-7].
const TOKEN_BYTES = 20;
export const ACCOUNT_TOKEN_PATTERN = /^[a-z2-7]{32}$/;

/**
 * The single-use tokens mailed for email verification and password reset, after
 * Lucia's guides: 160 random bits, stored only as SHA-256 (a leaked table or backup
 * yields no usable token), looked up by that hash, expiring, and deleted by the one
 * statement that accepts them, so two concurrent uses cannot both succeed.
 *
 * Tokens are made by the worker just before the mail is written (see auth.tasks.ts),
 * so the plain token is never in the database, not even in a job's payload.
 */
export class AccountTokenService {
  constructor(private readonly deps: { db: Knex; now?: () => Date }) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** A new token for `purpose`; any earlier one of the same purpose stops working. */
  async issue(userId: string, purpose: AccountTokenPurpose): Promise<{ token: string; expiresAt: Date }> {
    const bytes = new Uint8Array(TOKEN_BYTES);
    crypto.getRandomValues(bytes);
    const token = encodeBase32LowerCaseNoPadding(bytes);
    const expiresAt = new Date(this.now().getTime() + ACCOUNT_TOKEN_LIFETIME_MS[purpose]);
    await this.deps.db.transaction(async (trx) => {
      await AccountToken.query(trx).where({ userId, purpose }).delete();
      // Sweeping here keeps the table small without a scheduler (indexed on expires_at).
      await AccountToken.query(trx).where('expiresAt', '<=', this.now()).delete();
      await AccountToken.query(trx).insert({ tokenHash: hashToken(token), userId, purpose, expiresAt });
    });
    return { token, expiresAt };
  }

  /**
   * Uses up a token: the user it was issued to, or undefined when it is malformed,
   * unknown, already used, for another purpose or expired (an expired one is deleted
   * all the same). Inside the caller's transaction, so the token is spent only if what
   * it allows commits too.
   */
  async consume(token: string, purpose: AccountTokenPurpose, trx: Knex): Promise<string | undefined> {
    if (!ACCOUNT_TOKEN_PATTERN.test(token)) return undefined;
    const [row] = (await AccountToken.query(trx).where({ tokenHash: hashToken(token), purpose }).delete().returning(['userId', 'expiresAt'])) as unknown as Pick<AccountToken, 'userId' | 'expiresAt'>[];
    if (!row || row.expiresAt.getTime() <= this.now().getTime()) return undefined;
    return row.userId;
  }

  /** Every outstanding token of a user for `purpose` stops working (after a password change). */
  async revokeAll(userId: string, purpose: AccountTokenPurpose, trx: Knex): Promise<void> {
    await AccountToken.query(trx).where({ userId, purpose }).delete();
  }
}

function hashToken(token: string): Buffer {
  return Buffer.from(sha256(new TextEncoder().encode(token)));
}
