import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../server/app.ts';
import { deliveryTask } from '../../server/events/bus.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { queuedJobs, waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
const extraApps: App[] = [];

/** Another app on the same database, as a second `npm run worker` would be. */
async function anotherApp(env: Record<string, string> = {}): Promise<App> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: t.dataDir, WORKER_POLL_INTERVAL_MS: '100', ...env });
  const app = await buildApp({ config, logger: createLogger(config), databaseUrl: t.databaseUrl });
  extraApps.push(app);
  return app;
}

beforeAll(async () => {
  t = await startTestApp({ WORKER_CONCURRENCY: '4' });
});
afterAll(async () => {
  for (const app of extraApps) await app.close();
  await t.close();
});

describe('two workers side by side', () => {
  it('each subscriber handles each event exactly once', async () => {
    const handledBy = new Map<string, string[]>();
    const second = await anotherApp({ WORKER_CONCURRENCY: '4' });
    for (const [label, app] of [['first', t.app], ['second', second]] as const) {
      app.events.subscribe('product.created', 'test.counter', async (event) => {
        handledBy.set(event.id, [...(handledBy.get(event.id) ?? []), label]);
      });
      await app.startWorker();
    }

    const count = 60;
    const eventIds: string[] = [];
    for (let batch = 0; batch < count / 10; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          t.app.db.transaction(async (trx) => {
            const envelope = await t.app.events.publish(trx, 'product.created', { productId: crypto.randomUUID(), name: `Side by side ${batch}-${i}`, price: '1.00' });
            eventIds.push(envelope.id);
          }),
        ),
      );
    }
    await waitFor(() => handledBy.size >= count, 'every event to be handled');
    await waitForIdleQueue(t.app.db);

    expect(eventIds).toHaveLength(count);
    for (const id of eventIds) expect(handledBy.get(id), id).toHaveLength(1);
    const labels = [...handledBy.values()].flat();
    // Both workers took part; neither ran anything twice.
    expect(labels.filter((l) => l === 'first').length).toBeGreaterThan(0);
    expect(labels.filter((l) => l === 'second').length).toBeGreaterThan(0);
    const rows = await t.app.db('analytics_events').whereIn('eventId', eventIds);
    expect(rows).toHaveLength(count);
    expect(await t.app.db('event_deliveries').whereIn('eventId', eventIds)).toHaveLength(count * 2);
  });
});

describe('graceful shutdown', () => {
  it('lets a running job finish before the worker stops', async () => {
    const app = await anotherApp();
    let started = false;
    let closed = false;
    let closedWhenJobEnded: boolean | undefined;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.events.subscribe('product.archived', 'test.slow', async () => {
      started = true;
      await gate;
      closedWhenJobEnded = closed;
    });
    await app.startWorker();
    const productId = crypto.randomUUID();
    const envelope = await app.db.transaction((trx) => app.events.publish(trx, 'product.archived', { productId }));
    await waitFor(() => started, 'the slow job to start');

    const closing = app.close().then(() => (closed = true));
    // The stop request is in; only then does the job get to finish.
    await new Promise((r) => setImmediate(r));
    release();
    await closing;
    // Shutdown waited for the job, and the job's completion was written before the pool closed.
    expect(closedWhenJobEnded).toBe(false);

    expect(await t.app.db('event_deliveries').where({ eventId: envelope.id, subscriber: 'test.slow' })).toHaveLength(1);
    expect(await queuedJobs(t.app.db, deliveryTask('product.archived', 'test.slow'))).toEqual([]);
  });
});
