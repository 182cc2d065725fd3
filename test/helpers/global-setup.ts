/**
 * Decides once per run whether PostgreSQL is reachable. When it is not, the PostgreSQL project's tests are
 * reported as skipped with the reason, never passed; with OPENFISKAL_TEST_REQUIRE_POSTGRES=1 (CI) the run fails.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface PostgresStatus {
  readonly available: boolean;
  readonly reason: string;
  readonly url: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: PostgresStatus;
  }
}

async function probe(url: string): Promise<PostgresStatus> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return { available: true, reason: '', url };
  } catch (error) {
    const host = new URL(url).host;
    return {
      available: false,
      reason: `PostgreSQL at ${host} is unreachable (${error instanceof Error ? error.message : String(error)})`,
      url,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const url = process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const status =
    project.name === 'postgres' ? await probe(url) : { available: false, reason: 'not the postgres project', url };
  if (project.name === 'postgres' && !status.available) {
    if (process.env.OPENFISKAL_TEST_REQUIRE_POSTGRES === '1') {
      throw new Error(`${status.reason}; OPENFISKAL_TEST_REQUIRE_POSTGRES=1 forbids skipping the PostgreSQL tests`);
    }
    console.warn(`\n[postgres] skipping every PostgreSQL test: ${status.reason}\n`);
  }
  project.provide('postgres', status);
}
