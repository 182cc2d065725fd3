import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatAmount,
  formatLocalDateTime,
  formatMoney,
  formatQuantity,
  formatRate,
  minorToDecimal,
} from './format.js';
import { renderReceiptPdf, type ReceiptPdfData } from './receipt-pdf.js';

const run = promisify(execFile);

/** Deterministic stand-ins of the right length: 64-byte ECDSA signature and 65-byte uncompressed P-256 key. */
const SIGNATURE = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256)).toString('base64');
const PUBLIC_KEY = Buffer.from([4, ...Array.from({ length: 64 }, (_, i) => (i * 53 + 7) % 256)]).toString('base64');
const TSE_SERIAL = 'a3f1c2d4e5b6978812345678901234567890abcdefabcdefabcdef1234567890';

/** The 12 fields of the DSFinV-K receipt QR code. */
const QR_DATA = [
  'V0',
  'K-0001',
  'Kassenbeleg-V1',
  'Beleg^6.00_8.45_0.00_0.00_0.00^20.00:Bar_-5.55:Bar',
  '1234',
  '5678',
  '2026-01-31T13:05:02.000Z',
  '2026-01-31T13:05:09.000Z',
  'ecdsa-plain-SHA256',
  'utcTime',
  SIGNATURE,
  PUBLIC_KEY,
].join(';');

const TSE_FIELDS = [
  { label: 'TSE-Seriennummer', value: TSE_SERIAL },
  { label: 'TSE-Transaktionsnummer', value: '1234' },
  { label: 'TSE-Start', value: '2026-01-31T13:05:02.000Z' },
  { label: 'TSE-Stop', value: '2026-01-31T13:05:09.000Z' },
  { label: 'TSE-Signaturzähler', value: '5678' },
  { label: 'TSE-Signatur', value: SIGNATURE },
  { label: 'TSE-Zeitformat', value: 'utcTime' },
  { label: 'TSE-Hashalgorithmus', value: 'ecdsa-plain-SHA256' },
  { label: 'TSE-PublicKey', value: PUBLIC_KEY },
  { label: 'Client-ID', value: 'K-0001' },
];

const GERMAN_SALE: ReceiptPdfData = {
  language: 'de',
  jurisdiction: 'DE',
  currency: 'EUR',
  training: false,
  documentTitle: 'Rechnung',
  issuer: {
    legalName: 'Müller & Söhne Bäckerei GmbH',
    tradeName: 'Bäckerei Müller',
    address: { line1: 'Hauptstraße 1', line2: null, city: 'Köln', postal_code: '50667', country: 'DE' },
    taxId: '214/5678/9012',
    vatId: 'DE123456789',
    locationName: 'Filiale Südstadt',
    locationAddress: {
      line1: 'Bonner Straße 12',
      line2: 'Eingang Hof',
      city: 'Köln',
      postal_code: '50677',
      country: 'DE',
    },
    registerLabel: 'Kasse 1',
    registerSerial: 'K-0001',
  },
  operation: {
    id: 'op_01jk3m5x7z8q9r0s1t2v3w4x5y',
    type: 'sale',
    sequenceNumber: 42,
    documentNumber: '2026-000042',
    startedAt: '2026-01-31T13:05:02.000Z',
    completedAt: '2026-01-31T13:05:09.000Z',
    timezone: 'Europe/Berlin',
    cashier: 'Zoë Łukasiewicz',
    referenceNote: null,
  },
  lines: [
    {
      description: 'Brötchen',
      quantity: 6,
      unit: 'Stk',
      unitPriceGross: 45,
      totalGross: 270,
      taxLabel: 'B',
      discounts: [],
    },
    {
      description: 'Käsekuchen mit Streuseln, großes Stück',
      quantity: 1,
      unit: 'Stk',
      unitPriceGross: 390,
      totalGross: 351,
      taxLabel: 'B',
      discounts: [{ label: 'Rabatt 10 %', amount: 39 }],
    },
    {
      description: 'Kaffee',
      quantity: 2,
      unit: 'Stk',
      unitPriceGross: 300,
      totalGross: 600,
      taxLabel: 'A',
      discounts: [],
    },
    {
      description: 'Weißbrot',
      quantity: 0.5,
      unit: 'kg',
      unitPriceGross: 458,
      totalGross: 224,
      taxLabel: 'B',
      discounts: [],
    },
  ],
  taxes: [
    { label: 'A', rate: '0.19', net: 504, tax: 96, gross: 600 },
    { label: 'B', rate: '0.07', net: 790, tax: 55, gross: 845 },
  ],
  totals: { totalGross: 1445, totalNet: 1294, totalTax: 151 },
  payments: [
    { label: 'Bar', amount: 2000 },
    { label: 'Rückgeld', amount: -555 },
  ],
  fiscal: {
    title: 'TSE',
    fields: TSE_FIELDS,
    qrData: QR_DATA,
    certified: false,
    notice: 'Nicht zertifizierte Software-TSE (Simulation)',
  },
  footer: 'Vielen Dank für Ihren Einkauf!',
};

