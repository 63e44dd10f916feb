/**
 * Does a failed sign-in take the same time whether the email exists or not?
 * Interleaves unknown-email, wrong-password and correct sign-ins against a running
 * server and prints the median and p90 of each (the correct one is the baseline
 * of what a real verify costs).
 *
 *   RATE_LIMITS=off DATA_DIR=/tmp/duality-bench npm start   # in one shell
 *   API_URL=http://localhost:3000 npx tsx bench/sign-in-timing.ts [rounds]  # in another
 */
const url = (process.env.API_URL ?? 'http://localhost:3000').replace(/\/$/, '') + '/api/v1';
const rounds = Number(process.argv[2] ?? 50);
const email = `timing-${Date.now()}@example.com`;
const password = 'timing password';

async function post(path: string, body: unknown): Promise<number> {
  const started = performance.now();
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  if (![200, 202, 401].includes(res.status)) throw new Error(`${path}: unexpected ${res.status} (is RATE_LIMITS=off set?)`);
  return performance.now() - started;
}

await post('/auth/sign-up', { email, name: 'Timing', password });
const cases = {
  'unknown email ': { email: `nobody-${Date.now()}@example.com`, password },
  'wrong password': { email, password: 'not the password' },
  'correct       ': { email, password },
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < 3; i++) for (const body of Object.values(cases)) await post('/auth/sign-in', body); // warm-up
for (let i = 0; i < rounds; i++) for (const [name, body] of Object.entries(cases)) samples[name]!.push(await post('/auth/sign-in', body));

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
console.log(`${rounds} rounds against ${url}`);
for (const [name, xs] of Object.entries(samples)) console.log(`${name}  median ${pct(xs, 0.5).toFixed(1)} ms   p90 ${pct(xs, 0.9).toFixed(1)} ms`);
