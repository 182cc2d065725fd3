/**
 * The data layer's entry point: one Kysely instance on either engine, plus an ambient transaction.
 *
 * A unit of work runs inside `transaction(fn)`; every repository query made while `fn` runs (across awaits) joins
 * that transaction through AsyncLocalStorage, and a nested `transaction` call joins the outer one. Services thus
 * compose repository calls atomically without passing transaction handles around, and without knowing Kysely.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, sql, type DatabaseConnection, type Transaction } from 'kysely';
import type { DatabaseLocation } from '../config/config.js';
import type { DialectCapabilities } from './dialects/capabilities.js';
import { createPostgresDialect, createPostgresPool, postgresCapabilities } from './dialects/postgres.js';
import { createSqliteDialect, openSqlite, sqliteCapabilities } from './dialects/sqlite.js';
import type { DB } from './schema.js';

/** What services may use: run a function as one atomic unit of work. */
export interface UnitOfWork {
  transaction<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Runs `task` after the current outermost transaction has rolled back (never if it commits). For bookkeeping
   * that must survive a failed unit of work, e.g. recording that a signing device failed. Outside a transaction
   * it throws.
   */
  afterRollback(task: () => Promise<void>): void;
  /**
   * Runs `task` once the current outermost transaction has committed (never if it rolls back). For in-memory
   * state that must not change before others can read the change, e.g. dropping a cached API key on revocation.
   * Outside a transaction it throws.
   */
  afterCommit(task: () => void): void;
  /**
   * Runs one write that must commit on its own, at once, outside any other transaction. Where a single statement
   * commits by itself (PostgreSQL) it is sent as just that: one round trip instead of BEGIN, the statement and
   * COMMIT. Elsewhere it runs as a unit of work. Inside a transaction it throws, since it could not commit apart.
   */
  standalone<T>(write: () => Promise<T>): Promise<T>;
}

export interface Database extends UnitOfWork {
  readonly capabilities: DialectCapabilities;
  /** The current transaction if one is running, else the root connection. Repositories query through this. */
  executor(): Kysely<DB>;
  /** True while inside `transaction`. */
  inTransaction(): boolean;
  /**
   * The driver connection of the running transaction, or null outside one: prepared queries (db/prepared.ts) hand
   * their compiled statements to it directly, skipping the layers of Kysely's executor. A value the first time a
   * transaction asks may be a promise.
   */
  transactionConnection(): DatabaseConnection | Promise<DatabaseConnection> | null;
  /** Throws if the database cannot answer. */
  ping(): Promise<void>;
  /** The schema unqualified names resolve to (`search_path`), or null where the engine has no schemas. */
  currentSchema(): Promise<string | null>;
  destroy(): Promise<void>;
}

export interface DatabaseOptions {
  readonly poolSize?: number;
  readonly onIdleError?: (error: Error) => void;
}

export function createDatabase(location: DatabaseLocation, options: DatabaseOptions = {}): Database {
  if (location.kind === 'sqlite') {
    mkdirSync(dirname(location.path), { recursive: true, mode: 0o700 });
    const kysely = new Kysely<DB>({ dialect: createSqliteDialect(openSqlite(location.path)) });
    return new KyselyDatabase(kysely, sqliteCapabilities);
  }
  const pool = createPostgresPool(location.url, options.poolSize ?? 10, options.onIdleError ?? (() => undefined));
  return new KyselyDatabase(new Kysely<DB>({ dialect: createPostgresDialect(pool) }), postgresCapabilities);
}

interface AmbientTransaction {
  readonly trx: Transaction<DB>;
  connection: DatabaseConnection | Promise<DatabaseConnection> | null;
  readonly afterRollback: Array<() => Promise<void>>;
  readonly afterCommit: Array<() => void>;
}

class KyselyDatabase implements Database {
  readonly #root: Kysely<DB>;
  readonly #current = new AsyncLocalStorage<AmbientTransaction>();

  constructor(
    root: Kysely<DB>,
    readonly capabilities: DialectCapabilities,
  ) {
    this.#root = root;
  }

  executor(): Kysely<DB> {
    return this.#current.getStore()?.trx ?? this.#root;
  }

  inTransaction(): boolean {
    return this.#current.getStore() !== undefined;
  }

  transactionConnection(): DatabaseConnection | Promise<DatabaseConnection> | null {
    const current = this.#current.getStore();
    if (current === undefined) return null;
    if (current.connection === null) {
      // A transaction's executor provides its one connection (Kysely's SingleConnectionProvider); keep it.
      // `getExecutor` is marked internal in Kysely: the pinned version (package.json) is what this relies on.
      const connection = current.trx.getExecutor().provideConnection((provided) => Promise.resolve(provided));
      current.connection = connection;
      void connection.then((provided) => {
        current.connection = provided;
      });
    }
    return current.connection;
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.#current.getStore() !== undefined) return work();
    const afterRollback: Array<() => Promise<void>> = [];
    const afterCommit: Array<() => void> = [];
    let result: T;
    try {
      result = await this.#root
        .transaction()
        .execute((trx) => this.#current.run({ trx, connection: null, afterRollback, afterCommit }, work));
    } catch (error) {
      for (const task of afterRollback) {
        // Best effort: the unit of work already failed; its own error is what the caller must see.
        await task().catch(() => undefined);
      }
      throw error;
    }
    for (const task of afterCommit) task();
    return result;
  }

  afterRollback(task: () => Promise<void>): void {
    const current = this.#current.getStore();
    if (current === undefined) throw new Error('afterRollback needs a running transaction');
    current.afterRollback.push(task);
  }

  async standalone<T>(write: () => Promise<T>): Promise<T> {
    if (this.#current.getStore() !== undefined) throw new Error('standalone cannot run inside a transaction');
    return this.capabilities.autocommitStatements ? write() : this.transaction(write);
  }

  afterCommit(task: () => void): void {
    const current = this.#current.getStore();
    if (current === undefined) throw new Error('afterCommit needs a running transaction');
    current.afterCommit.push(task);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.executor());
  }

  async currentSchema(): Promise<string | null> {
    if (!this.capabilities.namedSchemas) return null;
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(this.executor());
    return rows[0]?.schema ?? null;
  }

  async destroy(): Promise<void> {
    await this.#root.destroy();
  }
}
