/**
 * Does a sign-up (or a password-reset request) take the same time whether the address
 * already has an account or not? Interleaves known and unknown addresses against a
 * running server and prints the median and p90 of each, and their ratio. Both sign-up
 * branches hash the password and run one transaction; both reset branches look the
 * address up and queue one job.
 *
 *   RATE_LIMITS=off DATA_DIR=/tmp/duality-bench npm start   # in one shell
 *   API_URL=http://localhost:3000 npx tsx bench/sign-up-timing.ts [rounds]  # in another
 */
const url = (process.env.API_URL ?? 'http://localhost:3000').replace(/\/$/, '') + '/api/v1';
const rounds = Number(process.argv[2] ?? 50);
const run = `${Date.now()}-${process.pid}`;
const known = `timing-known-${run}@example.com`;
const password = 'timing password';

async function post(path: string, body: unknown): Promise<number> {
  const started = performance.now();
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`${path}: unexpected ${res.status} (is RATE_LIMITS=off set?)`);
  return performance.now() - started;
}

await post('/auth/sign-up', { email: known, name: 'Timing', password });
let seq = 0;
const cases: Record<string, () => Promise<number>> = {
  'sign-up, known address  ': () => post('/auth/sign-up', { email: known, name: 'Timing', password }),
  'sign-up, new address    ': () => post('/auth/sign-up', { email: `timing-new-${run}-${++seq}@example.com`, name: 'Timing', password }),
  'reset, known address    ': () => post('/auth/password-reset/request', { email: known }),
  'reset, unknown address  ': () => post('/auth/password-reset/request', { email: `timing-nobody-${run}-${++seq}@example.com` }),
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < 3; i++) for (const call of Object.values(cases)) await call(); // warm-up
// A new random order each round: the worker handles each request's mail while the next
// request runs, so a fixed order would charge one case for its predecessor's mail.
const shuffled = <T>(xs: T[]) => xs.map((x) => [Math.random(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
for (let i = 0; i < rounds; i++) for (const [name, call] of shuffled(Object.entries(cases))) samples[name]!.push(await call());

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
console.log(`${rounds} interleaved rounds (random order) against ${url}`);
for (const [name, xs] of Object.entries(samples)) console.log(`${name}  median ${pct(xs, 0.5).toFixed(1)} ms   p90 ${pct(xs, 0.9).toFixed(1)} ms`);
const ratio = (a: string, b: string) => (pct(samples[a]!, 0.5) / pct(samples[b]!, 0.5)).toFixed(3);
console.log(`median ratio known/new: sign-up ${ratio('sign-up, known address  ', 'sign-up, new address    ')}, reset ${ratio('reset, known address    ', 'reset, unknown address  ')}`);
