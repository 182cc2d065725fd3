/**
 * `index.xml` of a DSFinV-K export: the GDPdU description of every CSV file, derived from {@link DSFINVK_TABLES}.
 *
 * Shaped like the reference index.xml of DSFinV-K 2.4: `Version` 1.0, one `Media`, per table `URL`, `Name`,
 * `Description`, `UTF8`, decimal comma and dot grouping, `Range/From` 2 (the first row is the header), and a
 * `VariableLength` block with `;`, CRLF and `"`. Every column, the closing's key included, is a `VariableColumn`,
 * and there is no `VariablePrimaryKey` and no `ForeignKey`: the reference declares none (both open-source readings of
 * it cited in tables.ts agree), pretix's validator refuses primary keys, and an auditor's import joins the tables by
 * the documented key columns anyway.
 * @module
 */
import { GDPDU_DTD_FILE_NAME } from './gdpdu-dtd.js';
import { DSFINVK_TABLES, type DsfinvkColumn, type DsfinvkTable } from './tables.js';

export interface IndexXmlInput {
  /** DataSupplier: who hands the data over (the company). */
  readonly supplierName: string;
  /** DataSupplier: where (e.g. the location's address). */
  readonly supplierLocation: string;
  /** DataSupplier: what this medium holds. */
  readonly comment: string;
  /** The Media's name. */
  readonly mediaName?: string;
  readonly tables?: readonly DsfinvkTable[];
}

function escapeXml(text: string): string {
  return text.replace(/[&<>]/g, (char) => (char === '&' ? '&amp;' : char === '<' ? '&lt;' : '&gt;'));
}

function element(indent: string, name: string, text: string): string {
  return `${indent}<${name}>${escapeXml(text)}</${name}>\n`;
}

function column(column: DsfinvkColumn): string {
  const indent = '          ';
  let xml = `        <VariableColumn>\n`;
  xml += element(indent, 'Name', column.name);
  xml += element(indent, 'Description', column.description);
  switch (column.type) {
    case 'AlphaNumeric':
      xml += `${indent}<AlphaNumeric/>\n`;
      xml += element(indent, 'MaxLength', String(column.maxLength));
      break;
    case 'Numeric':
      xml +=
        column.accuracy === 0
          ? `${indent}<Numeric/>\n`
          : `${indent}<Numeric>\n${element(`${indent}  `, 'Accuracy', String(column.accuracy))}${indent}</Numeric>\n`;
      break;
    case 'Date':
      xml += `${indent}<Date>\n${element(`${indent}  `, 'Format', column.format)}${indent}</Date>\n`;
      break;
  }
  return xml + `        </VariableColumn>\n`;
}

function table(table: DsfinvkTable): string {
  let xml = '    <Table>\n';
  xml += element('      ', 'URL', table.file);
  xml += element('      ', 'Name', table.name);
  xml += element('      ', 'Description', table.description);
  xml += '      <UTF8/>\n';
  xml += element('      ', 'DecimalSymbol', ',');
  xml += element('      ', 'DigitGroupingSymbol', '.');
  xml += '      <Range>\n        <From>2</From>\n      </Range>\n';
  xml += '      <VariableLength>\n';
  xml += element('        ', 'ColumnDelimiter', ';');
  // As a character reference: a literal CR LF in element content is normalised away by every XML parser.
  xml += '        <RecordDelimiter>&#13;&#10;</RecordDelimiter>\n';
  xml += element('        ', 'TextEncapsulator', '"');
  for (const c of table.columns) xml += column(c);
  xml += '      </VariableLength>\n';
  return xml + '    </Table>\n';
}

/** The whole index.xml (UTF-8, LF line ends, no BOM); the same input gives the same bytes. */
export function indexXml(input: IndexXmlInput): string {
  let xml = '<?xml version="1.0" encoding="UTF-8"?>\n';
  xml += `<!DOCTYPE DataSet SYSTEM "${GDPDU_DTD_FILE_NAME}">\n`;
  xml += '<DataSet>\n';
  xml += '  <Version>1.0</Version>\n';
  xml += '  <DataSupplier>\n';
  xml += element('    ', 'Name', input.supplierName);
  xml += element('    ', 'Location', input.supplierLocation);
  xml += element('    ', 'Comment', input.comment);
  xml += '  </DataSupplier>\n';
  xml += '  <Media>\n';
  xml += element('    ', 'Name', input.mediaName ?? 'DSFinV-K');
  for (const t of input.tables ?? DSFINVK_TABLES) xml += table(t);
  xml += '  </Media>\n';
  return xml + '</DataSet>\n';
}
