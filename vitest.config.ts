import { defineConfig } from 'vitest/config';

/**
 * Three projects: `unit` (pure code, colocated `src/**\/*.test.ts`) runs once; every database and API test in
 * `test/` runs twice, on the embedded SQLite default and on PostgreSQL.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      // `extends: true`: the projects inherit the timeouts above.
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['test/**/*.test.ts'],
          env: { TEST_DIALECT: 'sqlite' },
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['test/**/*.test.ts'],
          env: { TEST_DIALECT: 'postgres' },
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
