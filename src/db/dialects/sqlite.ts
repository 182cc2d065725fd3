/**
 * The embedded engine: better-sqlite3 in WAL mode where a committed transaction survives power loss (the WAL is
 * fsynced before any unit of work that wrote to it returns, see {@link WalSync}), foreign keys on, and a busy
 * timeout so the CLI and the server can share the file.
 *
 * Kysely's own SQLite driver begins transactions with a plain BEGIN, which takes the write lock only at the first
 * write and can then fail with SQLITE_BUSY when another process got there first; ours uses BEGIN IMMEDIATE. It also
 * keeps prepared statements instead of preparing every query again, and commits in groups (see SqliteDriver).
 * @module
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
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
import { WalCheckpointer } from './wal-checkpointer.js';

export const sqliteCapabilities: DialectCapabilities = {
  name: 'sqlite',
  supportsRowLocks: false,
  concurrentConnections: false,
  namedSchemas: false,
  writesInWith: false,
  autocommitStatements: false,
};

export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** Opens the file with the settings every connection must have (the driver then syncs the WAL itself). */
export function openSqlite(path: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  db.defaultSafeIntegers(true);
  return db;
}

/**
 * `checkpoints`: the thread that checkpoints the WAL (default: one of its own for a file, none in memory); null
 * leaves checkpoints to SQLite, inside the COMMITs.
 */
export function createSqliteDialect(
  database: BetterSqlite3.Database,
  checkpoints: WalCheckpointer | null = database.memory
    ? null
    : new WalCheckpointer(database.name, SQLITE_BUSY_TIMEOUT_MS),
): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new SqliteDriver(database, checkpoints),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}

const STATEMENT_CACHE_SIZE = 500;

/** SQLite's own `wal_autocheckpoint`, given back when the checkpoint thread fails. */
const SQLITE_DEFAULT_AUTOCHECKPOINT_FRAMES = 1000;

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

/**
 * Durability of COMMITs, off the event loop. With synchronous=FULL, SQLite fsyncs the WAL inside every COMMIT, and
 * better-sqlite3 blocks the event loop for it (a sixth of the server's time under load). The writer therefore runs
 * with synchronous=NORMAL, where a COMMIT only write()s its frames to the WAL, and this class fdatasync()s the WAL
 * file on libuv's thread pool instead: the same sync of the same file, while the event loop goes on. NORMAL still
 * syncs around checkpoints and when the WAL is reused, as FULL does.
 *
 * Units of work and reads wait for it: a unit's commit returns, and a read outside a unit (which may have seen any
 * COMMIT made so far) returns, only once every COMMIT made before it is on disk. So nothing is answered that a
 * power loss could take back. Syncs never overlap: one that finds new COMMITs when it ends starts the next.
 */
export class WalSync {
  #fd: number | null = null;
  #committed = 0;
  #durable = 0;
  #running = false;
  #failure: Error | null = null;
  #waiters: Array<{ target: number; resolve: () => void; reject: (error: unknown) => void }> = [];

  /** `syncFile` is `fs.fdatasync`; tests pass their own to decide when a sync ends. */
  constructor(
    readonly walPath: string,
    private readonly syncFile: (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => void = fdatasync,
  ) {}

  /** Counts a COMMIT (made already) and starts syncing it; returns its number for {@link pending}. */
  committed(): number {
    this.#committed += 1;
    this.#start();
    return this.#committed;
  }

  /** Null if COMMIT number `target` (default: the latest) is on disk, else a promise settled when it is. */
  pending(target = this.#committed): Promise<void> | null {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#durable >= target) return null;
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ target, resolve, reject });
    });
  }

  /** Waits for the syncs of every COMMIT made so far, then closes the file (a sync never runs on a closed one). */
  async close(): Promise<void> {
    // A sync that ends may start the next one (for COMMITs made meanwhile): wait until none is left.
    while (this.#failure === null && this.#durable < this.#committed) await this.pending()?.catch(() => undefined);
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  #start(): void {
    if (this.#running || this.#failure !== null || this.#durable >= this.#committed) return;
    const target = this.#committed;
    try {
      this.#fd ??= openSync(this.walPath, 'r');
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#running = true;
    this.syncFile(this.#fd, (error) => {
      this.#running = false;
      if (error !== null) {
        this.#fail(error);
        return;
      }
      this.#durable = target;
      const waiting = this.#waiters;
      this.#waiters = [];
      for (const waiter of waiting) {
        if (waiter.target <= target) waiter.resolve();
        else this.#waiters.push(waiter);
      }
      this.#start();
    });
  }

  /**
   * After a failed sync the kernel may have dropped the written pages, so nothing written since the last good sync
   * can be called durable: every waiting and later unit fails (PostgreSQL stops on a failed fsync for the same
   * reason) until the server restarts and SQLite recovers from what the disk holds.
   */
  #fail(error: unknown): void {
    this.#failure = new Error(
      `syncing ${this.walPath} failed; restart the server: ${error instanceof Error ? error.message : String(error)}`,
    );
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) waiter.reject(this.#failure);
  }
}

