import { Migrator, type MigrationResult } from 'kysely';
import type { Database } from './database.js';
import { migrations } from './migrations/index.js';

export class MigrationError extends Error {}

/** Applies every pending migration; returns the names applied. */
export async function migrateToLatest(database: Database): Promise<string[]> {
  // Name the schema: Kysely otherwise looks for its bookkeeping tables in every schema of the database, and finds
  // another installation's (or another test's) instead of creating its own.
  const schema = await database.currentSchema();
  const migrator = new Migrator({
    db: database.executor(),
    ...(schema === null ? {} : { migrationTableSchema: schema }),
    provider: { getMigrations: () => Promise.resolve(migrations) },
    migrationTableName: 'openfiskal_migrations',
    migrationLockTableName: 'openfiskal_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(
      `migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
