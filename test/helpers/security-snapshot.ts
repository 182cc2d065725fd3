/**
 * The whole database as data, to prove that a refused request changed nothing: every row of every table (found by
 * introspection, so a new table is covered without touching this file).
 */
import { sql } from 'kysely';
import type { Database } from '../../src/db/database.js';

/** Per table, its rows as canonical JSON lines, sorted. */
export type Snapshot = ReadonlyMap<string, readonly string[]>;

/**
 * Columns that legitimately move on a refused request: a key's `last_used_at` is written when the key
 * authenticates, which happens before the refusal.
 */
const VOLATILE_COLUMNS: Readonly<Record<string, readonly string[]>> = { api_keys: ['last_used_at'] };

const json = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

const tableNamesOf = new WeakMap<Database, Promise<string[]>>();

/** The database's tables, introspected once per database (the schema does not change during a test). */
export function tableNames(database: Database): Promise<string[]> {
  let names = tableNamesOf.get(database);
  if (names === undefined) {
    // This installation's own tables: a PostgreSQL database may hold other schemas' tables and extensions' views.
    names = Promise.all([database.currentSchema(), database.executor().introspection.getTables()]).then(
      ([schema, tables]) =>
        tables
          .filter((table) => !table.isView && (schema === null || table.schema === schema))
          .map((table) => table.name)
          .sort(),
    );
    tableNamesOf.set(database, names);
  }
  return names;
}

/** Every row of every table, with the volatile columns left out. */
export async function snapshot(database: Database): Promise<Snapshot> {
  const db = database.executor();
  const tables = await tableNames(database);
  const dumps = await Promise.all(
    tables.map(async (table) => {
      const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db);
      const skip = new Set(VOLATILE_COLUMNS[table] ?? []);
      const lines = rows.map((row) => {
        const kept = Object.keys(row)
          .filter((column) => !skip.has(column))
          .sort()
          .map((column) => [column, row[column]] as const);
        return json(Object.fromEntries(kept));
      });
      return [table, lines.sort()] as const;
    }),
  );
  return new Map(dumps);
}

export interface SnapshotDiff {
  readonly table: string;
  /** Rows that are gone or changed (their old version). */
  readonly removed: readonly string[];
  /** Rows that are new or changed (their new version). */
  readonly added: readonly string[];
}

/** What differs between two snapshots, table by table; empty when nothing changed. */
export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotDiff[] {
  const diffs: SnapshotDiff[] = [];
  for (const table of new Set([...before.keys(), ...after.keys()])) {
    const old = new Set(before.get(table) ?? []);
    const now = new Set(after.get(table) ?? []);
    const removed = [...old].filter((row) => !now.has(row));
    const added = [...now].filter((row) => !old.has(row));
    if (removed.length > 0 || added.length > 0) diffs.push({ table, removed, added });
  }
  return diffs;
}

/** Every cell of every row, as text: to search for a secret wherever it might have been stored. */
export function everyCell(snap: Snapshot): Array<{ table: string; row: string }> {
  return [...snap.entries()].flatMap(([table, rows]) => rows.map((row) => ({ table, row })));
}
