import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderClosingPdf, type ZReportInput } from './closing-pdf.js';
import { formatUtcOffset } from './format.js';

const run = promisify(execFile);

/** Deterministic stand-ins of the right length: 64-byte ECDSA signature and 65-byte uncompressed P-256 key. */
const SIGNATURE = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256)).toString('base64');
const PUBLIC_KEY = Buffer.from([4, ...Array.from({ length: 64 }, (_, i) => (i * 53 + 7) % 256)]).toString('base64');
const TSE_SERIAL = 'a3f1c2d4e5b6978812345678901234567890abcdefabcdefabcdef1234567890';

/** A V0 QR string of the shape DSFinV-K prescribes, with the closing's last signature. */
const QR_DATA = [
  'V0',
  'K-0001',
  'Kassenbeleg-V1',
  'Beleg^17.85_10.70_0.00_0.00_0.00^28.55:Bar',
  '9876',
  '5678',
  '2026-01-31T22:59:58.000Z',
  '2026-01-31T23:00:05.000Z',
  'ecdsa-plain-SHA256',
  'utcTime',
  SIGNATURE,
  PUBLIC_KEY,
].join(';');

/**
 * A bakery's day: 57 sales, a refund of 28,80 €, the void of a 27,90 € sale, 150,00 € change paid in, 42,50 € paid
 * out, two training sales. The figures agree with each other the way the closing summary computes them: the tax
 * groups add up to the total gross (19 %: 1.785,00 € with 285,00 € tax; 7 %: 1.070,00 € with 70,00 €), and so do
 * the payment methods, including 5,00 € refunded to a voucher.
 */
const DAILY: ZReportInput = {
  locale: 'de-DE',
  currency: 'EUR',
  timeZone: 'Europe/Berlin',
  organization: {
    legalName: 'Müller & Söhne Bäckerei GmbH',
    tradeName: 'Bäckerei Müller',
    address: { line1: 'Hauptstraße 1', line2: null, postal_code: '50667', city: 'Köln', state: null, country: 'DE' },
    taxIds: [
      { label: 'St.-Nr.', value: '214/5678/9012' },
      { label: 'USt-IdNr.', value: 'DE123456789' },
    ],
  },
  location: {
    name: 'Filiale Südstadt',
    address: {
      line1: 'Bonner Straße 12',
      line2: 'Eingang Hof',
      postal_code: '50677',
      city: 'Köln',
      state: null,
      country: 'DE',
    },
  },
  register: { id: 'reg_01jk3m5x7z8q9r0s1t2v3w4x5y', label: 'Kasse 1', serialNumber: 'K-0001', jurisdiction: 'DE' },
  closing: {
    id: 'cls_01jk3m5x7z8q9r0s1t2v3w4x5y',
    type: 'daily',
    zNumber: 3,
    state: 'completed',
    periodFrom: '2026-01-30T23:00:00.000Z',
    periodTo: '2026-01-31T22:59:59.000Z',
    createdAt: '2026-01-31T23:00:05.000Z',
    completedAt: '2026-01-31T23:00:07.000Z',
  },
  summary: {
    operation_count: 61,
    total_gross: 285500,
    total_tax: 35500,
    total_by_payment_method: { card: 152345, cash: 133655, voucher: -500 },
    by_operation_type: {
      sales: { count: 57, total_gross: 291170 },
      refunds: { count: 1, total_gross: 2880 },
      voids: { count: 1 },
      cash_movements: { cash_in_total: 15000, cash_out_total: 4250 },
      exchanges: { count: 0, total_gross: 0 },
      training: { count: 2, total_gross: 1290 },
    },
    tax_breakdown: [
      { rate: '0.19', category: 'standard', taxable_amount: 150000, tax_amount: 28500 },
      { rate: '0.07', category: 'reduced', taxable_amount: 100000, tax_amount: 7000 },
    ],
    cash_drawer_openings: { count: 2, without_operation: 1 },
  },
  fiscal: {
    title: 'TSE',
    lines: [
      { label: 'TSE-Seriennummer', value: TSE_SERIAL },
      { label: 'TSE-Signaturzähler', value: '5678' },
      { label: 'TSE-Zeitpunkt', value: '2026-01-31T23:00:05.000Z' },
      { label: 'TSE-Signatur', value: SIGNATURE },
      { label: 'TSE-PublicKey', value: PUBLIC_KEY },
    ],
    qrData: QR_DATA,
  },
  certified: false,
};

