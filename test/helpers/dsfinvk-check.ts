/**
 * An independent checker of an extracted DSFinV-K export, in the spirit of pretix/python-dsfinvk's `validate.py`.
 * It shares no code with the generator: it parses index.xml itself (a small XML reader below), validates it against
 * the DTD shipped in the export with `xmllint --dtdvalid`, and reads every CSV with its own parser.
 *
 * Usage (after `tar -xf export.tar -C dir`):
 *
 * ```ts
 * const { rows } = checkDsfinvkExport(dir);           // throws DsfinvkCheckError listing every problem
 * const closing = rows['cashpointclosing.csv']?.[0];   // Record<column, string>, values as written
 * decimalToMinor(closing?.Z_SE_BARZAHLUNGEN ?? '');    // '12,50' → 1250 (minor units); '1,90000' → 190
 * ```
 *
 * Checked for every `<Table>` of index.xml: the file exists and is listed (and no CSV is left unlisted), it is UTF-8
 * (no BOM), every record ends in CRLF, the first record is the header with exactly the column names of index.xml in
 * order, every record has that many fields, quoting is well formed (a quoted field is followed by a delimiter or the
 * record's end, quotes inside doubled, no quote in an unquoted field, no bare CR or LF outside quotes), Numeric
 * values have exactly the declared decimals (`^-?\d+$` for Accuracy 0, `^-?\d+,\d{Accuracy}$` otherwise; an empty
 * value is allowed, as in validate.py: optional fields), AlphaNumeric values have at most MaxLength characters (code
 * points). Plus: index.xml has Version 1.0, one Media, declares UTF8, `,` and `.`, Range From 2, `;`, CRLF and `"`,
 * and passes `xmllint --dtdvalid` (libxml2's one note about the standard DTD itself, that Media's content model is
 * not deterministic, is expected and ignored; any other output or a non-zero status is a problem).
 *
 * Needs `xmllint` (Debian: libxml2-utils) on the PATH.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CheckedColumn {
  readonly name: string;
  readonly type: 'AlphaNumeric' | 'Numeric' | 'Date';
  /** AlphaNumeric only. */
  readonly maxLength: number | null;
  /** Numeric only (0 when not declared). */
  readonly accuracy: number;
  readonly primaryKey: boolean;
}

export interface CheckedTable {
  readonly url: string;
  readonly name: string;
  readonly columns: readonly CheckedColumn[];
}

export interface DsfinvkCheckResult {
  /** The tables as index.xml describes them, in its order. */
  readonly tables: readonly CheckedTable[];
  /** The data rows (header excluded) of every file, by file name; values exactly as written (unquoted). */
  readonly rows: Readonly<Record<string, Array<Record<string, string>>>>;
}

export class DsfinvkCheckError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`DSFinV-K export check failed:\n- ${problems.join('\n- ')}`);
    this.name = 'DsfinvkCheckError';
  }
}

// --- A small XML reader: elements and text, enough for index.xml -------------------------------------------------

interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity] ?? '';
  });
}

function parseXml(xml: string): { root: XmlElement; systemId: string | null } {
  let systemId: string | null = null;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let i = 0;
  while (i < xml.length) {
    const open = xml.indexOf('<', i);
    const text = xml.slice(i, open < 0 ? xml.length : open);
    const top = stack.at(-1);
    if (top !== undefined) top.text += decodeEntities(text);
    else if (text.trim() !== '' && text.trim() !== '\ufeff') throw new Error('Text outside the document element');
    if (open < 0) break;
    if (xml.startsWith('<?', open)) {
      i = xml.indexOf('?>', open) + 2;
    } else if (xml.startsWith('<!--', open)) {
      i = xml.indexOf('-->', open) + 3;
    } else if (xml.startsWith('<!DOCTYPE', open)) {
      const end = xml.indexOf('>', open);
      systemId = /SYSTEM\s+"([^"]*)"/.exec(xml.slice(open, end))?.[1] ?? null;
      i = end + 1;
    } else if (xml.startsWith('</', open)) {
      const end = xml.indexOf('>', open);
      const name = xml.slice(open + 2, end).trim();
      const closed = stack.pop();
      if (closed?.name !== name) throw new Error(`Unbalanced </${name}>`);
      i = end + 1;
    } else {
      const end = xml.indexOf('>', open);
      const body = xml.slice(open + 1, end);
      const selfClosing = body.endsWith('/');
      const name = (selfClosing ? body.slice(0, -1) : body).trim().split(/\s+/)[0] ?? '';
      const element: XmlElement = { name, children: [], text: '' };
      const parent = stack.at(-1);
      if (parent !== undefined) parent.children.push(element);
      else if (root === null) root = element;
      else throw new Error('Two document elements');
      if (!selfClosing) stack.push(element);
      i = end + 1;
    }
  }
  if (root === null || stack.length > 0) throw new Error('Unbalanced XML');
  return { root, systemId };
}

