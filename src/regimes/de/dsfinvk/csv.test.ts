import { describe, expect, it } from 'vitest';
import { DsfinvkValueError, RowEncoder, escapeField, fitText, formatDecimal, headerRow } from './csv.js';
import { tableOf, type AlphaNumericColumn } from './tables.js';

const column = (file: Parameters<typeof tableOf>[0], name: string) => {
  const found = tableOf(file).columns.find((c) => c.name === name);
  if (found?.type !== 'AlphaNumeric') throw new Error(`${name} is no AlphaNumeric column`);
  return found satisfies AlphaNumericColumn;
};

describe('escapeField', () => {
  it.each([
    ['plain', 'plain'],
    ['', ''],
    ['a;b', '"a;b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\r\nlines', '"two\r\nlines"'],
    ['line\nfeed', '"line\nfeed"'],
    ['carriage\rreturn', '"carriage\rreturn"'],
    ['Größe, 1,5 l', 'Größe, 1,5 l'],
  ])('%j → %j', (value, expected) => {
    expect(escapeField(value)).toBe(expected);
  });
});

describe('formatDecimal', () => {
  it.each([
    [1250, 2, 2, '12,50'],
    [5, 2, 2, '0,05'],
    [-5, 2, 2, '-0,05'],
    [0, 2, 2, '0,00'],
    [-0, 2, 5, '0,00000'],
    [-190, 2, 5, '-1,90000'],
    [190, 2, 5, '1,90000'],
    [1500, 3, 3, '1,500'],
    [-2000, 3, 3, '-2,000'],
    [7, 0, 0, '7'],
    [-7, 0, 0, '-7'],
    [1900, 2, 2, '19,00'],
    [Number.MAX_SAFE_INTEGER, 2, 2, '90071992547409,91'],
    [-Number.MAX_SAFE_INTEGER, 2, 5, '-90071992547409,91000'],
  ])('(%d, scale %d, accuracy %d) → %s', (value, scale, accuracy, expected) => {
    expect(formatDecimal(value, scale, accuracy)).toBe(expected);
  });

  it('takes bigints of any size', () => {
    expect(formatDecimal(123456789012345678901n, 2, 2)).toBe('1234567890123456789,01');
    expect(formatDecimal(-5n, 2, 5)).toBe('-0,05000');
    expect(formatDecimal(0n, 0, 0)).toBe('0');
    expect(formatDecimal(42n, 0, 0)).toBe('42');
  });

  it('never groups digits and never uses a dot', () => {
    expect(formatDecimal(123456789, 2, 2)).toBe('1234567,89');
  });

  it('refuses what it cannot write exactly', () => {
    expect(() => formatDecimal(1.5, 2, 2)).toThrow(RangeError);
    expect(() => formatDecimal(Number.MAX_SAFE_INTEGER + 1, 2, 2)).toThrow(RangeError);
    expect(() => formatDecimal(1, 3, 2)).toThrow(RangeError);
  });
});

describe('fitText', () => {
  const articleText = column('lines.csv', 'ARTIKELTEXT');
  const bonId = column('lines.csv', 'BON_ID');

  it('leaves values that fit', () => {
    expect(fitText('Kaffee', articleText, 'x')).toBe('Kaffee');
    expect(fitText('x'.repeat(40), bonId, 'x')).toBe('x'.repeat(40));
  });

  it('cuts free text to MaxLength characters', () => {
    expect(fitText('a'.repeat(300), articleText, 'x')).toBe('a'.repeat(255));
  });

  it('counts and cuts characters, not UTF-16 units', () => {
    // 255 emoji are 510 UTF-16 units but exactly MaxLength characters.
    const emoji = '😀'.repeat(255);
    expect(fitText(emoji, articleText, 'x')).toBe(emoji);
    expect(fitText(`${emoji}😀`, articleText, 'x')).toBe(emoji);
  });

  it('refuses an identifier that does not fit', () => {
    expect(() => fitText('x'.repeat(41), bonId, 'op_1')).toThrow(DsfinvkValueError);
    expect(() => fitText('x'.repeat(41), bonId, 'op_1')).toThrow(/op_1: BON_ID is 41 characters, at most 40/);
  });
});

describe('RowEncoder', () => {
  const table = tableOf('datapayment.csv');
  const encoder = new RowEncoder(table);

  it('writes the header row with CRLF', () => {
    expect(headerRow(table)).toBe(
      'Z_KASSE_ID;Z_ERSTELLUNG;Z_NR;BON_ID;ZAHLART_TYP;ZAHLART_NAME;ZAHLWAEH_CODE;ZAHLWAEH_BETRAG;BASISWAEH_BETRAG\r\n',
    );
  });

  it('writes a record after the closing key, with decimals per column and empty cells', () => {
    const prefix = encoder.keyPrefix('KASSE-1', '2026-03-01T23:00:00+01:00', 7n);
    expect(prefix).toBe('KASSE-1;2026-03-01T23:00:00+01:00;7;');
    expect(encoder.encode(prefix, ['op_1', 'Bar', 'Bargeld; EUR', 'EUR', null, -250])).toBe(
      'KASSE-1;2026-03-01T23:00:00+01:00;7;op_1;Bar;"Bargeld; EUR";EUR;;-2,50\r\n',
    );
  });

  it('refuses a wrong number of cells and cells of the wrong kind', () => {
    const prefix = encoder.keyPrefix('K', 'T', 1);
    expect(() => encoder.encode(prefix, ['op_1'])).toThrow(/1 cells for 6 columns/);
    expect(() => encoder.encode(prefix, ['op_1', 'Bar', 'x', 'EUR', null, '2,50'])).toThrow(DsfinvkValueError);
    expect(() => encoder.encode(prefix, [1, 'Bar', 'x', 'EUR', null, 250])).toThrow(DsfinvkValueError);
  });

  it('refuses a Z_KASSE_ID longer than 50 characters', () => {
    expect(() => encoder.keyPrefix('K'.repeat(51), 'T', 1)).toThrow(/Z_KASSE_ID is 51 characters/);
  });
});
