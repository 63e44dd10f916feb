/**
 * A frontend's use of the packed client (`npm run client:check`): compiled under
 * ./tsconfig.json in a project that has only the tarball and its peers installed, then
 * run against a live server (API_URL). Both clients; every type assertion below fails
 * the compile if the package's types degrade, and every runtime check fails the run.
 */
import { createClient, paginate, TRPCClientError, withIdempotency, type AppRouter } from '@duality/client';
import { createRestClient, type ApiError, type paths } from '@duality/client/rest';
import type { AppErrorShape } from '@duality/client/router';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

declare const process: { env: Record<string, string | undefined> };
const url = process.env['API_URL'] ?? 'http://localhost:3000';

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`client check failed: ${what}`);
}

// ---- Types: no procedure's input or output is `any`, anywhere inside it ----------------
type IsAny<T> = 0 extends 1 & T ? true : false;
type HasAny<T, Depth extends unknown[] = []> =
  IsAny<T> extends true ? true
  : Depth['length'] extends 8 ? false
  : T extends Date ? false
  : T extends object ? (true extends { [K in keyof T]-?: HasAny<T[K], [...Depth, unknown]> }[keyof T] ? true : false)
  : false;
type Inputs = inferRouterInputs<AppRouter>;
type Outputs = inferRouterOutputs<AppRouter>;
type Leaks<T, Side extends string> = {
  [M in keyof T & string]: { [P in keyof T[M] & string]: HasAny<T[M][P]> extends true ? `${M}.${P} ${Side}` : never }[keyof T[M] & string];
}[keyof T & string];
type AnyLeaks = IsAny<Inputs> extends true ? 'the whole router' : Leaks<Inputs, 'input'> | Leaks<Outputs, 'output'>;
// On failure the error names each procedure whose types contain `any`.
const noAnyLeaks: [AnyLeaks] extends [never] ? true : AnyLeaks = true;
type RestLeaks = IsAny<paths> extends true ? 'paths' : HasAny<paths> extends true ? 'a REST path' : never;
const noRestAny: [RestLeaks] extends [never] ? true : RestLeaks = true;
const procedureCount: keyof Inputs['products'] = 'list';
void [noAnyLeaks, noRestAny, procedureCount];

// Never called: wrong calls the compiler must refuse. If a type degrades to `any`,
// the @ts-expect-error above it is unused and the compile fails.
export function refusedAtCompileTime(api: ReturnType<typeof createClient>, rest: ReturnType<typeof createRestClient>) {
  // @ts-expect-error an id is a string
  void api.products.get.query({ id: 42 });
  // @ts-expect-error a price is a decimal string, not a number
  void api.products.create.mutate({ name: 'Cup', price: 7.5 });
  // @ts-expect-error no such procedure
  void api.products.remove.mutate({ id: 'x' });
  // @ts-expect-error signIn needs a password
  void api.auth.signIn.mutate({ email: 'a@example.com' });
  void api.products.get.query({ id: 'x' }).then((p) => {
    // @ts-expect-error price is a string
    const n: number = p.price;
    return n;
  });
  // @ts-expect-error a path the document does not have
  void rest.GET('/nope');
  // @ts-expect-error the path parameter is required
  void rest.GET('/products/{id}', {});
  void rest.GET('/products/{id}', { params: { path: { id: 'x' } } }).then(({ data }) => {
    // @ts-expect-error version is a number
    const v: string | undefined = data?.version;
    return v;
  });
}

// ---- Run: the tRPC client ------------------------------------------------------------
const email = `consumer-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
const password = 'a long enough consumer password';
const anonymous = createClient({ url, token: undefined }); // exactOptionalPropertyTypes: an explicit undefined is fine
const accepted = await anonymous.auth.signUp.mutate({ email, name: 'Consumer', password });
check(typeof accepted.message === 'string', 'signUp answers with a message (the same whether or not the address had an account)');
const { token, user } = await anonymous.auth.signIn.mutate({ email, password });
const api = createClient({ url, token });
const me = await api.users.me.query();
check(me.id === user.id && me.email === email && !me.emailVerified && Array.isArray(me.permissions), 'users.me is the signed-in, not yet verified user');

const page = await api.products.list.query({ size: 2 });
const first: string | undefined = page.items[0]?.name; // noUncheckedIndexedAccess: an item may be missing
check(typeof page.totalExact === 'boolean' && (first === undefined || typeof first === 'string'), 'products.list has a page shape');
let walked = 0;
for await (const product of paginate(api.products.list, { size: 50 })) {
  check(typeof product.price === 'string', 'paginate yields products');
  if (++walked >= 60) break;
}

const missing = '00000000-0000-4000-8000-000000000000';
try {
  await api.products.get.query({ id: missing });
  check(false, 'products.get of an unknown id throws');
} catch (error) {
  check(error instanceof TRPCClientError, 'a TRPCClientError');
  const data = (error as TRPCClientError<AppRouter>).data;
  const code: AppErrorShape['data']['code'] | undefined = data?.code;
  check(code === 'NOT_FOUND' && data?.httpStatus === 404, `NOT_FOUND, got ${String(code)}`);
}
try {
  await api.users.updateMe.mutate({});
  check(false, 'an empty update is refused');
} catch (error) {
  const data = (error as TRPCClientError<AppRouter>).data;
  check(data?.code === 'BAD_REQUEST', 'BAD_REQUEST for {}');
}
const renamed = await withIdempotency(api.users.updateMe)({ name: 'Consumer renamed' });
check(renamed.name === 'Consumer renamed', 'a keyed mutation through withIdempotency');

// ---- Run: the REST client ----------------------------------------------------------------
const rest = createRestClient({ url, token });
const products = await rest.GET('/products', { params: { query: { size: 2 } } });
check(products.response.status === 200 && Array.isArray(products.data?.items), 'GET /products');
const meRest = await rest.GET('/users/me');
check(meRest.data?.email === email, 'GET /users/me with the token');
const notFound = await rest.GET('/products/{id}', { params: { path: { id: missing } } });
const apiError: ApiError | undefined = notFound.error;
check(notFound.response.status === 404 && apiError?.code === 'NOT_FOUND', 'GET /products/{id} answers the ApiError body');
const badPatch = await rest.PATCH('/users/me', { body: {} as never });
check(badPatch.response.status === 400 && badPatch.error?.code === 'BAD_REQUEST', 'PATCH /users/me {} is 400');

console.log(`client check passed: ${email}, ${walked} product(s) walked, both clients typed and answering`);
