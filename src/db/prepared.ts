/**
 * Queries built and compiled once, then executed with new parameter values: the hot path's statements skip Kysely's
 * query building and compiling (about an eighth of a sale's CPU time when every call rebuilt them).
 *
 * `build` receives placeholder parameters and must only pass them through to the builder as values (no arithmetic,
 * no branching on them): each placeholder is a unique marker string that compiling turns into one bind parameter,
 * which is then replaced by the caller's value. A parameter that is `undefined` in a call is left out (as Kysely
 * leaves out undefined members of `values()` and `set()`), so the compiled form is cached per set of present names.
 *
 * The compiled SQL starts with {@link PREPARED_STATEMENT_MARKER}: an engine that can keep a statement prepared on its
 * connection (PostgreSQL, dialects/postgres.ts) does so for these, and only these, because they are few and repeat.
 * @module
 */
import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { Database } from './database.js';
import { DEFERRED_WRITE_MARKER } from './dialects/deferred-writes.js';
import type { DB } from './schema.js';

export interface PreparedQuery<P extends object, R> {
  /** Every row the query returns. */
  all(parameters: P): Promise<R[]>;
  /** The first row, or undefined. */
  first(parameters: P): Promise<R | undefined>;
  /** Runs a write; resolves with the rows it changed (0 on engines that do not report it). */
  run(parameters: P): Promise<bigint>;
  /**
   * Runs a write (INSERT, UPDATE, DELETE) whose outcome the rest of the unit of work does not need. Inside a
   * transaction on an engine that can put writes in a `WITH` (PostgreSQL), the connection holds it back and sends it
   * with the transaction's next statement, one round trip less (dialects/deferred-writes.ts); a failure then
   * surfaces at that statement or at the commit, and rolls the unit of work back all the same. Elsewhere it runs at
   * once.
   */
  defer(parameters: P): Promise<void>;
}

const MARKER_PREFIX = '\u0000prepared-parameter:';

/** Leads the SQL of every prepared query: a comment, so engines that do nothing with it run the same statement. */
export const PREPARED_STATEMENT_MARKER = '/* prepared */ ';

/** Where each bind parameter of the compiled query comes from: a caller's parameter, or a constant of `build`. */
type Slot = { readonly name: string } | { readonly constant: unknown };

interface Compiled {
  readonly query: CompiledQuery;
  readonly slots: readonly Slot[];
}

export function prepareQuery<P extends object, R>(
  db: Pick<Database, 'executor'> & Partial<Pick<Database, 'transactionConnection' | 'capabilities'>>,
  build: (query: Kysely<DB>, parameters: P) => Compilable<R>,
): PreparedQuery<P, R> {
  const byShape = new Map<string, Compiled>();

  function compile(names: readonly string[]): Compiled {
    const markers: Record<string, string> = {};
    for (const name of names) markers[name] = MARKER_PREFIX + name;
    // The markers stand in for values of any type: they are only handed to the builder, never inspected.
    const built = build(db.executor(), markers as unknown as P).compile();
    const query: CompiledQuery = { ...built, sql: PREPARED_STATEMENT_MARKER + built.sql };
    const used = new Set<string>();
    const slots = query.parameters.map((value): Slot => {
      if (typeof value === 'string' && value.startsWith(MARKER_PREFIX)) {
        const name = value.slice(MARKER_PREFIX.length);
        used.add(name);
        return { name };
      }
      return { constant: value };
    });
    const unused = names.filter((name) => !used.has(name));
    if (unused.length > 0) throw new Error(`prepared query does not bind parameter(s) ${unused.join(', ')}`);
    return { query, slots };
  }

  function execute(parameters: P, deferrable = false) {
    const values = parameters as Readonly<Record<string, unknown>>;
    const names = Object.keys(values).filter((name) => values[name] !== undefined);
    const shape = names.join(',');
    let compiled = byShape.get(shape);
    if (compiled === undefined) {
      compiled = compile(names);
      byShape.set(shape, compiled);
    }
    const bound = compiled.slots.map((slot) => ('name' in slot ? values[slot.name] : slot.constant));
    // In a transaction the statement goes straight to its connection: the same statement on the same connection,
    // without the executor's layers of promises (no plugins are configured, so they would not change it).
    const connection = db.transactionConnection?.() ?? null;
    const deferred = deferrable && connection !== null && db.capabilities?.writesInWith === true;
    const sql = deferred ? DEFERRED_WRITE_MARKER + compiled.query.sql : compiled.query.sql;
    const query: CompiledQuery = { ...compiled.query, sql, parameters: bound };
    if (connection === null) return db.executor().executeQuery<R>(query);
    if (connection instanceof Promise) return connection.then((ready) => ready.executeQuery<R>(query));
    return connection.executeQuery<R>(query);
  }

  return {
    async all(parameters) {
      return (await execute(parameters)).rows;
    },
    async first(parameters) {
      return (await execute(parameters)).rows[0];
    },
    async run(parameters) {
      return (await execute(parameters)).numAffectedRows ?? 0n;
    },
    async defer(parameters) {
      await execute(parameters, true);
    },
  };
}
