import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { Knex } from 'knex';
import { runStatement, statementsOf } from '../../db/statements.ts';
import { NotFoundError } from '../../errors.ts';
import { Session } from './session.model.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** How long a session lives unused; using it in its second half extends it by this much again. */
export const SESSION_TTL_MS = 30 * DAY_MS;

/** The default absolute lifetime (SESSION_MAX_AGE_DAYS): no use extends a session past it. */
export const DEFAULT_SESSION_MAX_AGE_MS = 90 * DAY_MS;

/**
 * `last_used_at` is written at most this often per session, so validating a session
 * stays a read on almost every request.
 */
export const LAST_USED_PRECISION_MS = 5 * 60 * 1000;

// 15 random bytes (120 bits) name the session; 20 more (160 bits) are the secret.
// Base32 lower case without padding: 24 and 32 characters of [a-z2-7].
const ID_BYTES = 15;
const SECRET_BYTES = 20;
const TOKEN_PATTERN = /^([a-z2-7]{24})\.([a-z2-7]{32})$/;
const USER_AGENT_MAX = 512;

/** A live session as the rest of the app sees it (never its secret or hash). */
export interface SessionInfo {
  id: string;
  userId: string;
  expiresAt: Date;
}

/** The signed-in user a session belongs to, read with it (SessionService.validateWithUser). */
export interface SessionUser {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
  /** Every permission name the user's roles grant (the caller filters them against its catalog). */
  permissions: string[];
}

/**
 * A session, its user (only when active) and the user's permissions in one round trip:
 * authenticating a signed-in request is one named statement instead of three builder
 * queries (bench/cpu-profile.ts, BENCH_SCENARIO=create). Every permission the user's roles
 * grant comes back; RoleService.known filters them against the app's catalog.
 */
const SESSION_WITH_USER = `SELECT s.secret_hash, s.user_id, s.expires_at, s.created_at, s.last_used_at,
  u.id AS u_id, u.email, u.name, u.email_verified_at IS NOT NULL AS email_verified,
  CASE WHEN u.id IS NULL THEN NULL ELSE ARRAY(SELECT DISTINCT rp.permission::text FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id WHERE ur.user_id = s.user_id) END AS permissions
FROM sessions s LEFT JOIN users u ON u.id = s.user_id AND u.is_active
WHERE s.id = $1`;

interface SessionWithUserRow {
  secret_hash: Buffer;
  user_id: string;
  expires_at: Date;
  created_at: Date;
  last_used_at: Date;
  u_id: string | null;
  email: string;
  name: string;
  email_verified: boolean;
  permissions: string[] | null;
}

/** Where a session was started: shown to its user in their session list. */
export interface SessionClient {
  userAgent?: string | undefined;
  ip?: string | undefined;
}

/** One of a user's sessions, as `users.sessions` lists it. */
export interface SessionSummary {
  id: string;
  /** The session the listing request was made with. */
  current: boolean;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
  ip: string | null;
}

/**
 * Sessions after Lucia's current design: a token `<id>.<secret>` where the id finds
 * the row and the secret proves possession. Only SHA-256(secret) is stored and it
 * is compared in constant time, so neither a leaked table nor response timing
 * yields a usable token. Sessions last 30 days and are extended when used in their
 * second half, but never past `maxAgeMs` after they started (SESSION_MAX_AGE_DAYS):
 * a stolen token that is used every day still dies then. Expired ones are deleted
 * when met, and on every sign-in.
 */
export class SessionService {
  private readonly maxAgeMs: number;

