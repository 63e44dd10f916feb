/**
 * `npm run bench:live`: BENCH_SUBSCRIBERS (default 1,000) concurrent SSE subscribers of
 * `GET /api/v1/products/changes` on one server process (bench/app-server.ts), change
 * events produced by this process (another one) through `live.publish` in a committed
 * transaction, as a service does. Reports the produce→delivered latency (commit to parsed
 * at the client, same clock) p50/p99 across every subscriber, the server's memory per
 * subscriber (RSS growth / subscribers) and its CPU per delivered event (/proc).
 * BENCH_DOORS (default `rest,trpc`) picks the doors, measured one after the other on
 * the same server: REST's `text/event-stream` and tRPC's SSE subscription
 * (`GET /trpc/products.changes`, what `httpSubscriptionLink` opens), whose `data:` is
 * the superjson envelope `{ json }` after tRPC's `connected` event.
 */
import fs from 'node:fs/promises';
import { createKnex } from '../server/db/knex.ts';
import { migrateToLatest } from '../server/db/migrations.ts';
import { Live } from '../server/live/live.ts';
import { createLogger } from '../server/logger.ts';
import { cpuSeconds, openBenchDatabase, startServerProcess, stopAll } from './harness.ts';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 50);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 100);
const DOORS = (process.env.BENCH_DOORS ?? 'rest,trpc').split(',').map((d) => d.trim()) as ('rest' | 'trpc')[];
const STREAM_PATH = { rest: '/api/v1/products/changes', trpc: `/trpc/products.changes?input=${encodeURIComponent(JSON.stringify({ json: {} }))}` } as const;

const database = await openBenchDatabase('live');
const db = createKnex(database.url, { poolMax: 4 });
await migrateToLatest(db);
const live = new Live({ db, logger: createLogger({ logLevel: 'warn' }) });

const rss = async (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

try {
  const server = await startServerProcess('bench/app-server.ts', { BENCH_DATABASE_URL: database.url, SSE_MAX_CONNECTIONS: String(SUBSCRIBERS + 10), RATE_LIMITS: 'off' });
  // Warm the server (routes, JIT, the listening connection) with one stream first.
  const warm = await fetch(`${server.base}/api/v1/products/changes`);
  await new Promise((r) => setTimeout(r, 500));
  let firstSeq = 0;
  for (const door of DOORS) {
    const rssBefore = await rss(server.pid);

    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    let delivered = 0;
    const streams = await Promise.all(
      Array.from({ length: SUBSCRIBERS }, async () => {
        const res = await fetch(`${server.base}${STREAM_PATH[door]}`, { headers: { accept: 'text/event-stream' } });
        if (res.status !== 200) throw new Error(`subscriber got ${res.status}`);
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        void (async () => {
          for (;;) {
            const { done, value } = await reader.read().catch(() => ({ done: true as const, value: undefined }));
            if (done) return;
            buffer += value;
            let at: number;
            while ((at = buffer.indexOf('\n\n')) !== -1) {
              const block = buffer.slice(0, at);
              buffer = buffer.slice(at + 2);
              if (/^event: /m.test(block)) continue; // tRPC's `connected` (and any other named event)
              const data = /^data: (.*)$/m.exec(block)?.[1];
              if (!data) continue;
              const parsed = JSON.parse(data) as { seq?: number; json?: { seq: number } };
              const seq = door === 'trpc' ? parsed.json!.seq : parsed.seq!;
              const sent = sentAt.get(seq);
              if (sent !== undefined) latencies.push(performance.now() - sent);
              delivered++;
            }
          }
        })();
        return reader;
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const rssAfter = await rss(server.pid);

    const cpuBefore = await cpuSeconds(server.pid);
    for (let i = 0; i < EVENTS; i++) {
      const seq = firstSeq + i;
      await db.transaction(async (trx) => {
        await live.publish(trx, 'products', { type: 'product.updated', seq, product: { id: `bench-${seq}` } });
      });
      sentAt.set(seq, performance.now()); // committed: from here PostgreSQL may deliver it
      await new Promise((r) => setTimeout(r, GAP_MS));
    }
    const expected = EVENTS * SUBSCRIBERS;
    const deadline = Date.now() + 30_000;
    while (delivered < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const cpu = (await cpuSeconds(server.pid)) - cpuBefore;

    latencies.sort((x, y) => x - y);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
    console.log(`live (${door} door): ${SUBSCRIBERS} subscribers, ${EVENTS} events ${GAP_MS} ms apart (shared machine: absolute figures are noisy)`);
    console.log(`  delivered        ${delivered} of ${expected}`);
    console.log(`  latency p50      ${pct(50).toFixed(1)} ms   (commit → parsed by the subscriber)`);
    console.log(`  latency p99      ${pct(99).toFixed(1)} ms   (target ≤ 100 ms)`);
    console.log(`  latency max      ${latencies.at(-1)!.toFixed(1)} ms`);
    console.log(`  memory/subscriber ${((rssAfter - rssBefore) / SUBSCRIBERS / 1024).toFixed(1)} KiB   (server RSS growth / subscribers)`);
    console.log(`  CPU/event        ${((cpu * 1e6) / Math.max(1, delivered)).toFixed(1)} µs   (server CPU / delivered event)`);
    await Promise.all(streams.map((r) => r.cancel().catch(() => {})));
    firstSeq += EVENTS;
    // Let the server drop the closed streams before the next door's memory baseline.
    await new Promise((r) => setTimeout(r, 1000));
  }
  void warm.body?.cancel().catch(() => {});
} finally {
  await stopAll();
  await live.close();
  await db.destroy();
  await database.close();
}
process.exit(0);
