/**
 * The production engine: PostgreSQL through node-postgres. BIGINT (int8) is parsed to `bigint` per pool, not
 * globally, so that both engines return the same JavaScript types.
 * @module
 */
import pg from 'pg';
import { PostgresDialect, type Dialect } from 'kysely';
import type { DialectCapabilities } from './capabilities.js';

export const postgresCapabilities: DialectCapabilities = {
  name: 'postgres',
  supportsRowLocks: true,
  concurrentConnections: true,
  namedSchemas: true,
};

const INT8_OID = 20;

function bigintTypes(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8_OID, 'text', (value: string) => BigInt(value));
  return types;
}

export function createPostgresPool(url: string, poolSize: number, onIdleError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5000,
    types: bigintTypes(),
  });
  // An idle client that loses its connection emits 'error'; without a listener that would crash the process.
  pool.on('error', onIdleError);
  return pool;
}

export function createPostgresDialect(pool: pg.Pool): Dialect {
  return new PostgresDialect({ pool });
}
