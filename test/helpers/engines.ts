/**
 * The database engine of the running test project, and throwaway databases on it: a temporary SQLite file, or a
 * fresh PostgreSQL schema (dropped afterwards), so test files run in parallel without seeing each other.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, inject, vi } from 'vitest';
import type { DatabaseLocation } from '../../src/config/config.js';

export type Engine = 'sqlite' | 'postgres';

export const engine: Engine = process.env.TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
const postgres = inject('postgres');

/**
 * `describe` for tests that need the database: named with the engine, and skipped (with the reason in its name)
 * when the engine is PostgreSQL and it is unreachable.
 */
export function describeDb(name: string, body: () => void): void {
  if (engine === 'postgres' && !postgres.available) {
    // Skipped only because PostgreSQL is unreachable on this machine, and reported so, with the reason in the
    // suite name; CI sets OPENFISKAL_TEST_REQUIRE_POSTGRES=1, which turns this case into a failed run instead.
    describe.skip(`${name} [postgres skipped: ${postgres.reason}]`, body);
    return;
  }
  describe(`${name} [${engine}]`, body);
}

export interface ScratchDatabase {
  readonly location: DatabaseLocation;
  /** The same database as a DATABASE_URL value (for child processes). */
  readonly url: string;
  /** A directory for the data dir, secrets file and SQLite file. */
  readonly dataDir: string;
  drop(): Promise<void>;
}

function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'openfiskal-test-'));
  if (engine === 'sqlite') {
    const path = join(dataDir, 'openfiskal.db');
    return {
      location: { kind: 'sqlite', path },
      url: `sqlite:${path}`,
      dataDir,
      drop: () => {
        rmSync(dataDir, { recursive: true, force: true });
        return Promise.resolve();
      },
    };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = withSearchPath(postgres.url, schema);
  return {
    location: { kind: 'postgres', url },
    url,
    dataDir,
    drop: async () => {
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `fn` and returns its result with the SQL text of every statement PostgreSQL connections sent meanwhile, in
 * order (none on SQLite). A spy that calls through: it only records what the pool's connections send.
 */
export async function statementsSentDuring<T>(fn: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
  const spy = vi.spyOn(pg.Client.prototype, 'query');
  try {
    const result = await fn();
    const sent = spy.mock.calls.map(([first]: unknown[]) =>
      typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? ''),
    );
    return { result, sent };
  } finally {
    spy.mockRestore();
  }
}
