import { defineConfig } from 'vitest/config';

/**
 * Three projects: `unit` (pure code: colocated `src/**\/*.test.ts`, and the database-free conformance tests of the
 * regimes in `test/regimes/`) runs once; every database and API test in `test/` runs twice, on the embedded SQLite
 * default and on PostgreSQL.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      // `extends: true`: the projects inherit the timeouts above.
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts', 'test/regimes/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/regimes/**'],
          env: { TEST_DIALECT: 'sqlite' },
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['test/**/*.test.ts'],
          exclude: ['test/regimes/**'],
          env: { TEST_DIALECT: 'postgres' },
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
