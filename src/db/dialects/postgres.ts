/**
 * The production engine: PostgreSQL through node-postgres. BIGINT (int8) is parsed to `bigint` per pool, not
 * globally, so that both engines return the same JavaScript types.
 *
 * When the database goes away, requests must fail within seconds (503, retryable) and the pool must heal by itself
 * once it is back. node-postgres alone waits forever on a connection that stopped answering (a powered-off host or a
 * cut network sends no FIN or RST), and a checked-out client whose socket dies emits an 'error' nobody listens to,
 * which would crash the process. Hence the timeouts below and the thin wrapper Kysely gets instead of the bare pool.
 * @module
 */
import pg from 'pg';
import {
  PostgresDialect,
  type Dialect,
  type PostgresCursor,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from 'kysely';
import { isDatabaseUnavailable } from '../errors.js';
import { PREPARED_STATEMENT_MARKER } from '../prepared.js';
import {
  canCarry,
  canHoldWith,
  carryHeldWrites,
  DEFERRED_WRITE_MARKER,
  heldWrite,
  heldWritesAlone,
  type HeldWrite,
} from './deferred-writes.js';
import type { DialectCapabilities } from './capabilities.js';

export const postgresCapabilities: DialectCapabilities = {
  name: 'postgres',
  supportsRowLocks: true,
  concurrentConnections: true,
  namedSchemas: true,
  writesInWith: true,
  autocommitStatements: true,
};

/**
 * Opening a connection (TCP, TLS, authentication), and waiting for a free one when the pool is busy. A reachable
 * server takes milliseconds; a server that accepts but never answers is given up on after this.
 */
export const CONNECT_TIMEOUT_MS = 3000;
/**
 * The longest a statement may go without an answer before its connection is taken for dead (PostgreSQL sends nothing
 * while it works, so a dead network and a slow statement look alike). Statements take milliseconds; the longest
 * legitimate wait is a register's row lock held by a transaction that is signing, bounded by
 * OPENFISKAL_SIGNING_TIMEOUT_MS (3 s by default), so this stays above that. A longer wait (requests queued on one
 * register behind a stalled device) ends as a retryable 503 as well. Migrations are exempt (see MIGRATION_LOCK).
 */
export const QUERY_TIMEOUT_MS = 4000;
/** TCP keepalive on open connections: keeps NAT and firewall state alive, so idle connections are not dropped silently. */
const KEEPALIVE_DELAY_MS = 10_000;
/**
 * Server side: a session left idle inside a transaction this long is ended by PostgreSQL. A transaction whose
 * connection we gave up during a network cut may never see our close, and would hold its locks (a register's row)
 * until the server's own TCP keepalive notices, two hours by default. Above the longest idle gap of a legitimate
 * transaction: a signing call, at most OPENFISKAL_SIGNING_TIMEOUT_MS (≤ 120 s).
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 180_000;

const INT8_OID = 20;

function bigintTypes(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8_OID, 'text', (value: string) => BigInt(value));
  return types;
}

const ignore = (): void => undefined;

export function createPostgresPool(url: string, poolSize: number, onIdleError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    types: bigintTypes(),
  });
  // An idle client that loses its connection emits 'error'; without a listener that would crash the process.
  pool.on('error', (error) => {
    // pg-pool attaches the whole client (connection settings, buffers) to the error; it has no place in a log.
    Reflect.deleteProperty(error, 'client');
    onIdleError(error);
  });
  // A checked-out client emits 'error' too when its socket dies, and pg-pool listens only while it is idle. The
  // query in flight (or the next one, on a client that is no longer queryable) fails with the error anyway.
  pool.on('connect', (client) => {
    client.on('error', ignore);
  });
  return pool;
}

export function createPostgresDialect(pool: pg.Pool): Dialect {
  const breaker = new Breaker(pool);
  return new PostgresDialect({
    pool: {
      connect: () => breaker.checkout(),
      end: () => {
        breaker.stop();
        return pool.end();
      },
    } satisfies PostgresPool,
  });
}

/** A checkout refused at once because the database is down (see {@link Breaker}). */
export class DatabaseDownError extends Error {
  /** SQLSTATE sqlclient_unable_to_establish_sqlconnection: the client declines to connect (see db/errors.ts). */
  readonly code = '08001';

  constructor() {
    super('PostgreSQL is unreachable; waiting for a probe to reach it again');
    this.name = 'DatabaseDownError';
  }
}

/** How often the database is probed while it is down. */
const PROBE_INTERVAL_MS = 250;
/** pg-pool's own timeout while every pooled client is busy: the pool is saturated, the server may be fine. */
const POOL_BUSY = /timeout exceeded when trying to connect/i;

/**
 * Remembers that the database is down, so that requests fail at once instead of each waiting out a timeout of its
 * own (and a failed request's cleanups, such as its rollback's follow-up, do not add one timeout after another).
 * Tripped when connecting fails or a statement finds the connection dead or unanswered; then every checkout is
 * refused while a probe (`select 1`, under the same timeouts) runs at once and every {@link PROBE_INTERVAL_MS} until
 * the server answers, which heals the pool without anyone's request. A false alarm (a statement that timed out
 * waiting for a lock) costs one probe's round trip.
 */
class Breaker {
  readonly #pool: pg.Pool;
  #down = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async checkout(): Promise<TimedClient> {
    if (this.#down) throw new DatabaseDownError();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      if (!(error instanceof Error && POOL_BUSY.test(error.message))) this.#trip();
      throw error;
    }
    return new TimedClient(client, () => {
      this.#trip();
    });
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #trip(): void {
    if (this.#down || this.#stopped) return;
    this.#down = true;
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    // Unreferenced: a probe never keeps the process alive.
    this.#timer = setTimeout(() => void this.#probe(), delayMs).unref();
  }

  async #probe(): Promise<void> {
    try {
      const client = new TimedClient(await this.#pool.connect(), ignore);
      try {
        await client.query('select 1', []);
      } finally {
        client.release();
      }
      this.#down = false;
    } catch {
      if (!this.#stopped) this.#schedule(PROBE_INTERVAL_MS);
    }
  }
}

/** A statement got no answer within {@link QUERY_TIMEOUT_MS}; its connection was closed. */
export class QueryTimeoutError extends Error {
  /** The code of a connection that timed out, which is what this is (see db/errors.ts). */
  readonly code = 'ETIMEDOUT';

  constructor() {
    super(`PostgreSQL sent no answer within ${String(QUERY_TIMEOUT_MS)} ms; the connection was closed`);
    this.name = 'QueryTimeoutError';
  }
}

/**
 * Kysely's migration lock (`select pg_advisory_lock(…)`, kysely/dialect/postgres/postgres-adapter). The connection
 * that takes it runs the migrations, which may wait for another process's migrations or rebuild a large table, so it
 * is exempt from the timeout until it is released.
 */
const MIGRATION_LOCK = /\bpg_advisory_lock\s*\(/i;

/**
 * A prepared statement of this connection no longer fits its table: another process's migration changed what its
 * `select *` returns. The connection is closed (with every statement it had prepared); the transaction rolled back,
 * so the request had no effect and may be retried, on a fresh connection that prepares the statement anew.
 */
export class StalePreparedStatementError extends Error {
  /** Answered 503, retryable (db/errors.ts). */
  readonly code = 'STALE_PREPARED_STATEMENT';

  constructor(cause: Error) {
    super('a prepared statement went stale after a schema change; the connection was closed', { cause });
    this.name = 'StalePreparedStatementError';
  }
}

/** PostgreSQL's answer when a prepared statement's result columns changed (SQLSTATE feature_not_supported). */
const STALE_PLAN = /cached plan must not change result type/i;

/**
 * Names of the statements kept prepared on connections (db/prepared.ts marks them): one per SQL text, the same on
 * every connection. PostgreSQL then parses and plans each once per connection instead of on every execution, which
 * was a fifth of its CPU per sale. The texts are the hot path's compiled queries, so the map stays small.
 */
const statementNames = new Map<string, string>();

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `openfiskal_${String(statementNames.size + 1)}`;
    statementNames.set(sql, name);
  }
  return name;
}

function isStalePlan(error: unknown): error is Error {
  return error instanceof Error && 'code' in error && error.code === '0A000' && STALE_PLAN.test(error.message);
}

/** What a held write answers: nothing yet (its caller needs nothing). */
const heldAnswer = <R>(): PostgresQueryResult<R> => ({ command: 'INSERT', rowCount: 0, rows: [] });

/** The end of a transaction that discards its writes (not `rollback to savepoint`, which keeps the earlier ones). */
const ROLLBACK = /^\s*rollback\s*;?\s*$/i;

/** One checkout of a pooled client, as Kysely uses it, with every statement bounded by {@link QUERY_TIMEOUT_MS}. */
class TimedClient implements PostgresPoolClient {
  readonly #client: pg.PoolClient;
  /** Called when a statement finds the database unavailable: the connection died or got no answer. */
  readonly #onLost: () => void;
  #timedOut: QueryTimeoutError | undefined;
  #stale: StalePreparedStatementError | undefined;
  #untimed = false;
  /** Writes held back for the transaction's next statement (deferred-writes.ts), in the order they were made. */
  #held: HeldWrite[] = [];

  constructor(client: pg.PoolClient, onLost: () => void) {
    this.#client = client;
    this.#onLost = onLost;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sql: string | PostgresCursor<R>,
    parameters: ReadonlyArray<unknown> = [],
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Kysely streams through cursors only when the dialect is given a cursor class, which this one is not.
    if (typeof sql !== 'string') throw new Error('cursors are not supported');
    if (sql.startsWith(DEFERRED_WRITE_MARKER)) {
      const statement = { sql: sql.slice(DEFERRED_WRITE_MARKER.length), parameters };
      const write = heldWrite(statement, PREPARED_STATEMENT_MARKER);
      if (write === null) return this.#executeAfterHeld<R>(statement.sql, parameters);
      if (!canHoldWith(this.#held, write)) return this.#holdAfterSendingHeld<R>(write);
      this.#held.push(write);
      return Promise.resolve(heldAnswer<R>());
    }
    return this.#executeAfterHeld<R>(sql, parameters);
  }

  release(): void {
    this.#held = [];
    // A connection that timed out may still get the late answer, or never: either way the pool must not reuse it.
    // Nor one whose prepared statements went stale: closing it is the one way to drop them all.
    this.#client.release(this.#timedOut ?? this.#stale);
  }

  /**
   * `sql` with the held writes (deferred-writes.ts): carried by it where it can, else sent on their own first. A
   * ROLLBACK drops them unsent, as it would drop their rows; whatever fails, they are gone from this connection.
   */
  async #executeAfterHeld<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    const held = this.#held;
    if (held.length === 0) return this.#execute<R>(sql, parameters);
    this.#held = [];
    if (ROLLBACK.test(sql)) return this.#execute<R>(sql, parameters);
    const statement = { sql, parameters };
    if (canCarry(statement, held, PREPARED_STATEMENT_MARKER)) {
      const carried = carryHeldWrites(held, statement, PREPARED_STATEMENT_MARKER);
      return this.#execute<R>(carried.sql, carried.parameters);
    }
    const alone = heldWritesAlone(held, PREPARED_STATEMENT_MARKER);
    await this.#execute(alone.sql, alone.parameters);
    return this.#execute<R>(sql, parameters);
  }

  /** Sends the held writes on their own, then holds `write`: it could change a row one of them writes. */
  async #holdAfterSendingHeld<R>(write: HeldWrite): Promise<PostgresQueryResult<R>> {
    const alone = heldWritesAlone(this.#held, PREPARED_STATEMENT_MARKER);
    this.#held = [];
    await this.#execute(alone.sql, alone.parameters);
    this.#held.push(write);
    return heldAnswer<R>();
  }

  async #execute<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    if (this.#timedOut !== undefined) throw this.#timedOut;
    if (MIGRATION_LOCK.test(sql)) this.#untimed = true;
    const pending = sql.startsWith(PREPARED_STATEMENT_MARKER)
      ? this.#client.query({ name: statementName(sql), text: sql, values: [...parameters] })
      : this.#client.query(sql, [...parameters]);
    let result: pg.QueryResult;
    try {
      result = this.#untimed ? await pending : await this.#withinTimeout(pending);
    } catch (error) {
      if (isStalePlan(error)) {
        // Not an outage: the server answered. Only this connection is affected, so the breaker stays as it is.
        this.#stale = new StalePreparedStatementError(error);
        throw this.#stale;
      }
      if (isDatabaseUnavailable(error)) this.#onLost();
      throw error;
    }
    return {
      command: result.command as PostgresQueryResult<R>['command'],
      rowCount: result.rowCount ?? 0,
      rows: result.rows as R[],
    };
  }

  async #withinTimeout<T>(pending: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#timedOut = new QueryTimeoutError();
        reject(this.#timedOut);
        // A statement on the wire cannot be taken back and would hold up every later one on this connection;
        // closing the socket fails them at once (and, once the network is back, makes PostgreSQL roll back).
        this.#client.connection.stream.destroy();
      }, QUERY_TIMEOUT_MS);
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
