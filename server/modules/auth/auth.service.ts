import { UnauthorizedError } from '../../errors.ts';
import type { RateLimit, RateLimiter } from '../../lib/rate-limiter.ts';
import type { NewUserInput, UserDto } from '../users/user.schemas.ts';
import type { UserService } from '../users/user.service.ts';
import type { Actor } from '../../trpc/access.ts';
import type { SignInInput, SignInResult } from './auth.schemas.ts';
import { DUMMY_PASSWORD_HASH, verifyPassword } from './password.ts';
import type { RoleService } from './role.service.ts';
import type { SessionInfo, SessionService } from './session.service.ts';

/** One message for every failed sign-in, so it tells nobody which part was wrong. */
export const SIGN_IN_FAILED = 'Invalid email or password';

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
}

/** Builds the auth limits from per-minute / per-hour numbers. */
export function authLimits(n: { signInPerMinute: number; signInIpPerMinute: number; signInAccountPerMinute: number; signUpPerHour: number }): AuthLimits {
  const minute = 60_000;
  return {
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
      users: UserService;
      roles: RoleService;
      sessions: SessionService;
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
  async signIn(input: SignInInput, client: { ip: string }): Promise<SignInResult> {
    await this.countAttempt(client.ip, input.email);

    const credentials = await this.deps.users.findCredentials(input.email);
    const passwordOk = await verifyPassword(credentials?.passwordHash ?? DUMMY_PASSWORD_HASH, input.password);
    if (!credentials || !passwordOk || !credentials.isActive) throw new UnauthorizedError(SIGN_IN_FAILED);
    // The owner got in: their own mistakes from this address no longer count.
    await this.deps.limiter.reset(this.deps.limits.signInPair, pairKey(client.ip, input.email));

    // Sweeping here keeps the table small without a scheduler; the delete uses the expires_at index.
    await this.deps.sessions.deleteExpired();
    const { token, session } = await this.deps.sessions.create(credentials.id);
    const user = await this.deps.users.get(credentials.id);
    return { token, expiresAt: session.expiresAt.toISOString(), user };
  }

  /** Creates an account (role member), at most SIGN_UP_LIMIT_PER_HOUR per client IP. */
  async signUp(input: NewUserInput, client: { ip: string }): Promise<UserDto> {
    await this.deps.limiter.consume(this.deps.limits.signUpIp, client.ip);
    return this.deps.users.create(input);
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

const normalEmail = (email: string) => email.trim().toLowerCase();
const pairKey = (ip: string, email: string) => `${ip}|${normalEmail(email)}`;
