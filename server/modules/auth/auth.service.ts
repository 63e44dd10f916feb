import type { Knex } from 'knex';
import { AppError, ConflictError, UnauthorizedError, ValidationError } from '../../errors.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { RateLimit, RateLimiter } from '../../lib/rate-limiter.ts';
import type { NewUserInput } from '../users/user.schemas.ts';
import type { UserService } from '../users/user.service.ts';
import type { Actor } from '../../trpc/access.ts';
import type { AccountTokenService } from './account-token.service.ts';
import type { ChangePasswordInput, ResetPasswordInput, SignInInput, SignInResult, SignUpResult } from './auth.schemas.ts';
import { sendPasswordResetEmail, sendVerificationEmail } from './auth.tasks.ts';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from './password.ts';
import type { RoleService } from './role.service.ts';
import type { SessionClient, SessionInfo, SessionService } from './session.service.ts';

/** One message for every failed sign-in, so it tells nobody which part was wrong. */
export const SIGN_IN_FAILED = 'Invalid email or password';

/** Sign-up's one answer, whether or not the address already had an account. */
export const SIGN_UP_ANSWER = 'Check your inbox: we sent a message to this address. Sign in with your email and password; confirm the address with the code in the message.';

/** Password reset's one answer, whether or not the address has an account. */
export const PASSWORD_RESET_ANSWER = 'If an account uses this address, we sent it a code to choose a new password. It works once, for one hour.';

/** A mailed code that is wrong, used, expired or for something else: all the same 400. */
export const BAD_CODE = 'This code is invalid, already used or expired; ask for a new one';

/** The client of a request, as far as limits and the session list care. */
export interface AuthClient {
  ip: string;
  userAgent?: string | undefined;
}
/** The limits auth counts against, built from the configuration by the composition root. */
export interface AuthLimits {
  /** Sign-in attempts against one account from one IP. */
  signInPair: RateLimit;
  /** Sign-in attempts from one IP, whatever the account. */
  signInIp: RateLimit;
  /** Sign-in attempts against one account from every IP together. */
  signInAccount: RateLimit;
  /** Sign-ups from one IP. */
  signUpIp: RateLimit;
  /** Password-reset and verification mails asked for from one IP. */
  accountMailIp: RateLimit;
  /** Password-reset and verification mails asked for one account (by address). */
  accountMailAccount: RateLimit;
}

/** Builds the auth limits from per-minute / per-hour numbers. */
export function authLimits(n: { signInPerMinute: number; signInIpPerMinute: number; signInAccountPerMinute: number; signUpPerHour: number; passwordResetPerHour: number }): AuthLimits {
  const minute = 60_000;
  const mails = 'Too many account mails asked for, try again later';
  return {
    accountMailIp: { name: 'account-mail:ip', limit: n.passwordResetPerHour, windowMs: 60 * minute, message: mails },
    accountMailAccount: { name: 'account-mail:account', limit: n.passwordResetPerHour, windowMs: 60 * minute, message: mails },
    signInPair: { name: 'sign-in:ip+account', limit: n.signInPerMinute, windowMs: minute },
    signInIp: { name: 'sign-in:ip', limit: n.signInIpPerMinute, windowMs: minute },
    signInAccount: { name: 'sign-in:account', limit: n.signInAccountPerMinute, windowMs: minute },
    signUpIp: { name: 'sign-up:ip', limit: n.signUpPerHour, windowMs: 60 * minute, message: 'Too many sign-ups from this address, try again later' },
  };
}

/** Signing in and out, and turning a session token into the Actor of a request. */
export class AuthService {
  constructor(
    private readonly deps: {
      db: Knex;
      users: UserService;
      roles: RoleService;
      sessions: SessionService;
      accountTokens: AccountTokenService;
      jobs: Pick<JobQueue, 'add'>;
      limiter: RateLimiter;
      limits: AuthLimits;
      /** Whether session cookies are `Secure` (see cookieIsSecure). */
      secureCookies: boolean;
    },
  ) {}

  get secureCookies(): boolean {
    return this.deps.secureCookies;
  }

  /**
   * Checks the password and starts a session. An unknown email, a wrong password
   * and a deactivated account all give the same 401, and an unknown email is
   * verified against a dummy hash so it takes as long as a wrong password.
   */
  async signIn(input: SignInInput, client: AuthClient): Promise<SignInResult> {
    await this.countAttempt(client.ip, input.email);

    const credentials = await this.deps.users.findCredentials(input.email);
    const passwordOk = await verifyPassword(credentials?.passwordHash ?? DUMMY_PASSWORD_HASH, input.password);
    if (!credentials || !passwordOk || !credentials.isActive) throw new UnauthorizedError(SIGN_IN_FAILED);
    // The owner got in: their own mistakes from this address no longer count.
    await this.deps.limiter.reset(this.deps.limits.signInPair, pairKey(client.ip, input.email));

    // Sweeping here keeps the table small without a scheduler; the delete uses the expires_at index.
    await this.deps.sessions.deleteExpired();
    const { token, session } = await this.deps.sessions.create(credentials.id, sessionClient(client));
    const user = await this.deps.users.get(credentials.id);
    return { token, expiresAt: session.expiresAt.toISOString(), user };
  }

  /**
   * Creates an account (role member), at most SIGN_UP_LIMIT_PER_HOUR per client IP. The
   * answer is the same whether or not the address already has an account, and so is the
   * work (a password hash, one transaction): a new account gets the welcome mail with
   * its verification code, an existing one a "someone tried to sign up" mail.
   */
  async signUp(input: NewUserInput, client: AuthClient): Promise<SignUpResult> {
    await this.deps.limiter.consume(this.deps.limits.signUpIp, client.ip);
    await this.deps.users.signUp(input);
    return { message: SIGN_UP_ANSWER };
  }

