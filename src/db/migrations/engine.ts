import { PostgresIntrospector, SqliteIntrospector, type Kysely } from 'kysely';

export type MigrationEngine = 'sqlite' | 'postgres';

/**
 * The engine a migration runs on, for the few statements whose SQL differs (triggers, storage parameters). A
 * migration receives only a Kysely instance, and probing with engine-specific SQL would abort PostgreSQL's migration
 * transaction, so the engine is read from the introspector the instance's dialect provides (public Kysely API, no
 * query).
 */
export function engineOf(db: Kysely<unknown>, migration: string): MigrationEngine {
  const introspector = db.introspection;
  if (introspector instanceof SqliteIntrospector) return 'sqlite';
  if (introspector instanceof PostgresIntrospector) return 'postgres';
  throw new Error(`${migration}: unsupported database engine`);
}