const ENGLISH_RECEIPT: ReceiptPdfData = {
  ...GERMAN_SALE,
  language: 'en',
  jurisdiction: 'AT',
  documentTitle: 'Receipt',
  issuer: {
    ...GERMAN_SALE.issuer,
    legalName: 'Καφενείο Łódź GmbH',
    tradeName: null,
    address: { line1: 'Kärntner Straße 5', line2: null, city: 'Wien', postal_code: '1010', country: 'AT' },
    taxId: null,
    vatId: 'ATU12345678',
    locationName: 'Καφενείο Łódź GmbH',
    locationAddress: null,
    registerSerial: 'AT-REG-7',
  },
  operation: { ...GERMAN_SALE.operation, timezone: 'Europe/Vienna', documentNumber: null, cashier: null },
  lines: [
    {
      description: 'Catering platter',
      quantity: 1,
      unit: 'pcs',
      unitPriceGross: 123450,
      totalGross: 123450,
      taxLabel: 'A',
      discounts: [],
    },
  ],
  taxes: [{ label: 'A', rate: '0.2', net: 102875, tax: 20575, gross: 123450 }],
  totals: { totalGross: 123450, totalNet: 102875, totalTax: 20575 },
  payments: [{ label: 'Card', amount: 123450 }],
  fiscal: null,
  footer: null,
};

let directory: string;
let files = 0;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'receipt-pdf-'));
  const tools = ['pdftotext', 'pdfinfo', 'pdffonts', 'pdftoppm', 'zbarimg'];
  await Promise.all(
    tools.map(async (tool) => {
      await run(tool, ['-v']).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new Error(`${tool} is missing: these tests need the Debian packages poppler-utils and zbar-tools`);
        }
      });
    }),
  );
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function save(pdf: Buffer): Promise<string> {
  const path = join(directory, `receipt-${++files}.pdf`);
  await writeFile(path, pdf);
  return path;
}

/** pdftotext's layout text, with no-break spaces as spaces. */
async function text(path: string): Promise<string> {
  const { stdout } = await run('pdftotext', ['-layout', '-enc', 'UTF-8', path, '-']);
  return stdout.replaceAll('\u00a0', ' ');
}

async function info(path: string): Promise<{ pages: number; width: number; height: number; created: string }> {
  const { stdout } = await run('pdfinfo', ['-isodates', path]);
  const size = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(stdout);
  return {
    pages: Number(/^Pages:\s+(\d+)/m.exec(stdout)?.[1]),
    width: Number(size?.[1]),
    height: Number(size?.[2]),
    created: /^CreationDate:\s+(\S+)/m.exec(stdout)?.[1] ?? '',
  };
}

/** Every QR code zbar finds on page 1, rendered at 300 dpi. */
async function qrCodes(path: string): Promise<string[]> {
  const prefix = path.replace(/\.pdf$/, '');
  await run('pdftoppm', ['-r', '300', '-png', '-f', '1', '-l', '1', '-singlefile', path, prefix]);
  // QR codes only: zbar's other symbologies can take printed text for a barcode.
  const { stdout } = await run('zbarimg', ['--raw', '-q', '-Sdisable', '-Sqrcode.enable', `${prefix}.png`]).catch(
    (error: unknown) => {
      // zbarimg exits with 4 when it finds no symbol.
      if ((error as { code?: unknown }).code === 4) return { stdout: '' };
      throw error;
    },
  );
  return stdout.split('\n').filter((line) => line !== '');
}

