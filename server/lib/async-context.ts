import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whether this Node carries AsyncLocalStorage through AsyncContextFrame: Node 24 and later
 * by default (unless started with `--no-async-context-frame`), Node 22–23 only with
 * `--experimental-async-context-frame`. There an active storage costs nothing per promise.
 * On the others, every promise created while any storage is enabled runs a hook, about
 * 0.4 µs each; a get-by-id creates ~140, so a storage enabled on every request costs it
 * ~10 %. Hot paths therefore keep their storages off there unless they hold something.
 */
export const asyncContextIsFree: boolean = detectAsyncContextFrame(process.versions.node, [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]);

export function detectAsyncContextFrame(version: string, flags: string[]): boolean {
  const major = Number(version.split('.')[0]);
  if (major >= 24) return !flags.includes('--no-async-context-frame');
  return major >= 22 && flags.includes('--experimental-async-context-frame');
}

/**
 * An AsyncLocalStorage that is enabled only while a `run` is under way. Where async
 * context is not free (see `asyncContextIsFree`), it is disabled again as soon as the last
 * run ends, so a process that uses it now and then does not make every later promise pay
 * for it. Code that outlives its run (a callback scheduled from inside it) sees no store
 * once the storage was switched off: use it only for stores that mean nothing after their
 * run has ended.
 */
export class OnDemandStorage<T> {
  readonly #storage = new AsyncLocalStorage<T>();
  #running = 0;

  getStore(): T | undefined {
    return this.#running === 0 ? undefined : this.#storage.getStore();
  }

  /** Runs `fn` (and everything it awaits) with `store` current. */
  async run<R>(store: T, fn: () => Promise<R>): Promise<R> {
    this.#running += 1;
    try {
      return await this.#storage.run(store, fn);
    } finally {
      this.#running -= 1;
      if (this.#running === 0 && !asyncContextIsFree) this.#storage.disable();
    }
  }
}
