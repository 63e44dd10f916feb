import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { EventBus } from '../../server/events/bus.ts';
import type { AppEventEnvelope, AppEvents } from '../../server/app.ts';
import { defineTask } from '../../server/jobs/task.ts';
import type { JobQueue } from '../../server/jobs/queue.ts';
import { queuedJobs } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The type-level contract of the bus. This function never runs: `tsc --noEmit` (in
 * `npm run typecheck` and CI) checks it, and each `@ts-expect-error` fails the build
 * the day the line below it starts to compile.
 */
export function typeContract(bus: EventBus<AppEvents>, jobs: JobQueue, trx: Knex.Transaction, db: Knex): void {
  const productId = randomUUID();

  void bus.publish(trx, 'product.archived', { productId });
  void bus.publish(trx, 'user.created', { userId: 'u1', email: 'a@example.com', name: 'Ada' }, { userId: 'admin' });

  // @ts-expect-error an unknown event name does not compile
  void bus.publish(trx, 'product.archivd', { productId });
  // @ts-expect-error a payload missing a field does not compile
  void bus.publish(trx, 'user.created', { userId: 'u1', email: 'a@example.com' });
  // @ts-expect-error a field of the wrong type does not compile
  void bus.publish(trx, 'product.created', { productId, name: 'Cup', price: 12 });
  // @ts-expect-error another event's payload does not compile
  void bus.publish(trx, 'user.deactivated', { productId });
  // @ts-expect-error publishing outside a transaction does not compile
  void bus.publish(db, 'product.archived', { productId });

  // @ts-expect-error subscribing to an unknown event does not compile
  bus.subscribe('user.craeted', 'test.x', async () => {});
  bus.subscribe('user.created', 'test.typed', async (event) => {
    expectTypeOf(event).toEqualTypeOf<AppEventEnvelope<'user.created'>>();
    expectTypeOf(event.payload).toEqualTypeOf<{ userId: string; email: string; name: string }>();
    // @ts-expect-error the handler sees only its own event's payload
    void event.payload.productId;
  });

  const task = defineTask({ name: 'test.typed-task', payload: z.object({ n: z.number() }), async run() {} });
  void jobs.add(trx, task, { n: 1 });
  // @ts-expect-error a task payload of the wrong shape does not compile
  void jobs.add(trx, task, { n: '1' });
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('what the types cannot stop is checked at run time', () => {
  it('publish rejects an unknown name or a payload that does not match, and the transaction rolls back', async () => {
    const bus = t.app.events as unknown as { publish(trx: Knex.Transaction, name: string, payload: unknown): Promise<unknown> };
    await expect(t.app.db.transaction((trx) => bus.publish(trx, 'product.archivd', { productId: randomUUID() }))).rejects.toThrow('Unknown event product.archivd');
    await expect(t.app.db.transaction((trx) => bus.publish(trx, 'product.created', { productId: 'nope', name: 'Cup', price: '1.00' }))).rejects.toMatchObject({
      name: 'EventPayloadError',
      message: expect.stringContaining('productId'),
    });
    expect(await queuedJobs(t.app.db)).toEqual([]);
  });

  it('subscribe rejects a duplicate or malformed subscriber name', () => {
    expect(() => t.app.events.subscribe('user.created', 'analytics.signup', async () => {})).toThrow('already subscribes');
    expect(() => t.app.events.subscribe('user.created', 'Bad Name', async () => {})).toThrow('dotted lowercase');
  });
});