  constructor(private readonly deps: { db: Knex; now?: () => Date; maxAgeMs?: number }) {
    this.maxAgeMs = deps.maxAgeMs ?? DEFAULT_SESSION_MAX_AGE_MS;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Starts a session; the returned token is shown to the client once and never stored. */
  async create(userId: string, client: SessionClient = {}, db: Knex = this.deps.db): Promise<{ token: string; session: SessionInfo }> {
    const id = randomString(ID_BYTES);
    const secret = randomString(SECRET_BYTES);
    const now = this.now();
    const expiresAt = new Date(now.getTime() + Math.min(SESSION_TTL_MS, this.maxAgeMs));
    await Session.query(db).insert({
      id,
      secretHash: Buffer.from(hashSecret(secret)),
      userId,
      expiresAt,
      createdAt: now,
      lastUsedAt: now,
      userAgent: client.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
      ip: client.ip ?? null,
    });
    return { token: `${id}.${secret}`, session: { id, userId, expiresAt } };
  }

  /**
   * The session a token names, with its user when that user is active (`user` is
   * undefined otherwise) and their permissions, all in one round trip. Null when the
   * token is malformed, unknown, expired or past its absolute lifetime (the row is then
   * deleted) or carries the wrong secret. `extended` is true when this use moved the
   * expiry forward (a cookie then needs re-sending).
   */
  async validateWithUser(token: string): Promise<{ session: SessionInfo; extended: boolean; user: SessionUser | undefined } | null> {
    const match = TOKEN_PATTERN.exec(token);
    if (!match) return null;
    const [, id, secret] = match as unknown as [string, string, string];
    const r = (await runStatement<SessionWithUserRow>(this.deps.db, SESSION_WITH_USER, [id])).rows[0];
    if (!r) return null;
    const checked = await this.check(id, secret, { secretHash: r.secret_hash, userId: r.user_id, expiresAt: r.expires_at, createdAt: r.created_at, lastUsedAt: r.last_used_at });
    if (!checked) return null;
    const user = r.u_id === null ? undefined : { id: r.u_id, email: r.email, name: r.name, emailVerified: r.email_verified, permissions: r.permissions ?? [] };
    return { ...checked, user };
  }

  /** The secret, expiry and absolute-lifetime checks, and the rare write (expired: delete; sliding or touch: update). */
  private async check(
    id: string,
    secret: string,
    row: Pick<Session, 'secretHash' | 'userId' | 'expiresAt' | 'createdAt' | 'lastUsedAt'>,
  ): Promise<{ session: SessionInfo; extended: boolean } | null> {
    if (!constantTimeEqual(hashSecret(secret), new Uint8Array(row.secretHash))) return null;

    const now = this.now().getTime();
    const absoluteEnd = row.createdAt.getTime() + this.maxAgeMs;
    if (row.expiresAt.getTime() <= now || absoluteEnd <= now) {
      await Session.query(this.deps.db).deleteById(id);
      return null;
    }
    let expiresAt = row.expiresAt;
    const renewed = Math.min(now + SESSION_TTL_MS, absoluteEnd);
    const extended = expiresAt.getTime() - now < SESSION_TTL_MS / 2 && renewed > expiresAt.getTime();
    const touch = now - row.lastUsedAt.getTime() >= LAST_USED_PRECISION_MS;
    if (extended || touch) {
      if (extended) expiresAt = new Date(renewed);
      // Written at most every LAST_USED_PRECISION_MS per session: a named statement, not the builder.
      await statementsOf(Session).patchById(this.deps.db, id, { lastUsedAt: new Date(now), ...(extended ? { expiresAt } : {}) });
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

  /** Ends every session of a user but `keepSessionId` (the caller's own); returns how many. */
  async invalidateOthers(userId: string, keepSessionId: string, db: Knex = this.deps.db): Promise<number> {
    return Session.query(db).where({ userId }).whereNot({ id: keepSessionId }).delete();
  }

  /** Ends one session of this user; a session that is not theirs is as unknown as a missing one. */
  async revoke(userId: string, sessionId: string): Promise<void> {
    const deleted = await Session.query(this.deps.db).where({ id: sessionId, userId }).delete();
    if (!deleted) throw new NotFoundError('Session', sessionId);
  }

  /** The user's live sessions, most recently used first; `currentSessionId` is marked `current`. */
  async list(userId: string, currentSessionId: string): Promise<SessionSummary[]> {
    const rows = await Session.query(this.deps.db)
      .where({ userId })
      .where('expiresAt', '>', this.now())
      .where('createdAt', '>', new Date(this.now().getTime() - this.maxAgeMs))
      .orderBy([
        { column: 'lastUsedAt', order: 'desc' },
        { column: 'createdAt', order: 'desc' },
      ]);
    return rows.map((r) => ({
      id: r.id,
      current: r.id === currentSessionId,
      createdAt: r.createdAt.toISOString(),
      lastUsedAt: r.lastUsedAt.toISOString(),
      expiresAt: r.expiresAt.toISOString(),
      userAgent: r.userAgent,
      ip: r.ip,
    }));
  }

  /**
   * Deletes every expired session (indexed on expires_at); returns how many. An expiry
   * never lies past the absolute lifetime, so this catches those too (only after
   * SESSION_MAX_AGE_DAYS is lowered do older rows wait until they are presented or expire).
   */
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
