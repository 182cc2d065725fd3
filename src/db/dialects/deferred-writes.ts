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
  let shapes = writeShapes.get(leadingComment);
  if (shapes === undefined || shapes.size >= CACHE_SIZE) {
    shapes = new Map();
    writeShapes.set(leadingComment, shapes);
  }
  let shape = shapes.get(statement.sql);
  if (shape === undefined) {
    shape = writeShapeOf(withoutLeading(statement.sql, leadingComment));
    shapes.set(statement.sql, shape);
  }
  return shape === null ? null : { ...statement, ...shape };
}

/**
 * The table and kind of a write, by leading comment and text: found once per text (the hot path's texts are few;
 * see {@link carriedSql} on the bound).
 */
const writeShapes = new Map<string, Map<string, Pick<HeldWrite, 'table' | 'kind'> | null>>();

function writeShapeOf(body: string): Pick<HeldWrite, 'table' | 'kind'> | null {
  const match = HELD_WRITE.exec(body);
  if (match === null) return null;
  const kind = body.startsWith('insert') && !/\bon conflict\b/.test(body) ? 'insert' : 'change';
  return { table: match[1] ?? '', kind };
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
  const parameters: unknown[] = [];
  for (const write of held) parameters.push(...write.parameters);
  parameters.push(...carrier.parameters);
  return { sql: carriedSql(held, carrier, leadingComment), parameters };
}

/**
 * The SQL of a carrying statement depends only on the texts involved and the number of parameters before each (the
 * hot path combines the same few prepared texts again and again), so it is built once per combination: renumbering
 * the placeholders of long INSERTs on every call was about 2 % of the server's CPU per sale on PostgreSQL. Keyed by
 * the texts themselves (their hashes are kept by the strings), in a tree; dropped whole when it grows past
 * {@link CACHE_SIZE} combinations, so that queries built with varying texts cannot grow it for ever.
 */
interface CarriedSqlNode {
  readonly next: Map<string | number, CarriedSqlNode>;
  sql?: string;
}
const CACHE_SIZE = 1000;
let carriedSqlCache: CarriedSqlNode = { next: new Map() };
let carriedSqlCached = 0;

function carriedSql(held: readonly HeldWrite[], carrier: Statement, leadingComment: string): string {
  if (carriedSqlCached >= CACHE_SIZE) {
    carriedSqlCache = { next: new Map() };
    carriedSqlCached = 0;
  }
  let node = carriedSqlCache;
  const step = (key: string | number) => {
    let next = node.next.get(key);
    if (next === undefined) {
      next = { next: new Map() };
      node.next.set(key, next);
    }
    node = next;
  };
  step(leadingComment);
  step(carrier.sql);
  for (const write of held) {
    step(write.sql);
    step(write.parameters.length);
  }
  if (node.sql === undefined) {
    node.sql = buildCarriedSql(held, carrier, leadingComment);
    carriedSqlCached += 1;
  }
  return node.sql;
}

function buildCarriedSql(held: readonly HeldWrite[], carrier: Statement, leadingComment: string): string {
  const lead = carrier.sql.startsWith(leadingComment) ? leadingComment : '';
  const body = carrier.sql.slice(lead.length);
  let before = 0;
  const queries = held.map((write, index) => {
    const text = renumberParameters(withoutLeading(write.sql, leadingComment), before);
    before += write.parameters.length;
    return `"deferred_${String(index + 1)}" as (${text})`;
  });
  const carried = renumberParameters(body, before);
  const withList = queries.join(', ');
  const ownWith = /^with(\s+recursive)?\s+/.exec(carried);
  const sql =
    ownWith === null ? `with ${withList} ${carried}` : `${ownWith[0]}${withList}, ${carried.slice(ownWith[0].length)}`;
  return lead + sql;
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
