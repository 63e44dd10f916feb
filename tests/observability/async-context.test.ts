import { describe, expect, it } from 'vitest';
import { detectAsyncContextFrame, OnDemandStorage } from '../../server/lib/async-context.ts';
import { trackDbTime } from '../../server/observability/request-timings.ts';

describe('async context, paid for only where it is cheap', () => {
  it('knows which Node versions carry context for free', () => {
    expect(detectAsyncContextFrame('20.20.0', [])).toBe(false);
    expect(detectAsyncContextFrame('22.12.0', [])).toBe(false);
    expect(detectAsyncContextFrame('22.12.0', ['--experimental-async-context-frame'])).toBe(true);
    expect(detectAsyncContextFrame('24.1.0', [])).toBe(true);
    expect(detectAsyncContextFrame('24.1.0', ['--no-async-context-frame'])).toBe(false);
  });

  it('SLOW_REQUEST_DB_TIME: on and off are what they say; auto follows tracing where context is not free', () => {
    expect(trackDbTime('on', false)).toBe(true);
    expect(trackDbTime('off', true)).toBe(false);
    expect(trackDbTime('auto', true)).toBe(true);
  });

  it('OnDemandStorage: the store inside a run (across awaits, concurrent runs apart), none after', async () => {
    const storage = new OnDemandStorage<string>();
    const seen: (string | undefined)[] = [];
    const task = (name: string, ms: number) =>
      storage.run(name, async () => {
        await new Promise((r) => setTimeout(r, ms));
        seen.push(storage.getStore());
        await Promise.resolve();
        return storage.getStore();
      });
    expect(await Promise.all([task('a', 20), task('b', 5)])).toEqual(['a', 'b']);
    expect(seen).toEqual(['b', 'a']);
    expect(storage.getStore()).toBeUndefined();
    // Switched off between runs, it comes back for the next one.
    expect(await storage.run('c', async () => storage.getStore())).toBe('c');
    await expect(storage.run('d', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(storage.getStore()).toBeUndefined();
  });
});