const child = (element: XmlElement, name: string) => element.children.find((c) => c.name === name);
const children = (element: XmlElement, name: string) => element.children.filter((c) => c.name === name);
const textOf = (element: XmlElement | undefined) => element?.text.trim() ?? null;

// --- CSV ------------------------------------------------------------------------------------------------------------

/** Splits a file into records of fields; problems are pushed, parsing stops at the first malformed record. */
function parseCsv(content: string, problems: string[], file: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let i = 0;
  const n = content.length;
  while (i < n) {
    let value = '';
    if (content[i] === '"') {
      i++;
      for (;;) {
        const quote = content.indexOf('"', i);
        if (quote < 0) {
          problems.push(`${file}: record ${records.length + 1}: unterminated quoted field`);
          return records;
        }
        value += content.slice(i, quote);
        if (content[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      const next = content[i];
      if (i < n && next !== ';' && next !== '\r') {
        problems.push(`${file}: record ${records.length + 1}: text after a closing quote`);
        return records;
      }
    } else {
      let j = i;
      while (j < n && content[j] !== ';' && content[j] !== '\r' && content[j] !== '\n' && content[j] !== '"') j++;
      if (content[j] === '"' || content[j] === '\n') {
        problems.push(
          `${file}: record ${records.length + 1}: ${content[j] === '"' ? 'quote in an unquoted field' : 'bare LF'}`,
        );
        return records;
      }
      value = content.slice(i, j);
      i = j;
    }
    fields.push(value);
    if (content[i] === ';') {
      i++;
      continue;
    }
    // End of record: only CRLF ends one.
    if (content[i] !== '\r' || content[i + 1] !== '\n') {
      problems.push(`${file}: record ${records.length + 1} does not end in CRLF`);
      return records;
    }
    i += 2;
    records.push(fields);
    fields = [];
  }
  if (fields.length > 0) problems.push(`${file}: the last record does not end in CRLF`);
  return records;
}

function codePoints(value: string): number {
  return Array.from(value).length;
}

/** libxml2's note on the standard DTD itself: `Media (Name, Command*, Table*, Command*, …)` is ambiguous. */
const KNOWN_DTD_NOTE = /Content model of Media is not determinist/;

// --- The check ------------------------------------------------------------------------------------------------------

/** Checks the extracted export in `dir`; returns the tables and rows, or throws {@link DsfinvkCheckError}. */
export function checkDsfinvkExport(dir: string): DsfinvkCheckResult {
  const problems: string[] = [];
  const indexPath = join(dir, 'index.xml');
  if (!existsSync(indexPath)) throw new DsfinvkCheckError(['index.xml is missing']);
  const { root, systemId } = parseXml(readFileSync(indexPath, 'utf8'));

  if (root.name !== 'DataSet') problems.push(`index.xml: document element ${root.name}, expected DataSet`);
  if (textOf(child(root, 'Version')) !== '1.0') problems.push('index.xml: Version is not 1.0');
  if (systemId === null) {
    problems.push('index.xml: no DOCTYPE with a SYSTEM id');
  } else if (!existsSync(join(dir, systemId))) {
    problems.push(`index.xml names the DTD ${systemId}, which is not in the export`);
  } else {
    const result = spawnSync('xmllint', ['--noout', '--dtdvalid', join(dir, systemId), indexPath], {
      encoding: 'utf8',
    });
    // The standard's own DTD has a non-deterministic content model for Media, which libxml2 reports on every run
    // (exit status 0); anything else it says is a finding.
    const findings = result.stderr.split('\n').filter((line) => line.trim() !== '' && !KNOWN_DTD_NOTE.test(line));
    if (result.status !== 0 || findings.length > 0) {
      problems.push(`xmllint --dtdvalid refuses index.xml (status ${String(result.status)}): ${findings.join(' | ')}`);
    }
  }

  const tables: CheckedTable[] = [];
  const rows: Record<string, Array<Record<string, string>>> = {};
  const media = children(root, 'Media');
  if (media.length !== 1) problems.push(`index.xml: ${media.length} Media, expected 1`);
  for (const table of media.flatMap((m) => children(m, 'Table'))) {
    const url = textOf(child(table, 'URL')) ?? '';
    const where = url === '' ? 'a Table without URL' : url;
    if (child(table, 'UTF8') === undefined) problems.push(`${where}: not declared UTF8`);
    if (textOf(child(table, 'DecimalSymbol')) !== ',') problems.push(`${where}: DecimalSymbol is not ","`);
    if (textOf(child(table, 'DigitGroupingSymbol')) !== '.') problems.push(`${where}: DigitGroupingSymbol is not "."`);
    const range = child(table, 'Range');
    if (range === undefined || textOf(child(range, 'From')) !== '2') problems.push(`${where}: Range/From is not 2`);
    const layout = child(table, 'VariableLength');
    if (layout === undefined) {
      problems.push(`${where}: no VariableLength`);
      continue;
    }
    // The delimiters are compared untrimmed: they are the characters themselves.
    if (child(layout, 'ColumnDelimiter')?.text !== ';') problems.push(`${where}: ColumnDelimiter is not ";"`);
    if (child(layout, 'RecordDelimiter')?.text !== '\r\n') problems.push(`${where}: RecordDelimiter is not CRLF`);
    if (child(layout, 'TextEncapsulator')?.text !== '"') problems.push(`${where}: TextEncapsulator is not '"'`);
    const columns: CheckedColumn[] = layout.children
      .filter((c) => c.name === 'VariablePrimaryKey' || c.name === 'VariableColumn')
      .map((c) => {
        const numeric = child(c, 'Numeric');
        const type = numeric !== undefined ? 'Numeric' : child(c, 'Date') !== undefined ? 'Date' : 'AlphaNumeric';
        const maxLength = textOf(child(c, 'MaxLength'));
        const accuracy = numeric === undefined ? null : textOf(child(numeric, 'Accuracy'));
        return {
          name: textOf(child(c, 'Name')) ?? '',
          type,
          maxLength: maxLength === null ? null : Number(maxLength),
          accuracy: accuracy === null ? 0 : Number(accuracy),
          primaryKey: c.name === 'VariablePrimaryKey',
        };
      });
    tables.push({ url, name: textOf(child(table, 'Name')) ?? url, columns });

    const path = join(dir, url);
    if (url === '' || !existsSync(path)) {
      problems.push(`${where}: the file is missing`);
      continue;
    }
    const bytes = readFileSync(path);
    let content: string;
    try {
      content = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      problems.push(`${url}: not valid UTF-8`);
      continue;
    }
    if (content.startsWith('\ufeff')) problems.push(`${url}: starts with a byte order mark`);
    const records = parseCsv(content, problems, url);
    const [header, ...data] = records;
    if (header === undefined) {
      problems.push(`${url}: no header row`);
      continue;
    }
    const names = columns.map((c) => c.name);
    if (header.join(';') !== names.join(';')) {
      problems.push(`${url}: header ${header.join(';')} differs from index.xml's ${names.join(';')}`);
    }
    const patterns = columns.map((c) =>
      c.type === 'Numeric' ? new RegExp(c.accuracy === 0 ? '^-?\\d+$' : `^-?\\d+,\\d{${c.accuracy}}$`) : null,
    );
    rows[url] = data.map((record, index) => {
      const line = index + 2;
      if (record.length !== columns.length) {
        problems.push(`${url}: line ${line} has ${record.length} fields, index.xml ${columns.length}`);
      }
      const row: Record<string, string> = {};
      columns.forEach((column, j) => {
        const value = record[j] ?? '';
        row[column.name] = value;
        const pattern = patterns[j];
        if (pattern != null && value !== '' && !pattern.test(value)) {
          problems.push(
            `${url}: line ${line}: ${column.name} ${JSON.stringify(value)} is not Numeric(${column.accuracy})`,
          );
        }
        if (column.maxLength !== null && codePoints(value) > column.maxLength) {
          problems.push(`${url}: line ${line}: ${column.name} is longer than ${column.maxLength}`);
        }
      });
      return row;
    });
  }

  const described = new Set(tables.map((t) => t.url));
  for (const name of readdirSync(dir)) {
    if (name.toLowerCase().endsWith('.csv') && !described.has(name)) {
      problems.push(`${name}: not described in index.xml`);
    }
  }
  if (problems.length > 0) throw new DsfinvkCheckError(problems);
  return { tables, rows };
}

/**
 * A decimal-comma value as an integer in units of 10^-decimals (default: minor units of EUR):
 * `'12,50'` → 1250, `'-1,90000'` → -190, `'3'` → 300. Throws if it has non-zero digits beyond `decimals` or is not
 * a decimal-comma number (an empty value too).
 */
export function decimalToMinor(value: string, decimals = 2): number {
  const match = /^(-?)(\d+)(?:,(\d+))?$/.exec(value);
  if (match === null) throw new Error(`Not a decimal-comma number: ${JSON.stringify(value)}`);
  const fraction = match[3] ?? '';
  if (/[1-9]/.test(fraction.slice(decimals))) {
    throw new Error(`${value} has more than ${decimals} significant decimals`);
  }
  const digits = (match[2] ?? '0') + fraction.slice(0, decimals).padEnd(decimals, '0');
  const magnitude = Number(digits);
  return match[1] === '-' && magnitude !== 0 ? -magnitude : magnitude;
}