const squeeze = (value: string): string => value.replace(/\s+/g, '');

describe('formatting', () => {
  it('formats minor units exactly, per currency', () => {
    expect(minorToDecimal(105, 2)).toBe('1.05');
    expect(minorToDecimal(-5, 2)).toBe('-0.05');
    expect(minorToDecimal(0, 2)).toBe('0.00');
    expect(minorToDecimal(1234, 0)).toBe('1234');
    expect(minorToDecimal(1234, 3)).toBe('1.234');
    expect(() => minorToDecimal(1.5, 2)).toThrow(RangeError);
  });

  it('formats money in German and English', () => {
    expect(formatMoney(123450, 'EUR', 'de').replaceAll('\u00a0', ' ')).toBe('1.234,50 €');
    expect(formatMoney(-555, 'EUR', 'de').replaceAll('\u00a0', ' ')).toBe('-5,55 €');
    expect(formatMoney(123450, 'EUR', 'en')).toBe('€1,234.50');
    expect(formatMoney(1234, 'JPY', 'en')).toBe('¥1,234');
    expect(formatAmount(123450, 'EUR', 'de')).toBe('1.234,50');
    expect(formatAmount(7, 'EUR', 'en')).toBe('0.07');
  });

  it('formats rates and quantities', () => {
    expect(formatRate('0.19', 'de').replaceAll('\u00a0', ' ')).toBe('19 %');
    expect(formatRate('0.07', 'en')).toBe('7%');
    expect(formatRate('0.055', 'de').replaceAll('\u00a0', ' ')).toBe('5,5 %');
    expect(formatRate('exempt', 'en')).toBe('exempt');
    expect(formatQuantity(0.5, 'de')).toBe('0,5');
    expect(formatQuantity(1.2345, 'en')).toBe('1.235');
  });

  it('prints local wall-clock time, summer time included', () => {
    expect(formatLocalDateTime('2026-01-31T13:05:09.000Z', 'Europe/Berlin', 'de')).toBe('31.01.2026 14:05:09');
    expect(formatLocalDateTime('2026-07-31T22:30:00.000Z', 'Europe/Berlin', 'de')).toBe('01.08.2026 00:30:00');
    expect(formatLocalDateTime('2026-07-31T22:30:00.000Z', 'America/New_York', 'en')).toBe('2026-07-31 18:30:00');
  });
});

