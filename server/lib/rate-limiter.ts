import type { Knex } from 'knex';
import { RateLimitedError } from '../errors.ts';

/** One limit: at most `limit` hits per `windowMs` for each key. `name` keeps keys of different limits apart. */
export interface RateLimit {
  name: string;
  limit: number;
  windowMs: number;
  /** The message of the 429; default "Too many requests, try again later". */
  message?: string;
}

export interface RateLimitHit {
  allowed: boolean;
  /** Hits in the current window, this one included. */
  count: number;
  /** How long until the window ends (0 while allowed). */
  retryAfterMs: number;
}

/**
 * Fixed-window counters in PostgreSQL (the `rate_limits` table), shared by every process
 * on the database: one atomic upsert per hit, so N servers allow the limit once, not N
 * times. The database's clock decides the windows, so processes on machines whose
 * clocks differ still agree.
 *
 * A fixed window lets a burst of up to twice the limit straddle a boundary, which is
 * fine for slowing down guessing and floods. `enabled: false` (RATE_LIMITS=off) allows
 * everything, for benchmarks and load tests.
 */
export class RateLimiter {
  private hitsSinceSweep = 0;

  constructor(private readonly deps: { db: Knex; enabled: boolean; sweepEvery?: number }) {}

  get enabled(): boolean {
    return this.deps.enabled;
  }

  /** Counts one hit of `key` against `limit`. */
  async hit(limit: RateLimit, key: string): Promise<RateLimitHit> {
    if (!this.deps.enabled) return { allowed: true, count: 0, retryAfterMs: 0 };
    const { rows } = await this.deps.db.raw<{ rows: { count: number; retry_after_ms: string }[] }>(
      `INSERT INTO rate_limits AS r (key, count, reset_at)
       VALUES (?, 1, now() + ? * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN r.reset_at <= now() THEN 1 ELSE r.count + 1 END,
         reset_at = CASE WHEN r.reset_at <= now() THEN excluded.reset_at ELSE r.reset_at END
       RETURNING count, ceil(extract(epoch FROM (reset_at - now())) * 1000) AS retry_after_ms`,
      [`${limit.name}:${key}`, limit.windowMs],
    );
    this.maybeSweep();
    const row = rows[0]!;
    const allowed = row.count <= limit.limit;
    return { allowed, count: row.count, retryAfterMs: allowed ? 0 : Math.max(0, Number(row.retry_after_ms)) };
  }

  /** Counts one hit and throws RateLimitedError (429 with Retry-After) when it is over the limit. */
  async consume(limit: RateLimit, key: string): Promise<void> {
    const result = await this.hit(limit, key);
    if (!result.allowed) throw new RateLimitedError(result.retryAfterMs / 1000, limit.message);
  }

  /** Forgets a key's window (e.g. an account's failed sign-ins once the owner got in). */
  async reset(limit: RateLimit, key: string): Promise<void> {
    if (!this.deps.enabled) return;
    await this.deps.db('rate_limits').where({ key: `${limit.name}:${key}` }).delete();
  }

  /** Deletes finished windows now and then, so the table follows recent traffic only. */
  private maybeSweep(): void {
    this.hitsSinceSweep += 1;
    if (this.hitsSinceSweep < (this.deps.sweepEvery ?? 500)) return;
    this.hitsSinceSweep = 0;
    this.deps.db
      .raw('DELETE FROM rate_limits WHERE reset_at <= now()')
      .catch(() => undefined); // best effort: the next sweep retries
  }
}
