/**
 * What differs between the engines, stated as capabilities. Code outside `db/dialects/` branches on these, never
 * on the engine's name.
 * @module
 */
export interface DialectCapabilities {
  readonly name: 'sqlite' | 'postgres';
  /** `SELECT … FOR UPDATE` exists (PostgreSQL). SQLite serialises writers with BEGIN IMMEDIATE instead. */
  readonly supportsRowLocks: boolean;
  /** Several connections run queries at the same time. */
  readonly concurrentConnections: boolean;
  /** Tables live in named schemas (PostgreSQL); one database may hold several installations side by side. */
  readonly namedSchemas: boolean;
  /**
   * A `WITH` clause may hold an UPDATE whose rows the statement then uses, or a write held back from an earlier
   * call (PostgreSQL, dialects/deferred-writes.ts): two writes, one round trip. Where it cannot, `defer` writes at once.
   */
  readonly writesInWith: boolean;
  /**
   * A single statement sent outside a transaction commits by itself on a connection of its own (PostgreSQL). On
   * SQLite the one writer connection may be holding a group-commit batch, so every write goes through a unit of work.
   */
  readonly autocommitStatements: boolean;
}
