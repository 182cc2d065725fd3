import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GDPDU_DTD, GDPDU_DTD_FILE_NAME } from './gdpdu-dtd.js';
import { indexXml } from './index-xml.js';
import { DSFINVK_FILES, DSFINVK_TABLES, KEY_COLUMN_COUNT } from './tables.js';

const dir = mkdtempSync(join(tmpdir(), 'dsfinvk-index-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const xml = indexXml({
  supplierName: 'Bäckerei Müller & Söhne <GmbH>',
  supplierLocation: 'Hauptstraße 1, 10115 Berlin, DE',
  comment: 'DSFinV-K 2.4, Kasse K-1, Z_NR 1',
});

/** xmllint's verdict on `document` against the DTD, both written next to each other as on the medium. */
function xmllint(document: string): { status: number | null; stderr: string } {
  writeFileSync(join(dir, GDPDU_DTD_FILE_NAME), GDPDU_DTD);
  const path = join(dir, 'index.xml');
  writeFileSync(path, document);
  const result = spawnSync('xmllint', ['--noout', '--dtdvalid', join(dir, GDPDU_DTD_FILE_NAME), path], {
    encoding: 'utf8',
  });
  return { status: result.status, stderr: result.stderr };
}

describe('the tables', () => {
  it('are the 20 files of the DSFinV-K, each starting with the closing key', () => {
    expect(DSFINVK_TABLES.map((t) => t.file)).toEqual([...DSFINVK_FILES]);
    expect(new Set(DSFINVK_TABLES.map((t) => t.name)).size).toBe(20);
    for (const table of DSFINVK_TABLES) {
      expect(table.columns.slice(0, KEY_COLUMN_COUNT).map((c) => c.name)).toEqual([
        'Z_KASSE_ID',
        'Z_ERSTELLUNG',
        'Z_NR',
      ]);
      expect(new Set(table.columns.map((c) => c.name)).size).toBe(table.columns.length);
      for (const column of table.columns) {
        if (column.type === 'AlphaNumeric') expect(column.maxLength).toBeGreaterThan(0);
        if (column.type === 'Numeric') expect(column.accuracy).toBeGreaterThanOrEqual(column.scale);
      }
    }
  });

  it('have the 2.4 widths and decimals where versions differ', () => {
    const col = (file: string, name: string) =>
      DSFINVK_TABLES.find((t) => t.file === file)?.columns.find((c) => c.name === name);
    expect(col('lines.csv', 'STK_BR')).toMatchObject({ type: 'Numeric', accuracy: 5 });
    expect(col('lines.csv', 'MENGE')).toMatchObject({ type: 'Numeric', accuracy: 3 });
    expect(col('transactions.csv', 'UMS_BRUTTO')).toMatchObject({ type: 'Numeric', accuracy: 2 });
    expect(col('transactions_tse.csv', 'TSE_VORGANGSDATEN')).toMatchObject({ maxLength: 1000 });
    expect(col('tse.csv', 'TSE_SIG_ALGO')).toMatchObject({ maxLength: 21 });
    expect(col('cashpointclosing.csv', 'Z_ERSTELLUNG')).toMatchObject({ type: 'AlphaNumeric', maxLength: 30 });
    expect(col('tse.csv', 'TSE_ZERTIFIKAT_VII')).toMatchObject({ maxLength: 1000 });
  });
});

describe('indexXml', () => {
  it('describes every table with the DSFinV-K dialect', () => {
    expect(
      xml.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE DataSet SYSTEM "${GDPDU_DTD_FILE_NAME}">`),
    );
    expect(xml.match(/<Table>/g)).toHaveLength(20);
    expect(xml.match(/<RecordDelimiter>&#13;&#10;<\/RecordDelimiter>/g)).toHaveLength(20);
    expect(xml.match(/<Range>\s*<From>2<\/From>\s*<\/Range>/g)).toHaveLength(20);
    expect(xml.match(/<UTF8\/>/g)).toHaveLength(20);
    expect(xml).toContain('<URL>lines.csv</URL>\n      <Name>Bonpos</Name>');
    expect(xml).toContain('<Name>Bäckerei Müller &amp; Söhne &lt;GmbH&gt;</Name>');
    expect(xml).not.toContain('VariablePrimaryKey');
    expect(xml).not.toContain('ForeignKey');
    const columns = DSFINVK_TABLES.reduce((sum, t) => sum + t.columns.length, 0);
    expect(xml.match(/<VariableColumn>/g)).toHaveLength(columns);
  });

  it('writes each type as the standard has it', () => {
    expect(xml).toContain(
      '<Name>STK_BR</Name>\n          <Description>Preis pro Einheit inkl. USt</Description>\n' +
        '          <Numeric>\n            <Accuracy>5</Accuracy>\n          </Numeric>',
    );
    expect(xml).toContain(
      '<Name>Z_NR</Name>\n          <Description>Nr. des Kassenabschlusses</Description>\n          <Numeric/>',
    );
    expect(xml).toContain(
      '<Name>BON_ID</Name>\n          <Description>Vorgangs-ID</Description>\n' +
        '          <AlphaNumeric/>\n          <MaxLength>40</MaxLength>',
    );
  });

  it('is deterministic', () => {
    expect(
      indexXml({
        supplierName: 'Bäckerei Müller & Söhne <GmbH>',
        supplierLocation: 'Hauptstraße 1, 10115 Berlin, DE',
        comment: 'DSFinV-K 2.4, Kasse K-1, Z_NR 1',
      }),
    ).toBe(xml);
  });

  it('is valid against gdpdu-01-09-2004.dtd (xmllint --dtdvalid)', () => {
    const result = xmllint(xml);
    expect(result.status).toBe(0);
    // libxml2 notes that the standard DTD's content model of Media is ambiguous; it is the only thing it says.
    expect(result.stderr.trim()).toBe(
      'validity error : Content model of Media is not determinist: (Name , Command* , Table* , Command* , AcceptNoTables?)',
    );
  });

  it('can describe a Date column too', () => {
    const result = xmllint(
      indexXml({
        supplierName: 'x',
        supplierLocation: 'y',
        comment: 'z',
        tables: [
          {
            file: 'cashpointclosing.csv',
            name: 'T',
            description: 'd',
            columns: [{ name: 'D', description: 'day', type: 'Date', format: 'YYYY-MM-DD' }],
          },
        ],
      }),
    );
    expect(result.status).toBe(0);
  });
});

describe('the DTD is not vacuous: xmllint refuses', () => {
  it.each([
    ['a MaxLength on a Numeric column', xml.replace('<Numeric/>', '<Numeric/>\n<MaxLength>5</MaxLength>')],
    ['an element the standard does not know', xml.replace('<UTF8/>', '<UTF8/>\n<Encoding>UTF-8</Encoding>')],
    ['a DataSupplier without Comment', xml.replace(/<Comment>[^<]*<\/Comment>/, '')],
    ['a Table after its layout', xml.replace('</VariableLength>', '</VariableLength>\n<URL>x.csv</URL>')],
    ['Accuracy outside Numeric', xml.replace('<AlphaNumeric/>', '<AlphaNumeric/>\n<Accuracy>2</Accuracy>')],
    [
      'VariableColumns before a VariablePrimaryKey',
      xml.replace(
        '</VariableLength>',
        '<VariablePrimaryKey><Name>X</Name><AlphaNumeric/></VariablePrimaryKey>\n</VariableLength>',
      ),
    ],
  ])('%s', (_, document) => {
    expect(document).not.toBe(xml);
    const result = xmllint(document);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/validity error|does not validate/i);
  });
});
