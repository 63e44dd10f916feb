import { RateLimitedError, UnauthorizedError } from '../../errors.ts';
import type { FixedWindowLimiter } from '../../lib/rate-limiter.ts';
import type { UserService } from '../users/user.service.ts';
import type { Actor } from '../../trpc/access.ts';
import type { SignInInput, SignInResult } from './auth.schemas.ts';
import { DUMMY_PASSWORD_HASH, verifyPassword } from './password.ts';
import type { RoleService } from './role.service.ts';
import type { SessionInfo, SessionService } from './session.service.ts';

/** One message for every failed sign-in, so it tells nobody which part was wrong. */
export const SIGN_IN_FAILED = 'Invalid email or password';

/** Signing in and out, and turning a session token into the Actor of a request. */
export class AuthService {
  constructor(
    private readonly deps: {
      users: UserService;
      roles: RoleService;
      sessions: SessionService;
      /** Sign-in attempts per client IP and per email. */
      signInLimiter: FixedWindowLimiter;
    },
  ) {}

  /**
   * Checks the password and starts a session. An unknown email, a wrong password
   * and a deactivated account all give the same 401, and an unknown email is
   * verified against a dummy hash so it takes as long as a wrong password.
   */
  async signIn(input: SignInInput, client: { ip: string }): Promise<SignInResult> {
    this.countAttempt(client.ip, input.email);

    const credentials = await this.deps.users.findCredentials(input.email);
    const passwordOk = await verifyPassword(credentials?.passwordHash ?? DUMMY_PASSWORD_HASH, input.password);
    if (!credentials || !passwordOk || !credentials.isActive) throw new UnauthorizedError(SIGN_IN_FAILED);

    // Sweeping here keeps the table small without a scheduler; the delete uses the expires_at index.
    await this.deps.sessions.deleteExpired();
    const { token, session } = await this.deps.sessions.create(credentials.id);
    const user = await this.deps.users.get(credentials.id);
    return { token, expiresAt: session.expiresAt.toISOString(), user };
  }

  async signOut(sessionId: string): Promise<void> {
    await this.deps.sessions.invalidate(sessionId);
  }

  /** The Actor a token stands for, or null when the token is not (or no longer) good. */
  async authenticate(token: string): Promise<{ actor: Actor; session: SessionInfo; extended: boolean } | null> {
    const validated = await this.deps.sessions.validate(token);
    if (!validated) return null;
    const { session, extended } = validated;
    const [user, permissions] = await Promise.all([this.deps.users.findActive(session.userId), this.deps.roles.permissionsOf(session.userId)]);
    if (!user) return null;
    return { actor: { userId: user.id, email: user.email, name: user.name, sessionId: session.id, permissions }, session, extended };
  }

  /**
   * The IP is counted first and, once it is over the limit, emails are no longer
   * counted for it: one client cannot fill memory with made-up addresses.
   */
  private countAttempt(ip: string, email: string): void {
    const byIp = this.deps.signInLimiter.hit(`ip:${ip}`);
    if (!byIp.allowed) throw new RateLimitedError(byIp.retryAfterMs / 1000);
    const byEmail = this.deps.signInLimiter.hit(`email:${email.trim().toLowerCase()}`);
    if (!byEmail.allowed) throw new RateLimitedError(byEmail.retryAfterMs / 1000);
  }
}
