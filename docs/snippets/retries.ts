// Compiled with the code (npm run typecheck), shown in docs/retries.md.
import { createClient, withIdempotency } from '../../client/index.ts';

export async function createOnce(url: string, token: string) {
  // #region with-idempotency
  const api = createClient({ url, token });
  const createProduct = withIdempotency(api.products.create); // one key per call, reused by its retries
  const product = await createProduct({ name: 'Espresso cup', price: '7.50' });
  // #endregion with-idempotency
  return product;
}
