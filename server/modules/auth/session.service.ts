import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { Knex } from 'knex';
import { Session } from './session.model.ts';

/** How long a session lives; using it in its second half extends it by this much again. */
export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

// 15 random bytes (120 bits) name the session; 20 more (160 bits) are the secret.
// Base32 lower case without padding: 24 and 32 characters of [a-z2-7].
const ID_BYTES = 15;
const SECRET_BYTES = 20;
const TOKEN_PATTERN = /^([a-z2-7]{24})\.([a-z2-7]{32})$/;

/** A live session as the rest of the app sees it (never its secret or hash). */
export interface SessionInfo {
  id: string;
  userId: string;
  expiresAt: Date;
}

/**
 * Sessions after Lucia's current design: a token `<id>.<secret>` where the id finds
 * the row and the secret proves possession. Only SHA-256(secret) is stored and it
 * is compared in constant time, so neither a leaked table nor response timing
 * yields a usable token. Sessions last 30 days and are extended when used in their
 * second half; expired ones are deleted when met, and on every sign-in.
 */
export class SessionService {
  constructor(private readonly deps: { db: Knex; now?: () => Date }) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Starts a session; the returned token is shown to the client once and never stored. */
  async create(userId: string, db: Knex = this.deps.db): Promise<{ token: string; session: SessionInfo }> {
    const id = randomString(ID_BYTES);
    const secret = randomString(SECRET_BYTES);
    const expiresAt = new Date(this.now().getTime() + SESSION_TTL_MS);
    await Session.query(db).insert({ id, secretHash: Buffer.from(hashSecret(secret)), userId, expiresAt });
    return { token: `${id}.${secret}`, session: { id, userId, expiresAt } };
  }

  /**
   * The session a token names, or null when the token is malformed, unknown,
   * expired (the row is then deleted) or carries the wrong secret. `extended` is
   * true when this use moved the expiry forward (a cookie then needs re-sending).
   */
  async validate(token: string): Promise<{ session: SessionInfo; extended: boolean } | null> {
    const match = TOKEN_PATTERN.exec(token);
    if (!match) return null;
    const [, id, secret] = match as unknown as [string, string, string];

    const row = await Session.query(this.deps.db).findById(id);
    if (!row) return null;
    if (!constantTimeEqual(hashSecret(secret), new Uint8Array(row.secretHash))) return null;

    const now = this.now().getTime();
    if (row.expiresAt.getTime() <= now) {
      await Session.query(this.deps.db).deleteById(id);
      return null;
    }
    let expiresAt = row.expiresAt;
    const extended = expiresAt.getTime() - now < SESSION_TTL_MS / 2;
    if (extended) {
      expiresAt = new Date(now + SESSION_TTL_MS);
      await Session.query(this.deps.db).findById(id).patch({ expiresAt });
    }
    return { session: { id, userId: row.userId, expiresAt }, extended };
  }

  async invalidate(sessionId: string): Promise<void> {
    await Session.query(this.deps.db).deleteById(sessionId);
  }

  /** Ends every session of a user, inside the caller's transaction when given one. */
  async invalidateAllForUser(userId: string, db: Knex = this.deps.db): Promise<number> {
    return Session.query(db).where({ userId }).delete();
  }

  /** Deletes every expired session (indexed on expires_at); returns how many. */
  async deleteExpired(): Promise<number> {
    return Session.query(this.deps.db).where('expiresAt', '<=', this.now()).delete();
  }
}

function randomString(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  return encodeBase32LowerCaseNoPadding(buffer);
}

function hashSecret(secret: string): Uint8Array {
  return sha256(new TextEncoder().encode(secret));
}
