// Type-aware lint (typescript-eslint strictTypeChecked) plus the project's layering rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ['error', { patterns }];

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      curly: ['error', 'multi-line'],
      'no-console': 'error',
    },
  },
  {
    // Only repositories, the db layer and the job queue speak SQL.
    files: ['src/**/*.ts'],
    ignores: ['src/db/**', 'src/**/*.repository.ts', 'src/jobs/kysely-queue.ts'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['kysely'], message: 'SQL belongs in a *.repository.ts or src/db/.' },
      ]),
    },
  },
  {
    // Country law stays pure: no HTTP, no SQL, no application services.
    files: ['src/regimes/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['kysely', 'fastify', 'fastify-plugin', '@fastify/*'], message: 'regimes/ is pure country law.' },
        {
          group: ['**/modules/**', '**/http/**', '**/db/**'],
          message: 'regimes/ may import only crypto, documents, shared, errors.',
        },
      ]),
    },
  },
  {
    // Services and repositories know nothing of HTTP.
    files: [
      'src/**/*.service.ts',
      'src/**/*.repository.ts',
      'src/shared/**/*.ts',
      'src/crypto/**/*.ts',
      'src/db/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['fastify', 'fastify-plugin', '@fastify/*'],
          message: 'HTTP belongs in *.routes.ts, src/http/ or app.ts.',
        },
        { group: ['**/http/**'], message: 'Services do not depend on the HTTP layer.' },
      ]),
    },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.test.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