/** A4 as pdfinfo reports it, and the right edge of the 20 mm margins. */
const A4 = { width: 595.28, height: 841.89 };
const CONTENT_RIGHT = A4.width - (20 * 72) / 25.4;

let directory: string;
let files = 0;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'closing-pdf-'));
  const tools = ['pdftotext', 'pdfinfo', 'pdftoppm', 'zbarimg'];
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
  const path = join(directory, `closing-${++files}.pdf`);
  await writeFile(path, pdf);
  return path;
}

/** pdftotext's layout text (of one page, if given), with no-break spaces as spaces. */
async function text(path: string, page?: number): Promise<string> {
  const pages = page === undefined ? [] : ['-f', String(page), '-l', String(page)];
  const { stdout } = await run('pdftotext', ['-layout', '-enc', 'UTF-8', ...pages, path, '-']);
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

/** Every word pdftotext finds, with its box in points. */
async function words(path: string): Promise<Array<{ text: string; xMin: number; xMax: number; yMax: number }>> {
  const { stdout } = await run('pdftotext', ['-bbox', '-enc', 'UTF-8', path, '-']);
  const pattern = /<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g;
  return [...stdout.matchAll(pattern)].map((match) => ({
    xMin: Number(match[1]),
    xMax: Number(match[2]),
    yMax: Number(match[3]),
    text: match[4] ?? '',
  }));
}

/** Every QR code zbar finds on the pages, rendered at 150 dpi. */
async function qrCodes(path: string): Promise<string[]> {
  const prefix = path.replace(/\.pdf$/, '');
  await run('pdftoppm', ['-r', '150', '-png', path, prefix]);
  const { pages } = await info(path);
  const images = Array.from(
    { length: pages },
    (_, index) => `${prefix}-${String(index + 1).padStart(String(pages).length, '0')}.png`,
  );
  // QR codes only: zbar's other symbologies can take printed text for a barcode.
  const { stdout } = await run('zbarimg', ['--raw', '-q', '-Sdisable', '-Sqrcode.enable', ...images]).catch(
    (error: unknown) => {
      // zbarimg exits with 4 when an image has no symbol, and still prints what it found on the others.
      const { code, stdout } = error as { code?: unknown; stdout?: unknown };
      if (code === 4 && typeof stdout === 'string') return { stdout };
      throw error;
    },
  );
  return stdout.split('\n').filter((line) => line !== '');
}

const squeeze = (value: string): string => value.replace(/\s+/g, '');

/** A summary with `count` tax groups and payment methods: more than one page holds. */
function crowded(count: number): ZReportInput {
  const groups = Array.from({ length: count }, (_, index) => ({
    rate: `0.${String(10 + index)}`,
    category: 'standard',
    taxable_amount: 10000 + index,
    tax_amount: 1000 + index,
  }));
  const methods = Object.fromEntries(Array.from({ length: count }, (_, index) => [`method_${index}`, 100 * index]));
  return { ...DAILY, summary: { ...DAILY.summary, tax_breakdown: groups, total_by_payment_method: methods } };
}

describe(formatUtcOffset.name, () => {
  it('gives the offset of the instant, so that the repeated hour of the autumn night is told apart', () => {
    expect(formatUtcOffset('2026-01-31T13:05:09.000Z', 'Europe/Berlin')).toBe('UTC+01:00');
    expect(formatUtcOffset('2026-07-31T13:05:09.500Z', 'Europe/Berlin')).toBe('UTC+02:00');
    // 25 October 2026: 02:30 in Berlin happens twice, first in summer time, then in winter time.
    expect(formatUtcOffset('2026-10-25T00:30:00.000Z', 'Europe/Berlin')).toBe('UTC+02:00');
    expect(formatUtcOffset('2026-10-25T01:30:00.000Z', 'Europe/Berlin')).toBe('UTC+01:00');
    expect(formatUtcOffset('2026-01-31T13:05:09.000Z', 'UTC')).toBe('UTC');
    expect(formatUtcOffset('2026-01-31T13:05:09.000Z', 'America/New_York')).toBe('UTC-05:00');
    expect(formatUtcOffset('2026-01-31T13:05:09.000Z', 'Asia/Kolkata')).toBe('UTC+05:30');
    expect(() => formatUtcOffset('yesterday', 'UTC')).toThrow(RangeError);
  });
});

describe(renderClosingPdf.name, () => {
  it('is one A4 portrait page for a day, dated by the closing', async () => {
    const path = await save(await renderClosingPdf(DAILY));
    const { pages, width, height, created } = await info(path);
    expect(pages).toBe(1);
    expect(width).toBeCloseTo(A4.width, 2);
    expect(height).toBeCloseTo(A4.height, 2);
    expect(created).toBe('2026-01-31T23:00:05Z');
  });

  it('prints who closed what and when, in the local time of the location', async () => {
    const content = await text(await save(await renderClosingPdf(DAILY)));
    for (const expected of [
      'Z-Bericht / Tagesabschluss Nr. 3',
      'Bäckerei Müller',
      'Müller & Söhne Bäckerei GmbH',
      'Hauptstraße 1',
      '50667 Köln',
      'St.-Nr. 214/5678/9012',
      'USt-IdNr. DE123456789',
      'Filiale Südstadt',
      'Bonner Straße 12',
      'Eingang Hof',
      'reg_01jk3m5x7z8q9r0s1t2v3w4x5y',
      'cls_01jk3m5x7z8q9r0s1t2v3w4x5y',
    ]) {
      expect(content).toContain(expected);
    }
    for (const pattern of [
      /Kasse\s+Kasse 1/,
      /Seriennummer\s+K-0001/,
      /Abschlussart\s+Tagesabschluss/,
      /Z-Nummer\s+3\b/,
      /Status\s+abgeschlossen/,
      // Midnight to midnight in Berlin, which is 23:00 UTC the day before.
      /Zeitraum von\s+31\.01\.2026 00:00:00 UTC\+01:00/,
      /Zeitraum bis\s+31\.01\.2026 23:59:59 UTC\+01:00/,
      /Zeitzone\s+Europe\/Berlin/,
      /Erstellt\s+01\.02\.2026 00:00:05 UTC\+01:00/,
      /Abgeschlossen\s+01\.02\.2026 00:00:07 UTC\+01:00/,
    ]) {
      expect(content).toMatch(pattern);
    }
  });

  it('prints every figure of the summary in its row, as German amounts', async () => {
    const content = await text(await save(await renderClosingPdf(DAILY)));
    for (const pattern of [
      /Anzahl Vorgänge\s+61\b/,
      /Umsatz brutto\s+2\.855,00 €/,
      /Umsatzsteuer\s+355,00 €/,
      /Umsatz netto\s+2\.500,00 €/,
      /Verkäufe\s+57\s+2\.911,70 €/,
      /Erstattungen\s+1\s+28,80 €/,
      /Umtausch\s+0\s+0,00 €/,
      /Stornos\s+1\s*$/m,
      /Einzahlungen\s+150,00 €/,
      /Auszahlungen\s+42,50 €/,
      /Training\s+2\s+12,90 €/,
      /Trainingsvorgänge sind in keiner Summe dieses Berichts enthalten\./,
      /19\s?%\s+Regelsatz\s+1\.500,00 €\s+285,00 €\s+1\.785,00 €/,
      /7\s?%\s+ermäßigt\s+1\.000,00 €\s+70,00 €\s+1\.070,00 €/,
      /Summe\s+2\.500,00 €\s+355,00 €\s+2\.855,00 €/,
      /Karte\s+1\.523,45 €/,
      /Bar\s+1\.336,55 €/,
      /Gutschein\s+-5,00 €/,
      /Summe\s+2\.855,00 €$/m,
      /Öffnungen\s+2\s*$/m,
      /davon ohne Vorgang\s+1\s*$/m,
    ]) {
      expect(content).toMatch(pattern);
    }
  });

  it('prints the fiscal block, long values wrapped inside the margins', async () => {
    const path = await save(await renderClosingPdf(DAILY));
    const content = await text(path);
    expect(content).toMatch(/^TSE\s*$/m);
    expect(content).toMatch(/TSE-Signaturzähler\s+5678/);
    for (const { label, value } of DAILY.fiscal?.lines ?? []) {
      expect(content).toContain(label);
      expect(squeeze(content)).toContain(value);
    }
    // The signature takes more than one line.
    expect(content).not.toContain(SIGNATURE);
    const all = await words(path);
    expect(all.length).toBeGreaterThan(100);
    for (const word of all) {
      expect(word.xMin, word.text).toBeGreaterThanOrEqual((20 * 72) / 25.4 - 0.5);
      expect(word.xMax, word.text).toBeLessThanOrEqual(CONTENT_RIGHT + 0.5);
      expect(word.yMax, word.text).toBeLessThanOrEqual(A4.height);
    }
  });

  it('draws the QR code, which decodes at 150 dpi to exactly the QR data', async () => {
    const path = await save(await renderClosingPdf(DAILY));
    expect(await qrCodes(path)).toEqual([QR_DATA]);
  });

  it('marks a report of an uncertified device as a simulation, and only that', async () => {
    const simulated = await text(await save(await renderClosingPdf(DAILY)));
    expect(simulated).toMatch(/^\s*SIMULATION\s*$/m);
    expect(simulated).toContain('Testmodus: kein zertifiziertes Gerät – dieser Bericht hat keine steuerliche Wirkung.');
    const certified = await text(await save(await renderClosingPdf({ ...DAILY, certified: true })));
    expect(certified).not.toContain('SIMULATION');
    expect(certified).not.toContain('Testmodus');
    expect(certified).toContain('Z-Bericht / Tagesabschluss Nr. 3');
  });

  it('gives identical bytes for identical input', async () => {
    const first = await renderClosingPdf(DAILY);
    await renderClosingPdf({ ...DAILY, locale: 'en', certified: true });
    const second = await renderClosingPdf(structuredClone(DAILY));
    expect(second.equals(first)).toBe(true);
    const later = await renderClosingPdf({
      ...DAILY,
      closing: { ...DAILY.closing, createdAt: '2026-02-01T06:00:00.000Z' },
    });
    expect(later.equals(first)).toBe(false);
  });

  it('names each kind of closing', async () => {
    const titles = {
      shift: 'Z-Bericht / Schichtabschluss Nr. 3',
      monthly: 'Z-Bericht / Monatsabschluss Nr. 3',
      annual: 'Z-Bericht / Jahresabschluss Nr. 3',
    } as const;
    for (const [type, title] of Object.entries(titles) as Array<[keyof typeof titles, string]>) {
      const content = await text(await save(await renderClosingPdf({ ...DAILY, closing: { ...DAILY.closing, type } })));
      expect(content).toContain(title);
      expect(content).not.toContain('Tagesabschluss');
    }
  });

  it('renders in English for other locales', async () => {
    const path = await save(await renderClosingPdf({ ...DAILY, locale: 'en-GB', certified: true }));
    const content = await text(path);
    expect(content).toContain('Z report / daily closing No. 3');
    for (const pattern of [
      /Register\s+Kasse 1/,
      /Serial number\s+K-0001/,
      /State\s+completed/,
      /Period from\s+2026-01-31 00:00:00 UTC\+01:00/,
      /Operations\s+61\b/,
      /Total gross\s+€2,855\.00/,
      /Total tax\s+€355\.00/,
      /Total net\s+€2,500\.00/,
      /Refunds\s+1\s+€28\.80/,
      /Training operations are not included in any total of this report\./,
      /19\s?%\s+standard\s+€1,500\.00\s+€285\.00\s+€1,785\.00/,
      /Card\s+€1,523\.45/,
      /Cash\s+€1,336\.55/,
      /Voucher\s+-€5\.00/,
      /Openings\s+2\s*$/m,
      /Without an operation\s+1\s*$/m,
    ]) {
      expect(content).toMatch(pattern);
    }
    for (const german of ['Z-Bericht', 'Umsatz', 'Zahlungsarten', 'Karte', 'Gutschein', 'Summe', 'Seite']) {
      expect(content).not.toContain(german);
    }
    // No German amount (`5,00 €`) either.
    expect(content).not.toMatch(/\d €/);
    expect(await qrCodes(path)).toEqual([QR_DATA]);
  });

  it('breaks long tables across pages, with the column header repeated and numbered pages', async () => {
    const input = crowded(60);
    const path = await save(await renderClosingPdf(input));
    const { pages, width, height } = await info(path);
    expect(pages).toBeGreaterThan(1);
    expect(width).toBeCloseTo(A4.width, 2);
    expect(height).toBeCloseTo(A4.height, 2);
    const content = await text(path);
    for (let index = 0; index < 60; index++) {
      // crowded() gives group `index` the rate 10 + index percent and a net of 100 € and `index` cents.
      const net = `100,${String(index).padStart(2, '0')} €`;
      expect(content).toMatch(new RegExp(`^${10 + index}\\s?%\\s+Regelsatz\\s+${net}`, 'm'));
    }
    for (const method of Object.keys(input.summary.total_by_payment_method)) {
      expect(content).toMatch(new RegExp(`^${method}\\s`, 'm'));
    }
    expect(content).toMatch(/method_59\s+59,00 €/);
    for (let page = 1; page <= pages; page++) {
      const onPage = await text(path, page);
      expect(onPage).toContain(`Seite ${page} von ${pages}`);
      expect(onPage).toContain('Z-Bericht / Tagesabschluss Nr. 3 · Kasse 1 · K-0001');
      // Every page of an uncertified report says so.
      expect(onPage).toMatch(/^\s*SIMULATION\s*$/m);
      if (page === 1) continue;
      // A continued table starts with its column header.
      const first = onPage
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && line !== 'SIMULATION' && !line.startsWith('Testmodus'))[0];
      expect(first).toMatch(/^(Steuersatz\s+Kategorie|Zahlungsart\s+Betrag$|TSE$)/);
    }
    expect(await qrCodes(path)).toEqual([QR_DATA]);
    // Nothing runs into the footer or off the page.
    for (const word of await words(path)) expect(word.xMax, word.text).toBeLessThanOrEqual(CONTENT_RIGHT + 0.5);
  });

  it('prints page numbers only when there is more than one page', async () => {
    const content = await text(await save(await renderClosingPdf(DAILY)));
    expect(content).not.toMatch(/Seite \d/);
  });

  it('renders an empty period of a regime that signs nothing', async () => {
    const empty: ZReportInput = {
      ...DAILY,
      locale: 'de',
      organization: { ...DAILY.organization, tradeName: null, address: null, taxIds: [] },
      location: { name: 'Hauptgeschäft', address: null },
      closing: { ...DAILY.closing, state: 'pending', completedAt: null },
      summary: {
        operation_count: 0,
        total_gross: 0,
        total_tax: 0,
        total_by_payment_method: {},
        by_operation_type: {
          sales: { count: 0, total_gross: 0 },
          refunds: { count: 0, total_gross: 0 },
          voids: { count: 0 },
          cash_movements: { cash_in_total: 0, cash_out_total: 0 },
          exchanges: { count: 0, total_gross: 0 },
          training: { count: 0, total_gross: 0 },
        },
        tax_breakdown: [],
        cash_drawer_openings: { count: 0, without_operation: 0 },
      },
      fiscal: null,
      certified: true,
    };
    const path = await save(await renderClosingPdf(empty));
    expect((await info(path)).pages).toBe(1);
    const content = await text(path);
    expect(content).toMatch(/Status\s+ausstehend/);
    expect(content).toMatch(/Abgeschlossen\s+–/);
    expect(content).toMatch(/Umsatz brutto\s+0,00 €/);
    expect(content.match(/^keine\s*$/gm)).toHaveLength(2);
    expect(content).not.toContain('TSE');
    expect(await qrCodes(path)).toEqual([]);
  });
});
