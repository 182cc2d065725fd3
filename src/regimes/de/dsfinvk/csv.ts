/**
 * The CSV dialect of the DSFinV-K files, as their index.xml declares it: UTF-8, `;` between columns, CRLF after
 * every record (the last one too), a header row with the column names, `"` around a value only where it contains
 * `;`, `"`, CR or LF (quotes inside doubled), and numbers with a decimal comma and exactly the column's `Accuracy`
 * decimals, never with digit grouping.
 *
 * Too long values: free-text columns (overflow `truncate`: article texts, names, addresses, notes) are cut to
 * `MaxLength` characters, as vendors do; any other column identifies something (ids, serials, keys, signatures,
 * tax numbers) and a value that does not fit is refused with {@link DsfinvkValueError} rather than cut, since a cut
 * identifier would silently point elsewhere. Pure; the writer that streams the rows lives with the export.
 * @module
 */
import {
  KEY_COLUMN_COUNT,
  type AlphaNumericColumn,
  type DsfinvkColumn,
  type DsfinvkTable,
  type NumericColumn,
} from './tables.js';

export const COLUMN_DELIMITER = ';';
export const RECORD_DELIMITER = '\r\n';
export const TEXT_ENCAPSULATOR = '"';
export const DECIMAL_SYMBOL = ',';

/** A cell: text for AlphaNumeric columns, an integer (see the column's `scale`) for Numeric ones; empty if absent. */
export type Cell = string | number | bigint | null | undefined;

/** A value that cannot be written into its column. */
export class DsfinvkValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DsfinvkValueError';
  }
}

const NEEDS_QUOTES = /[;"\r\n]/;

/** `a;b` → `"a;b"`, `say "hi"` → `"say ""hi"""`; anything else unchanged. */
export function escapeField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Characters as the standard counts them: code points, not UTF-16 units. */
function codePointLength(value: string): number {
  let length = value.length;
  for (let i = 0; i < value.length - 1; i++) {
    const unit = value.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length--;
        i++;
      }
    }
  }
  return length;
}

function truncateCodePoints(value: string, max: number): string {
  let out = '';
  let count = 0;
  for (const char of value) {
    if (count === max) break;
    out += char;
    count++;
  }
  return out;
}

/** The value as it may stand in the column: unchanged, cut (free text) or refused (identifiers). */
export function fitText(value: string, column: AlphaNumericColumn, where: string): string {
  // UTF-16 length bounds the code point count from above, so the exact count is only needed for long values.
  if (value.length <= column.maxLength || codePointLength(value) <= column.maxLength) return value;
  if (column.overflow === 'truncate') return truncateCodePoints(value, column.maxLength);
  throw new DsfinvkValueError(
    `${where}: ${column.name} is ${codePointLength(value)} characters, at most ${column.maxLength} allowed: ` +
      JSON.stringify(value),
  );
}

const POW10: readonly number[] = Array.from({ length: 16 }, (_, i) => 10 ** i);
const ZEROS: readonly string[] = Array.from({ length: 16 }, (_, i) => '0'.repeat(i));

/**
 * An integer in units of 10^-scale with exactly `accuracy` decimals and a decimal comma: (1250, 2, 2) → `12,50`,
 * (-190, 2, 5) → `-1,90000`, (1500, 3, 3) → `1,500`, (7, 0, 0) → `7`. Zero is never signed.
 */
export function formatDecimal(value: number | bigint, scale: number, accuracy: number): string {
  if (accuracy < scale || scale < 0 || accuracy >= ZEROS.length) {
    throw new RangeError(`Cannot write scale ${scale} with accuracy ${accuracy}`);
  }
  let negative: boolean;
  let whole: string;
  let fraction: string;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`Not a safe integer: ${value}`);
    negative = value < 0;
    const magnitude = negative ? -value : value;
    if (scale === 0) {
      whole = String(magnitude);
      fraction = '';
    } else {
      const unit = POW10[scale] ?? 1;
      // % is exact on safe integers, and so is the division of what is left.
      const rest = magnitude % unit;
      whole = String((magnitude - rest) / unit);
      fraction = String(rest).padStart(scale, '0');
    }
    negative = negative && magnitude !== 0;
  } else {
    negative = value < 0n;
    const magnitude = negative ? -value : value;
    const unit = 10n ** BigInt(scale);
    whole = String(magnitude / unit);
    fraction = scale === 0 ? '' : String(magnitude % unit).padStart(scale, '0');
    negative = negative && magnitude !== 0n;
  }
  const sign = negative ? '-' : '';
  return accuracy === 0 ? sign + whole : `${sign}${whole}${DECIMAL_SYMBOL}${fraction}${ZEROS[accuracy - scale] ?? ''}`;
}

function formatNumeric(cell: Cell, column: NumericColumn, where: string): string {
  if (typeof cell === 'number' || typeof cell === 'bigint') return formatDecimal(cell, column.scale, column.accuracy);
  throw new DsfinvkValueError(`${where}: ${column.name} takes a number, got ${JSON.stringify(cell)}`);
}

function formatCell(cell: Cell, column: DsfinvkColumn, where: string): string {
  if (cell === null || cell === undefined || cell === '') return '';
  switch (column.type) {
    case 'AlphaNumeric':
      if (typeof cell !== 'string') {
        throw new DsfinvkValueError(`${where}: ${column.name} takes text, got ${String(cell)}`);
      }
      return escapeField(fitText(cell, column, where));
    case 'Numeric':
      return formatNumeric(cell, column, where);
    case 'Date':
      if (typeof cell !== 'string') throw new DsfinvkValueError(`${where}: ${column.name} takes a date string`);
      return escapeField(cell);
  }
}

/** The header row: the column names in order. */
export function headerRow(table: DsfinvkTable): string {
  return table.columns.map((column) => column.name).join(COLUMN_DELIMITER) + RECORD_DELIMITER;
}

/**
 * Encodes the rows of one table. The closing's key (Z_KASSE_ID, Z_ERSTELLUNG, Z_NR) is the same on every row of a
 * closing, so it is encoded once ({@link RowEncoder.keyPrefix}) and each row passes only the cells after it.
 */
export class RowEncoder {
  private readonly columns: readonly DsfinvkColumn[];

  constructor(readonly table: DsfinvkTable) {
    this.columns = table.columns.slice(KEY_COLUMN_COUNT);
  }

  /** `Z_KASSE_ID;Z_ERSTELLUNG;Z_NR;` of a closing, checked against this table's key columns. */
  keyPrefix(kasseId: string, erstellung: string, zNumber: bigint | number): string {
    const where = `${this.table.file} key`;
    const [kasse, created, number] = this.table.columns;
    if (kasse === undefined || created === undefined || number === undefined) throw new Error('Table without key');
    return [
      formatCell(kasseId, kasse, where),
      formatCell(erstellung, created, where),
      formatCell(zNumber, number, where),
    ]
      .map((field) => field + COLUMN_DELIMITER)
      .join('');
  }

  /** One record, CRLF included. `cells` are the columns after the key, in order. */
  encode(prefix: string, cells: readonly Cell[]): string {
    const columns = this.columns;
    if (cells.length !== columns.length) {
      throw new Error(`${this.table.file}: ${cells.length} cells for ${columns.length} columns`);
    }
    let line = prefix;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] as DsfinvkColumn;
      if (i > 0) line += COLUMN_DELIMITER;
      line += formatCell(cells[i], column, this.table.file);
    }
    return line + RECORD_DELIMITER;
  }
}