// Leading block comments are skipped: prepared queries start with one (db/prepared.ts).
const SELECT = /^\s*(?:\/\*.*?\*\/\s*)*select\b/is;
const NO_TRANSACTION = /^\s*(?:\/\*.*?\*\/\s*)*(vacuum|pragma)\b/is;

/**
 * One writer connection, handed by a lock to one unit of work at a time, and **group commit**: units of work do not
 * commit one by one (each COMMIT costs writing its WAL frames and a sync of the WAL). The first unit opens a batch
 * transaction (BEGIN IMMEDIATE); every unit runs in a SAVEPOINT of it, so a unit that fails rolls back alone; a unit
 * that succeeds releases its savepoint, hands the lock to the next waiting unit and waits for the batch. When the
 * units queued before it are done, one COMMIT and one sync ({@link WalSync}) make the whole batch durable and every
 * waiting unit's commit returns — so a caller still answers only once its event is on disk, and a failed COMMIT or
 * sync fails every unit of the batch (none of them was answered yet).
 *
 * Reads outside a unit of work (auth, GETs) go to a second, read-only connection: they never wait for the lock, see
 * committed batches only, and return once what they may have seen is on disk.
 */
class SqliteDriver implements Driver {
  readonly #db: BetterSqlite3.Database;
  readonly #writer: SqliteConnection;
  readonly #readerDb: BetterSqlite3.Database | null;
  readonly #reader: SqliteConnection | null;
  /** Null in memory, where there is no disk to wait for. */
  readonly #sync: WalSync | null;
  #queue: Promise<void> = Promise.resolve();
  #batchOpen = false;
  #flushQueued = false;
  #batchWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  /** Null once checkpoints are SQLite's again (none given, or the thread failed). */
  #checkpoints: WalCheckpointer | null;
  #checkpointRunning = false;
  #lastCheckpointAt = 0;
  #destroyed = false;
  // Run for every unit of work: prepared once rather than parsed by every exec().
  readonly #control: Record<'begin' | 'savepoint' | 'release' | 'rollbackTo' | 'commit', BetterSqlite3.Statement>;

