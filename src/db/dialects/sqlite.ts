/**
 * The embedded engine: better-sqlite3 in WAL mode with synchronous=FULL (a committed transaction survives power
 * loss), foreign keys on, and a busy timeout so the CLI and the server can share the file.
 *
 * Kysely's own SQLite driver begins transactions with a plain BEGIN, which takes the write lock only at the first
 * write and can then fail with SQLITE_BUSY when another process got there first; ours uses BEGIN IMMEDIATE. It also
 * keeps prepared statements instead of preparing every query again, and commits in groups (see SqliteDriver).
 * @module
 */
import BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';
import {
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
} from 'kysely';
import type { DialectCapabilities } from './capabilities.js';

export const sqliteCapabilities: DialectCapabilities = {
  name: 'sqlite',
  supportsRowLocks: false,
  concurrentConnections: false,
  namedSchemas: false,
};

export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** Opens the file with the settings every connection must have. */
export function openSqlite(path: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  db.defaultSafeIntegers(true);
  return db;
}

export function createSqliteDialect(database: BetterSqlite3.Database): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new SqliteDriver(database),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}

const STATEMENT_CACHE_SIZE = 500;

class SqliteConnection implements DatabaseConnection {
  readonly #db: BetterSqlite3.Database;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.#prepare(compiledQuery.sql);
    const parameters = compiledQuery.parameters as unknown[];
    if (statement.reader) {
      return Promise.resolve({ rows: statement.all(...parameters) as R[] });
    }
    const { changes } = statement.run(...parameters);
    return Promise.resolve({ numAffectedRows: BigInt(changes), rows: [] });
  }

  // Streaming is not used by the project; Kysely requires the method.
  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    await Promise.resolve();
    throw new Error('streamQuery is not supported by this driver');
  }

  #prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.#statements.keys().next();
        if (oldest.done !== true) this.#statements.delete(oldest.value);
      }
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** A connection handle per acquisition: whether it is in a unit of work decides where its queries go. */
class SqliteHandle implements DatabaseConnection {
  /** Set while this handle holds the write lock; calling it hands the lock on. */
  unlock: (() => void) | null = null;
  inUnit = false;

  constructor(readonly driver: SqliteDriver) {}

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, compiledQuery);
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    await Promise.resolve();
    throw new Error('streamQuery is not supported by this driver');
  }
}

const SELECT = /^\s*select\b/i;
const NO_TRANSACTION = /^\s*(vacuum|pragma)\b/i;

/**
 * One writer connection, handed by a lock to one unit of work at a time, and **group commit**: units of work do not
 * commit one by one (each COMMIT is an fsync under synchronous=FULL, and better-sqlite3 blocks the event loop for
 * it). The first unit opens a batch transaction (BEGIN IMMEDIATE); every unit runs in a SAVEPOINT of it, so a unit
 * that fails rolls back alone; a unit that succeeds releases its savepoint, hands the lock to the next waiting unit
 * and waits for the batch. When the units queued before it are done, one COMMIT makes the whole batch durable and
 * every waiting unit's commit returns — so a caller still answers only once its event is on disk, and a failed
 * COMMIT fails every unit of the batch (none of them was answered yet).
 *
 * Reads outside a unit of work (auth, GETs) go to a second, read-only connection: they never wait for the lock and
 * never see a batch that is not durable yet.
 */
