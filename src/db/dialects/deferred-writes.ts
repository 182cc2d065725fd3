/**
 * Deferred writes: a write (INSERT, UPDATE, DELETE) whose result nobody in the unit of work needs is held back and
 * sent with the transaction's next statement, as a data-modifying `WITH` in front of it, so that it costs no round
 * trip of its own (PostgreSQL; db/prepared.ts `defer`). This module is the pure part: which statements may be held,
 * which may carry them, and the SQL of the carrying statement.
 *
 * The parts of one PostgreSQL statement see the same snapshot and run in no set order: a statement does not see the
 * rows that the `WITH` in front of it writes, and two parts must not change the same row. So a held write never
 * rides with a statement that names its table (that statement goes out after the held writes, sent on their own),
 * nor with a held write that names its table or whose table it names, unless both are plain INSERTs into one table
 * (the earlier ones are sent first). The outcome is then what sending each write at once would give. Constraint checks (foreign keys,
 * unique indexes) run at the end of the whole statement, with every row of it in place, and a failing held write
 * fails the statement that carried it, inside the same transaction: the unit of work rolls back as it would have.
 * @module
 */

/** Leads the SQL of a write the connection may hold back (db/prepared.ts adds it; never sent to the server). */
export const DEFERRED_WRITE_MARKER = '/* deferred */ ';

export interface Statement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export interface HeldWrite extends Statement {
  /** The table the write changes, as written in the SQL (quoted). */
  readonly table: string;
  /** A plain INSERT adds new rows only; anything else (an upsert too) may change rows that exist. */
  readonly kind: 'insert' | 'change';
}

const HELD_WRITE = /^(?:insert into|update|delete from) ("(?:[^"]|"")+")/;
const CARRIER = /^(?:select|insert|update|delete|with)\b/;

/**
 * The statement (without {@link DEFERRED_WRITE_MARKER}) as a held write, or null when it is not a plain INSERT,
 * UPDATE or DELETE that a `WITH` can hold (one with a `WITH` of its own cannot be nested in another, and runs at once).
 */
export function heldWrite(statement: Statement, leadingComment: string): HeldWrite | null {
  const body = withoutLeading(statement.sql, leadingComment);
  const match = HELD_WRITE.exec(body);
  if (match === null) return null;
  const kind = body.startsWith('insert') && !/\bon conflict\b/.test(body) ? 'insert' : 'change';
  return { ...statement, table: match[1] ?? '', kind };
}

/**
 * Whether `write` may be held together with `held` in one statement: not when one of them names the table another
 * changes (it would not see that change, or both could change one row), unless both only insert into one table.
 */
export function canHoldWith(held: readonly HeldWrite[], write: HeldWrite): boolean {
  return held.every((other) =>
    other.table === write.table
      ? other.kind === 'insert' && write.kind === 'insert'
      : !write.sql.includes(other.table) && !other.sql.includes(write.table),
  );
}

/**
 * Whether `statement` can carry the held writes: a query or DML statement that does not name any of their tables
 * (it would not see their rows). Transaction control, DDL and the like cannot.
 */
export function canCarry(statement: Statement, held: readonly HeldWrite[], leadingComment: string): boolean {
  const body = withoutLeading(statement.sql, leadingComment);
  return CARRIER.test(body) && held.every((write) => !body.includes(write.table));
}

/**
 * One statement: the held writes as `WITH` queries in front of `carrier`, their parameters renumbered after one
 * another and the carrier's after them. `leadingComment` (the prepared-statement marker) is kept in front when the
 * carrier has it, so that the result stays a prepared statement.
 */
export function carryHeldWrites(held: readonly HeldWrite[], carrier: Statement, leadingComment: string): Statement {
  const lead = carrier.sql.startsWith(leadingComment) ? leadingComment : '';
  const body = carrier.sql.slice(lead.length);
  const parameters: unknown[] = [];
  const queries = held.map((write, index) => {
    const text = renumberParameters(withoutLeading(write.sql, leadingComment), parameters.length);
    parameters.push(...write.parameters);
    return `"deferred_${String(index + 1)}" as (${text})`;
  });
  const carried = renumberParameters(body, parameters.length);
  parameters.push(...carrier.parameters);
  const withList = queries.join(', ');
  const ownWith = /^with(\s+recursive)?\s+/.exec(carried);
  const sql =
    ownWith === null ? `with ${withList} ${carried}` : `${ownWith[0]}${withList}, ${carried.slice(ownWith[0].length)}`;
  return { sql: lead + sql, parameters };
}

/**
 * The held writes alone as one statement: the last carries the others. For a transaction's end, or a statement that
 * cannot carry them.
 */
export function heldWritesAlone(held: readonly HeldWrite[], leadingComment: string): Statement {
  const last = held[held.length - 1];
  if (last === undefined) throw new Error('no held writes');
  return held.length === 1 ? last : carryHeldWrites(held.slice(0, -1), last, leadingComment);
}

function withoutLeading(sql: string, leadingComment: string): string {
  return sql.startsWith(leadingComment) ? sql.slice(leadingComment.length) : sql;
}

/**
 * Text in which a `$` is not a placeholder: string literals, quoted identifiers (a doubled quote escapes one; an
 * unclosed one runs to the end) and comments. Dollar-quoted strings do not occur in compiled queries.
 */
const NOT_PLACEHOLDERS = String.raw`'(?:[^']|'')*'?|"(?:[^"]|"")*"?|/\*[\s\S]*?(?:\*/|$)|--[^\n]*`;
const PLACEHOLDER = new RegExp(`(${NOT_PLACEHOLDERS})|\\$(\\d+)`, 'g');

/** `$n` placeholders shifted by `offset`, outside literals, quoted identifiers and comments. */
export function renumberParameters(sql: string, offset: number): string {
  if (offset === 0) return sql;
  return sql.replace(PLACEHOLDER, (match, text: string | undefined, index: string | undefined) =>
    text !== undefined || index === undefined ? match : `$${String(Number(index) + offset)}`,
  );
}