  constructor(db: BetterSqlite3.Database, checkpoints: WalCheckpointer | null) {
    this.#db = db;
    this.#checkpoints = checkpoints;
    if (checkpoints !== null) db.pragma('wal_autocheckpoint = 0');
    this.#control = {
      begin: db.prepare('begin immediate'),
      savepoint: db.prepare('savepoint unit'),
      release: db.prepare('release unit'),
      rollbackTo: db.prepare('rollback to unit'),
      commit: db.prepare('commit'),
    };
    this.#writer = new SqliteConnection(db);
    this.#readerDb = db.memory ? null : openReader(db.name);
    this.#reader = this.#readerDb === null ? null : new SqliteConnection(this.#readerDb);
    this.#sync = db.memory ? null : new WalSync(`${db.name}-wal`);
    if (this.#sync !== null) db.pragma('synchronous = NORMAL');
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
        this.#control.begin.run();
        this.#batchOpen = true;
      }
      this.#control.savepoint.run();
      handle.inUnit = true;
    } catch (error) {
      this.#handOn(handle);
      throw error;
    }
  }

  /** Keeps the unit's work in the batch, lets the next unit run, and waits until the batch is on disk. */
  async #commitUnit(handle: SqliteHandle): Promise<void> {
    this.#control.release.run();
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
      this.#control.rollbackTo.run();
      this.#control.release.run();
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
    let committed = false;
    try {
      let durable: Promise<void> | null = null;
      if (this.#batchOpen) {
        this.#control.commit.run();
        this.#batchOpen = false;
        committed = true;
        const commit = this.#sync?.committed();
        if (commit !== undefined && waiters.length > 0) durable = this.#sync?.pending(commit) ?? null;
      }
      for (const waiter of waiters) {
        if (durable === null) waiter.resolve();
        else durable.then(waiter.resolve, waiter.reject);
      }
    } catch (error) {
      this.#batchOpen = false;
      try {
        if (this.#db.inTransaction) this.#db.exec('rollback');
      } catch {
        // The COMMIT's own error is what the units must see.
      }
      for (const waiter of waiters) waiter.reject(error);
    }
    if (committed) this.#afterCommit();
  }

  /** After a COMMIT: now and then a checkpoint on the thread, and the WAL started over once it is long. */
  #afterCommit(): void {
    const checkpoints = this.#checkpoints;
    if (checkpoints === null || this.#checkpointRunning) return;
    const { intervalMs, restartAtFrames } = checkpoints.policy;
    if (performance.now() - this.#lastCheckpointAt < intervalMs) return;
    this.#checkpointRunning = true;
    checkpoints
      .checkpoint()
      .then((result) => (result.walFrames >= restartAtFrames ? this.#restartWal(checkpoints) : undefined))
      .catch((error: unknown) => {
        this.#checkpointsFailed(error);
      })
      .finally(() => {
        this.#checkpointRunning = false;
        this.#lastCheckpointAt = performance.now();
      });
  }

  /**
   * Holds the writer (the event loop goes on) while the thread copies the frames left: with every frame in the
   * database file, the next write transaction starts the WAL over from its beginning.
   */
  async #restartWal(checkpoints: WalCheckpointer): Promise<void> {
    const unlock = await this.#lock();
    let timer: NodeJS.Timeout | undefined;
    try {
      this.#commitBatch();
      // A checkpoint that stalls (a disk that hangs) must not stall the writes: after restartWaitMs they go on, and
      // the WAL is started over another time.
      const gaveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, checkpoints.policy.restartWaitMs);
      });
      await Promise.race([checkpoints.checkpoint(), gaveUp]);
    } finally {
      clearTimeout(timer);
      unlock();
    }
  }

  /** Without the thread, SQLite checkpoints inside the COMMITs again, as it does by default. */
  #checkpointsFailed(error: unknown): void {
    if (this.#checkpoints === null || this.#destroyed) return;
    this.#checkpoints = null;
    this.#db.pragma(`wal_autocheckpoint = ${String(SQLITE_DEFAULT_AUTOCHECKPOINT_FRAMES)}`);
    process.emitWarning(
      `SQLite WAL checkpoints run inside COMMITs from now on: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  /** Statements SQLite refuses inside a transaction (VACUUM, PRAGMA): run alone, after the batch is committed. */
  async #outsideTransaction<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const unlock = await this.#lock();
    let result: QueryResult<R>;
    try {
      this.#commitBatch();
      result = await this.#writer.executeQuery<R>(query);
    } finally {
      unlock();
    }
    await this.#sync?.pending(this.#sync.committed());
    return result;
  }

  async execute<R>(handle: SqliteHandle, query: CompiledQuery): Promise<QueryResult<R>> {
    if (handle.inUnit) return this.#writer.executeQuery<R>(query);
    if (this.#reader !== null && SELECT.test(query.sql)) {
      const result = await this.#reader.executeQuery<R>(query);
      // What it read may include the latest COMMITs: answer it only once they are on disk.
      await this.#sync?.pending();
      return result;
    }
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
    this.#destroyed = true;
    await this.#checkpoints?.close();
    await this.#sync?.close();
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