class SqliteDriver implements Driver {
  readonly #db: BetterSqlite3.Database;
  readonly #writer: SqliteConnection;
  readonly #readerDb: BetterSqlite3.Database | null;
  readonly #reader: SqliteConnection | null;
  #queue: Promise<void> = Promise.resolve();
  #batchOpen = false;
  #flushQueued = false;
  #batchWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
    this.#writer = new SqliteConnection(db);
    this.#readerDb = db.memory ? null : openReader(db.name);
    this.#reader = this.#readerDb === null ? null : new SqliteConnection(this.#readerDb);
  }

  async init(): Promise<void> {}

  acquireConnection(): Promise<DatabaseConnection> {
    return Promise.resolve(new SqliteHandle(this));
  }

  /** Waits for the write lock; resolves with the function that hands it on. */
  #lock(): Promise<() => void> {
    const previous = this.#queue;
    let release!: () => void;
    this.#queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    return previous.then(() => release);
  }

  async #beginUnit(handle: SqliteHandle): Promise<void> {
    handle.unlock = await this.#lock();
    try {
      if (!this.#batchOpen) {
        this.#db.exec('begin immediate');
        this.#batchOpen = true;
      }
      this.#db.exec('savepoint unit');
      handle.inUnit = true;
    } catch (error) {
      this.#handOn(handle);
      throw error;
    }
  }

  /** Keeps the unit's work in the batch, lets the next unit run, and waits until the batch is on disk. */
  async #commitUnit(handle: SqliteHandle): Promise<void> {
    this.#db.exec('release unit');
    handle.inUnit = false;
    const durable = new Promise<void>((resolve, reject) => {
      this.#batchWaiters.push({ resolve, reject });
    });
    this.#scheduleFlush();
    this.#handOn(handle);
    await durable;
  }

  #rollbackUnit(handle: SqliteHandle): void {
    try {
      this.#db.exec('rollback to unit');
      this.#db.exec('release unit');
    } finally {
      handle.inUnit = false;
      // The batch must not stay open (holding SQLite's write lock) when no unit is left to commit it.
      this.#scheduleFlush();
      this.#handOn(handle);
    }
  }

  #handOn(handle: SqliteHandle): void {
    const unlock = handle.unlock;
    handle.unlock = null;
    unlock?.();
  }

  /** Queues one COMMIT behind the units waiting for the lock by the next turn of the event loop. */
  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // Not before the event loop's next turn: the requests read in this turn run their units first and join the
    // batch. Queued at once, the COMMIT would run right after the first unit and every batch would hold one unit.
    setImmediate(() => {
      void this.#lock().then((unlock) => {
        this.#flushQueued = false;
        try {
          this.#commitBatch();
        } finally {
          unlock();
        }
      });
    });
  }

  /** COMMITs the open batch (with the lock held) and settles its units: all durable, or all failed. */
  #commitBatch(): void {
    const waiters = this.#batchWaiters;
    this.#batchWaiters = [];
    try {
      if (this.#batchOpen) this.#db.exec('commit');
      this.#batchOpen = false;
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      this.#batchOpen = false;
      try {
        if (this.#db.inTransaction) this.#db.exec('rollback');
      } catch {
        // The COMMIT's own error is what the units must see.
      }
      for (const waiter of waiters) waiter.reject(error);
    }
  }

  /** Statements SQLite refuses inside a transaction (VACUUM, PRAGMA): run alone, after the batch is committed. */
  async #outsideTransaction<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const unlock = await this.#lock();
    try {
      this.#commitBatch();
      return await this.#writer.executeQuery<R>(query);
    } finally {
      unlock();
    }
  }

  async execute<R>(handle: SqliteHandle, query: CompiledQuery): Promise<QueryResult<R>> {
    if (handle.inUnit) return this.#writer.executeQuery<R>(query);
    if (this.#reader !== null && SELECT.test(query.sql)) return this.#reader.executeQuery<R>(query);
    if (NO_TRANSACTION.test(query.sql)) return this.#outsideTransaction<R>(query);
    // A write outside a unit of work is a unit of its own (and waits for its batch like any other).
    await this.#beginUnit(handle);
    let result: QueryResult<R>;
    try {
      result = await this.#writer.executeQuery<R>(query);
    } catch (error) {
      this.#rollbackUnit(handle);
      throw error;
    }
    await this.#commitUnit(handle);
    return result;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#beginUnit(handleOf(connection));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#commitUnit(handleOf(connection));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    this.#rollbackUnit(handleOf(connection));
    return Promise.resolve();
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    // Normally handed on already; a handle that still holds the lock (an error between begin and commit) frees it.
    const handle = handleOf(connection);
    if (handle.inUnit) this.#rollbackUnit(handle);
    else this.#handOn(handle);
    return Promise.resolve();
  }

  async destroy(): Promise<void> {
    // Let a pending batch commit before closing.
    const unlock = await this.#lock();
    try {
      this.#commitBatch();
    } finally {
      unlock();
    }
    this.#readerDb?.close();
    this.#db.close();
  }
}

/** Kysely hands back the connections this driver acquired: always handles. */
function handleOf(connection: DatabaseConnection): SqliteHandle {
  if (!(connection instanceof SqliteHandle)) throw new Error('not a connection of this driver');
  return connection;
}

/** A read-only connection to the same file: it sees committed data only (WAL snapshot). */
function openReader(path: string): BetterSqlite3.Database {
  const reader = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  reader.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  reader.defaultSafeIntegers(true);
  return reader;
}
