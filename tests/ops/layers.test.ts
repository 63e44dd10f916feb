import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * `npm run lint` keeps infrastructure from importing upward. Here the rule is shown
 * to fire on planted violations (so deleting or loosening it fails a test), and to
 * leave the same imports alone in a module.
 */
const eslint = new ESLint();

async function upwardImportErrors(filePath: string, code: string): Promise<number> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax').length;
}

describe('infrastructure never imports modules or the composition root', () => {
  const planted = [
    `import type { Services } from '../app.ts';`,
    `import { productEvents } from '../modules/products/product.events.ts';`,
    `export type { ProductService } from '../modules/products/product.service.ts';`,
    `export * from '../../modules/index.ts';`,
    `export type M = typeof import('../modules/index.ts');`,
    `export const load = () => import('../router.ts');`,
  ];

  for (const folder of ['jobs', 'events', 'trpc', 'http', 'db', 'lib']) {
    it(`in server/${folder}, each kind of upward import is an error`, async () => {
      for (const line of planted) expect(await upwardImportErrors(`server/${folder}/planted.ts`, `${line}\n`), line).toBe(1);
    });
  }

  it('a module may import infrastructure and other modules', async () => {
    const code = `import { defineModule } from '../../lib/module.ts';\nimport type { UserService } from '../users/user.service.ts';\nexport type X = UserService | typeof defineModule;\n`;
    expect(await upwardImportErrors('server/modules/orders/order.module.ts', code)).toBe(0);
  });

  it('infrastructure may import infrastructure', async () => {
    const code = `import type { JobQueue } from '../jobs/queue.ts';\nimport { router } from '../trpc/init.ts';\nexport type X = JobQueue | typeof router;\n`;
    expect(await upwardImportErrors('server/events/planted.ts', code)).toBe(0);
  });
});