describe(renderReceiptPdf.name, () => {
  it('renders a German sale: names, amounts and every TSE field decode from the PDF', async () => {
    const path = await save(await renderReceiptPdf(GERMAN_SALE));
    const content = await text(path);
    for (const expected of [
      'Bäckerei Müller',
      'Müller & Söhne Bäckerei GmbH',
      'Hauptstraße 1',
      'Filiale Südstadt',
      'St.-Nr. 214/5678/9012',
      'USt-IdNr. DE123456789',
      'Rechnung',
      '31.01.2026 14:05:09',
      'Zoë Łukasiewicz',
      '2026-000042',
      'Brötchen',
      'Käsekuchen',
      '6 Stk × 0,45 €',
      '-0,39 €',
      '14,45 €',
      '-5,55 €',
      'Rückgeld',
      'Nicht zertifizierte Software-TSE (Simulation)',
    ]) {
      expect(content).toContain(expected);
    }
    for (const { label, value } of TSE_FIELDS) {
      expect(content).toContain(`${label}:`);
      // Signature and public key wrap across lines.
      expect(squeeze(content)).toContain(value);
    }
    expect(content).not.toContain('TRAINING');
  });

  it('is 80 mm wide, one page, with the DejaVu fonts embedded and no other', async () => {
    const path = await save(await renderReceiptPdf(GERMAN_SALE));
    const { pages, width } = await info(path);
    expect(pages).toBe(1);
    expect(width).toBeCloseTo(226.77, 1);
    const { stdout } = await run('pdffonts', [path]);
    const fonts = stdout
      .split('\n')
      .slice(2)
      .filter((line) => line.trim() !== '');
    expect(fonts.some((line) => /\+DejaVuSans\s/.test(line))).toBe(true);
    expect(fonts.some((line) => /\+DejaVuSans-Bold\s/.test(line))).toBe(true);
    // Columns emb, sub, uni: every font is embedded, subset, and maps back to Unicode.
    for (const line of fonts) expect(line).toMatch(/\+DejaVuSans[\w-]*\s.*\byes\s+yes\s+yes\b/);
  });

  it('prints the DSFinV-K QR code, which decodes to exactly the QR data', async () => {
    const path = await save(await renderReceiptPdf(GERMAN_SALE));
    expect(await qrCodes(path)).toEqual([QR_DATA]);
  });

  it('marks a training receipt at the top and the bottom', async () => {
    const content = await text(await save(await renderReceiptPdf({ ...GERMAN_SALE, training: true })));
    expect(content.match(/TRAINING/g)).toHaveLength(2);
    expect(content.match(/Trainingsbeleg – kein Verkauf/g)).toHaveLength(2);
    const lines = content.split('\n').filter((line) => line.trim() !== '');
    expect(lines[0]?.trim()).toBe('TRAINING');
    expect(lines.at(-1)?.trim()).toBe('Trainingsbeleg – kein Verkauf');
  });

  it('renders an English receipt for another jurisdiction', async () => {
    const path = await save(await renderReceiptPdf(ENGLISH_RECEIPT));
    const content = await text(path);
    for (const expected of [
      'Καφενείο Łódź GmbH',
      'Kärntner Straße 5',
      'VAT ID ATU12345678',
      'Receipt',
      'Date',
      '2026-01-31 14:05:09',
      '€1,234.50',
      '1,028.75',
      'TOTAL',
    ]) {
      expect(content).toContain(expected);
    }
    expect(squeeze(content)).toContain('A20%');
    for (const absent of ['TRAINING', 'Datum', 'Summe', 'TSE']) expect(content).not.toContain(absent);
    expect(await qrCodes(path)).toEqual([]);
  });

  it('grows in height with the number of lines, on one page of the same width', async () => {
    const line = GERMAN_SALE.lines[0]!;
    const sizes = [];
    for (const count of [1, 10, 60]) {
      const lines = Array.from({ length: count }, (_, index) => ({
        ...line,
        description: `Brötchen Nr. ${index + 1}`,
      }));
      const path = await save(await renderReceiptPdf({ ...GERMAN_SALE, lines }));
      sizes.push(await info(path));
      expect(await text(path)).toContain(`Brötchen Nr. ${count}`);
    }
    expect(sizes.map(({ pages }) => pages)).toEqual([1, 1, 1]);
    for (const { width } of sizes) expect(width).toBeCloseTo(226.77, 1);
    const [one, ten, sixty] = sizes.map(({ height }) => height) as [number, number, number];
    expect(ten).toBeGreaterThan(one + 9 * 15);
    expect(sixty).toBeGreaterThan(ten + 50 * 15);
  });

  it('gives identical bytes for identical input, dated by the operation', async () => {
    const first = await renderReceiptPdf(GERMAN_SALE);
    await renderReceiptPdf(ENGLISH_RECEIPT);
    const second = await renderReceiptPdf(structuredClone(GERMAN_SALE));
    expect(second.equals(first)).toBe(true);
    expect((await info(await save(first))).created).toBe('2026-01-31T13:05:09Z');
    const open = await renderReceiptPdf({ ...GERMAN_SALE, operation: { ...GERMAN_SALE.operation, completedAt: null } });
    expect((await info(await save(open))).created).toBe('2026-01-31T13:05:02Z');
  });

  it('renders without lines, taxes, payments, fiscal block or footer', async () => {
    const deposit: ReceiptPdfData = {
      ...GERMAN_SALE,
      documentTitle: 'Einzahlung',
      lines: [],
      taxes: [],
      payments: [],
      totals: { totalGross: 5000, totalNet: 5000, totalTax: 0 },
      fiscal: null,
      footer: null,
      operation: { ...GERMAN_SALE.operation, referenceNote: 'Wechselgeld Schicht 2' },
    };
    const path = await save(await renderReceiptPdf(deposit));
    const content = await text(path);
    expect(content).toContain('Einzahlung');
    expect(content).toContain('Wechselgeld Schicht 2');
    expect(content).toContain('50,00 €');
    expect((await info(path)).pages).toBe(1);
  });
});