  /** Uses a verification code: the account's address counts as verified from now on. */
  async verifyEmail(token: string): Promise<void> {
    await this.deps.db.transaction(async (trx) => {
      const userId = await this.deps.accountTokens.consume(token, 'verify-email', trx);
      if (!userId) throw badCode();
      await this.deps.users.markEmailVerified(userId, trx);
    });
  }

  /** Mails a new verification code to the signed-in user (limited like password resets). */
  async resendVerification(actor: Actor, client: AuthClient): Promise<{ message: string }> {
    if (actor.emailVerified) throw new ConflictError('Your email address is already verified');
    await this.countAccountMail(client.ip, actor.email);
    await this.deps.jobs.add(this.deps.db, sendVerificationEmail, { userId: actor.userId });
    return { message: `We sent a new code to ${actor.email}; the previous one no longer works.` };
  }

  /**
   * Starts a password reset. Counted per client IP and per address, and answered the
   * same way whether or not the address has an account: either way one job is queued
   * (with a null user when there is none), so the request costs the same too.
   */
  async requestPasswordReset(email: string, client: AuthClient): Promise<{ message: string }> {
    await this.countAccountMail(client.ip, email);
    const credentials = await this.deps.users.findCredentials(email);
    const userId = credentials?.isActive ? credentials.id : null;
    await this.deps.jobs.add(this.deps.db, sendPasswordResetEmail, { userId });
    return { message: PASSWORD_RESET_ANSWER };
  }

  /**
   * Sets a new password with a mailed reset code, and ends every session of the
   * account, in one transaction. Receiving the code proves the address is the user's,
   * so it also counts as verified.
   */
  async resetPassword(input: ResetPasswordInput): Promise<void> {
    // Hash before the transaction: Argon2 takes a while and must not hold a connection.
    const passwordHash = await hashPassword(input.password);
    await this.deps.db.transaction(async (trx) => {
      const userId = await this.deps.accountTokens.consume(input.token, 'reset-password', trx);
      if (!userId) throw badCode();
      await this.deps.users.setPasswordHash(userId, passwordHash, trx);
      await this.deps.users.markEmailVerified(userId, trx);
      await this.deps.sessions.invalidateAllForUser(userId, trx);
    });
  }

  /**
   * Changes the signed-in user's password after checking the current one (counted like
   * a sign-in attempt, so a stolen session cannot guess it freely), and ends every
   * other session of the account; this one stays.
   */
  async changePassword(actor: Actor, input: ChangePasswordInput, client: AuthClient): Promise<void> {
    await this.countAttempt(client.ip, actor.email);
    const credentials = await this.deps.users.findCredentialsById(actor.userId);
    const ok = await verifyPassword(credentials?.passwordHash ?? DUMMY_PASSWORD_HASH, input.currentPassword);
    if (!credentials || !ok) {
      throw new ValidationError('The current password is wrong', [{ path: ['currentPassword'], message: 'The current password is wrong', code: 'wrong_password' }]);
    }
    const passwordHash = await hashPassword(input.newPassword);
    await this.deps.db.transaction(async (trx) => {
      await this.deps.users.setPasswordHash(actor.userId, passwordHash, trx);
      await this.deps.accountTokens.revokeAll(actor.userId, 'reset-password', trx);
      await this.deps.sessions.invalidateOthers(actor.userId, actor.sessionId, trx);
    });
  }

  async signOut(sessionId: string): Promise<void> {
    await this.deps.sessions.invalidate(sessionId);
  }

  /** The Actor a token stands for, or null when the token is not (or no longer) good. */
  async authenticate(token: string): Promise<{ actor: Actor; session: SessionInfo; extended: boolean } | null> {
    // One round trip for the session, its (active) user and their permissions.
    const validated = await this.deps.sessions.validateWithUser(token);
    if (!validated?.user) return null;
    const { session, extended, user } = validated;
    const permissions = this.deps.roles.known(user.permissions);
    return { actor: { userId: user.id, email: user.email, name: user.name, sessionId: session.id, emailVerified: user.emailVerified, permissions }, session, extended };
  }

  /** Per IP first, then per address: a client over its own limit adds nothing to the account's counter. */
  private async countAccountMail(ip: string, email: string): Promise<void> {
    const { limiter, limits } = this.deps;
    await limiter.consume(limits.accountMailIp, ip);
    await limiter.consume(limits.accountMailAccount, normalEmail(email));
  }

  /**
   * Per IP first, then per (IP, account), then per account: each is counted only once
   * the one before allowed the attempt. So a client over its limit adds nothing to an
   * account's counter (a stranger cannot lock the owner out from elsewhere: the owner's
   * own (IP, account) window is untouched and the account-wide limit needs many IPs),
   * and one client cannot fill the table with made-up addresses.
   */
  private async countAttempt(ip: string, email: string): Promise<void> {
    const { limiter, limits } = this.deps;
    await limiter.consume(limits.signInIp, ip);
    await limiter.consume(limits.signInPair, pairKey(ip, email));
    await limiter.consume(limits.signInAccount, normalEmail(email));
  }
}

const badCode = () => new AppError('BAD_REQUEST', BAD_CODE, [{ path: ['token'], message: BAD_CODE, code: 'invalid_token' }]);
const sessionClient = (client: AuthClient): SessionClient => ({ ip: client.ip, userAgent: client.userAgent });
const normalEmail = (email: string) => email.trim().toLowerCase();
const pairKey = (ip: string, email: string) => `${ip}|${normalEmail(email)}`;
