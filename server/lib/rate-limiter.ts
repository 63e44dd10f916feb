/**
 * Counts attempts per key in fixed windows, in this process's memory.
 *
 * Per process on purpose: it is the simplest thing that is correct for one server.
 * Several processes behind a load balancer each allow the limit, so the effective
 * limit is multiplied by their number; move the counters to PostgreSQL when that
 * matters. A fixed window lets a burst of up to twice the limit straddle a window
 * boundary, which is acceptable for slowing down password guessing.
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private nextSweep = 0;

  constructor(private readonly opts: { limit: number; windowMs: number; now?: () => number }) {}

  /** Counts one attempt for `key`; `retryAfterMs` is how long to wait when it is over the limit. */
  hit(key: string): { allowed: boolean; retryAfterMs: number } {
    const now = this.opts.now?.() ?? Date.now();
    this.sweep(now);
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + this.opts.windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return window.count > this.opts.limit ? { allowed: false, retryAfterMs: window.resetAt - now } : { allowed: true, retryAfterMs: 0 };
  }

  /** Drops finished windows at most once per window length, so memory follows recent traffic only. */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + this.opts.windowMs;
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}
