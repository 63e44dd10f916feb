import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers point one way: infrastructure defines the interfaces it needs and never
 * imports a module or the composition root, not even a type. Matched on the import
 * specifier, so `../modules/...`, `../../modules/...`, `../app.ts` and the like.
 */
const INFRASTRUCTURE = ['server/jobs/**', 'server/events/**', 'server/trpc/**', 'server/http/**', 'server/db/**', 'server/lib/**', 'server/observability/**'];
const UPWARD = '(^|/)(modules(/|$)|(app|main|router)(\\.ts)?$|cli/)';
// The same pattern inside an esquery selector, where `/` ends the regex literal.
const UPWARD_SELECTOR = UPWARD.replaceAll('/', '\\/');
const UPWARD_MESSAGE =
  'Infrastructure (server/{jobs,events,trpc,http,db,lib}) must not import modules or the composition root, not even types: define the interface here and let server/app.ts satisfy it.';

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', 'client/rest-types.ts', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: INFRASTRUCTURE,
    rules: {
      // Static imports and re-exports, `import type` included.
      'no-restricted-imports': ['error', { patterns: [{ regex: UPWARD, message: UPWARD_MESSAGE }] }],
      // What that rule does not see: `import('…')` and `typeof import('…')` in types.
      'no-restricted-syntax': [
        'error',
        { selector: `ImportExpression[source.value=/${UPWARD_SELECTOR}/]`, message: UPWARD_MESSAGE },
        { selector: `TSImportType[argument.literal.value=/${UPWARD_SELECTOR}/]`, message: UPWARD_MESSAGE },
      ],
    },
  },
  {
    files: ['server/**/*.ts'],
    ignores: ['server/cli/**', 'server/main.ts'],
    rules: { 'no-console': 'error' },
  },
);
