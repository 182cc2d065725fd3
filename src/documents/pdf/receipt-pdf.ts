/**
 * The receipt as an 80 mm roll PDF: the layout of a thermal printer receipt, as long as its content. Written for
 * the German receipt law first (KassenSichV: the TSE fields and the DSFinV-K QR code), generic enough for the other
 * jurisdictions, whose fiscal block is just other fields.
 *
 * pdfkit needs the page size when the page is created, so the layout runs twice over the same document: once
 * measuring (nothing drawn, no page yet), then drawing onto a page as tall as the first pass measured.
 * @module
 */
import PDFDocument from 'pdfkit';
import type { BitMatrix } from 'qrcode';
import { registerFonts, type FontFace } from './fonts.js';
import { formatAmount, formatLocalDateTime, formatMoney, formatQuantity, formatRate, type Language } from './format.js';
import { drawQr, qrModules } from './qr.js';
import { collectPdf as collect } from './collect.js';

export interface ReceiptPdfAddress {
  line1: string;
  line2: string | null;
  city: string;
  postal_code: string;
  /** ISO 3166-1 alpha-2; printed only when it is not the register's jurisdiction. */
  country: string;
}

/** What a printed receipt shows; the receipts service maps its canonical JSON receipt to this. */
export interface ReceiptPdfData {
  /** Labels: German for DE and AT registers, English otherwise. */
  language: Language;
  /**
   * ISO 3166-1 alpha-2 of the register's jurisdiction, or `other`: addresses leave out this country, and some
   * labels follow its usage (Austria: `UID-Nr.`).
   */
  jurisdiction: string;
  /** ISO 4217; every amount below is an integer in its minor units. */
  currency: string;
  /** Prints a prominent TRAINING marking at the top and the bottom. */
  training: boolean;
  /** E.g. `Rechnung`, `Gutschrift / Erstattung`, `Storno`, `Einzahlung`, `Receipt`. */
  documentTitle: string;
  issuer: {
    legalName: string;
    tradeName: string | null;
    address: ReceiptPdfAddress | null;
    taxId: string | null;
    vatId: string | null;
    locationName: string;
    locationAddress: ReceiptPdfAddress | null;
    registerLabel: string;
    registerSerial: string;
  };
  operation: {
    id: string;
    type: string;
    sequenceNumber: number;
    documentNumber: string | null;
    /** UTC, ISO 8601. */
    startedAt: string;
    completedAt: string | null;
    /** IANA zone; times are printed as local wall-clock time. */
    timezone: string;
    cashier: string | null;
    /** E.g. `Storno zu Beleg 2026-000042`. */
    referenceNote: string | null;
  };
  lines: Array<{
    description: string;
    quantity: number;
    unit: string;
    unitPriceGross: number;
    totalGross: number;
    /** The tax letter of the line, e.g. `A`, matching a {@link ReceiptPdfData.taxes} label. */
    taxLabel: string;
    /** `amount` is the reduction, a positive number; it is printed negative. */
    discounts: Array<{ label: string; amount: number }>;
  }>;
  /** `rate` is a decimal fraction: `0.19`. */
  taxes: Array<{ label: string; rate: string; net: number; tax: number; gross: number }>;
  totals: { totalGross: number; totalNet: number; totalTax: number };
  /** Signed: change (`Rückgeld`) is negative. */
  payments: Array<{ label: string; amount: number }>;
  fiscal: null | {
    /** E.g. `TSE`. */
    title: string;
    /** Printed as `label: value`; values too long for one line (signature, public key) wrap in a small mono font. */
    fields: Array<{ label: string; value: string }>;
    qrData: string | null;
    certified: boolean;
    /** E.g. `Nicht zertifizierte Software-TSE (Simulation)`, or a TSE failure note. */
    notice: string | null;
  };
  footer: string | null;
}

interface Labels {
  training: string;
  trainingNote: string;
  uncertified: string;
  taxId: string;
  vatId: string;
  date: string;
  register: string;
  serial: string;
  documentNumber: string;
  sequenceNumber: string;
  cashier: string;
  operation: string;
  total: string;
  taxColumns: readonly [string, string, string, string];
  taxTotal: string;
}

const LABELS: Record<Language, Labels> = {
  de: {
    training: 'TRAINING',
    trainingNote: 'Trainingsbeleg – kein Verkauf',
    uncertified: 'Nicht zertifizierte Sicherheitseinrichtung',
    taxId: 'St.-Nr.',
    vatId: 'USt-IdNr.',
    date: 'Datum',
    register: 'Kasse',
    serial: 'Kassen-Seriennr.',
    documentNumber: 'Beleg-Nr.',
    sequenceNumber: 'Vorgangs-Nr.',
    cashier: 'Bediener',
    operation: 'Vorgangs-ID',
    total: 'SUMME',
    taxColumns: ['MwSt.', 'Netto', 'Steuer', 'Brutto'],
    taxTotal: 'Summe',
  },
  en: {
    training: 'TRAINING',
    trainingNote: 'Training receipt – not a sale',
    uncertified: 'Not a certified fiscal device',
    taxId: 'Tax no.',
    vatId: 'VAT ID',
    date: 'Date',
    register: 'Register',
    serial: 'Register serial',
    documentNumber: 'Document no.',
    sequenceNumber: 'Sequence no.',
    cashier: 'Cashier',
    operation: 'Operation',
    total: 'TOTAL',
    taxColumns: ['Tax', 'Net', 'Tax amt.', 'Gross'],
    taxTotal: 'Total',
  },
};

/** Where a jurisdiction words a label differently from the language's default, keyed `<language>-<jurisdiction>`. */
const JURISDICTION_LABELS: ReadonlyMap<string, Partial<Labels>> = new Map([['de-AT', { vatId: 'UID-Nr.' }]]);

function labelsFor(receipt: ReceiptPdfData): Labels {
  const local = JURISDICTION_LABELS.get(`${receipt.language}-${receipt.jurisdiction}`);
  return local === undefined ? LABELS[receipt.language] : { ...LABELS[receipt.language], ...local };
}

const mm = (millimetres: number): number => (millimetres * 72) / 25.4;

const PAGE_WIDTH = mm(80);
const MARGIN = mm(4);
const CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN;
const QR_SIZE = mm(40);
/** Space between a left column and a right-aligned value. */
const GUTTER = 4;
/** Measured widths go back in as wrap widths; without slack, rounding can wrap a value that exactly fits. */
const SLACK = 0.5;
const INDENT = 8;
/** A rule's distance from the text above and below it. */
const RULE_SPACE = 3;

interface Style {
  face: FontFace;
  size: number;
}

const BODY: Style = { face: 'regular', size: 8 };
const BODY_BOLD: Style = { face: 'bold', size: 8 };
const SMALL: Style = { face: 'regular', size: 7 };
const SMALL_BOLD: Style = { face: 'bold', size: 7 };
const NAME: Style = { face: 'bold', size: 11 };
const TITLE: Style = { face: 'bold', size: 10 };
const TOTAL: Style = { face: 'bold', size: 10 };
/** At 6 pt DejaVu Sans Mono fits 56 characters a line: an 88-character base64 signature takes two lines. */
const MONO: Style = { face: 'mono', size: 6 };
const TRAINING_MARK: Style = { face: 'bold', size: 14 };

type Align = 'left' | 'center' | 'right';

interface Cell {
  text: string;
  /** From the left content edge. */
  x: number;
  width: number;
  align: Align;
  style: Style;
}

interface RowOptions {
  indent?: number;
  /** Keeps the right column of a tax letter free, so that all amounts end in one column. */
  tagWidth?: number;
  tag?: string;
}

/**
 * Lays out top to bottom from `y`; measures only, or measures and draws. Both passes make the same calls in the
 * same order, so the measured height is the drawn height.
 */
class Pen {
  y = MARGIN;

  constructor(
    private readonly doc: PDFKit.PDFDocument,
    private readonly drawing: boolean,
  ) {}

  private use(style: Style): void {
    this.doc.font(style.face).fontSize(style.size);
  }

  width(text: string, style: Style): number {
    this.use(style);
    return this.doc.widthOfString(text);
  }

  gap(height: number): void {
    this.y += height;
  }

  /** Cells side by side, each wrapped to its own width; the row is as tall as its tallest cell. */
  cells(cells: readonly Cell[]): void {
    let height = 0;
    for (const cell of cells) {
      if (cell.text === '') continue;
      this.use(cell.style);
      const options = { width: cell.width, align: cell.align };
      height = Math.max(height, this.doc.heightOfString(cell.text, options));
      if (this.drawing) this.doc.text(cell.text, MARGIN + cell.x, this.y, options);
    }
    this.y += height;
  }

  paragraph(text: string, style: Style, align: Align = 'left', indent = 0): void {
    this.cells([{ text, x: indent, width: CONTENT_WIDTH - indent, align, style }]);
  }

  /**
   * A left text and a value flush right. The value gets the width it needs if the text still fits beside it, else
   * at most 60 %; what does not fit wraps.
   */
  row(left: string, right: string, style: Style, options: RowOptions = {}): void {
    const indent = options.indent ?? 0;
    const tagWidth = options.tagWidth ?? 0;
    const valueEnd = CONTENT_WIDTH - tagWidth;
    const available = valueEnd - indent - GUTTER;
    const leftWidth = this.width(left, style) + SLACK;
    const valueWidth = Math.min(this.width(right, style) + SLACK, Math.max(available - leftWidth, available * 0.6));
    const cells: Cell[] = [
      { text: left, x: indent, width: available - valueWidth, align: 'left', style },
      { text: right, x: valueEnd - valueWidth, width: valueWidth, align: 'right', style },
    ];
    if (options.tag !== undefined && tagWidth > 0) {
      cells.push({ text: options.tag, x: valueEnd + GUTTER, width: tagWidth - GUTTER, align: 'left', style });
    }
    this.cells(cells);
  }

  rule(): void {
    const y = this.y + RULE_SPACE;
    if (this.drawing) {
      this.doc
        .save()
        .moveTo(MARGIN, y)
        .lineTo(MARGIN + CONTENT_WIDTH, y)
        .lineWidth(0.5)
        .dash(1.5, { space: 1.5 })
        .stroke()
        .restore();
    }
    this.y += 2 * RULE_SPACE;
  }

  /** White text on a black band across the roll, for what must not be missed. */
  band(text: string, style: Style): void {
    const padding = 2;
    this.use(style);
    const options = { width: CONTENT_WIDTH, align: 'center' } as const;
    const height = this.doc.heightOfString(text, options) + 2 * padding;
    if (this.drawing) {
      this.doc.rect(MARGIN, this.y, CONTENT_WIDTH, height).fill('black');
      this.doc
        .fillColor('white')
        .text(text, MARGIN, this.y + padding, options)
        .fillColor('black');
    }
    this.y += height;
  }

  /** The QR code centred, with the 4-module quiet zone above and below. */
  qr(modules: BitMatrix): void {
    const module = QR_SIZE / modules.size;
    this.y += 4 * module;
    if (this.drawing) drawQr(this.doc, modules, (PAGE_WIDTH - QR_SIZE) / 2, this.y, QR_SIZE);
    this.y += QR_SIZE + 4 * module;
  }
}

function addressLines(address: ReceiptPdfAddress | null, jurisdiction: string): string[] {
  if (address === null) return [];
  const lines = [address.line1];
  if (address.line2 !== null && address.line2 !== '') lines.push(address.line2);
  lines.push(`${address.postal_code} ${address.city}`);
  if (address.country !== jurisdiction) lines.push(address.country);
  return lines;
}

function sameAddress(a: ReceiptPdfAddress | null, b: ReceiptPdfAddress | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.line1 === b.line1 &&
    a.line2 === b.line2 &&
    a.city === b.city &&
    a.postal_code === b.postal_code &&
    a.country === b.country
  );
}

function trainingMark(pen: Pen, labels: Labels): void {
  pen.band(labels.training, TRAINING_MARK);
  pen.gap(1);
  pen.paragraph(labels.trainingNote, BODY_BOLD, 'center');
  pen.gap(2);
}

function header(pen: Pen, receipt: ReceiptPdfData, labels: Labels): void {
  const { issuer, jurisdiction } = receipt;
  const name = issuer.tradeName ?? issuer.legalName;
  pen.paragraph(name, NAME, 'center');
  if (issuer.legalName !== name) pen.paragraph(issuer.legalName, BODY, 'center');
  for (const line of addressLines(issuer.address, jurisdiction)) pen.paragraph(line, BODY, 'center');
  // The location matters where it is not the company seat: a branch's name and address.
  const showLocation =
    issuer.locationName !== '' && issuer.locationName !== name && issuer.locationName !== issuer.legalName;
  if (showLocation || !sameAddress(issuer.locationAddress, issuer.address)) pen.gap(2);
  if (showLocation) pen.paragraph(issuer.locationName, BODY, 'center');
  if (!sameAddress(issuer.locationAddress, issuer.address)) {
    for (const line of addressLines(issuer.locationAddress, jurisdiction)) pen.paragraph(line, BODY, 'center');
  }
  if (issuer.taxId !== null) pen.paragraph(`${labels.taxId} ${issuer.taxId}`, SMALL, 'center');
  if (issuer.vatId !== null) pen.paragraph(`${labels.vatId} ${issuer.vatId}`, SMALL, 'center');
}

function meta(pen: Pen, receipt: ReceiptPdfData, labels: Labels): void {
  const { operation, issuer, language } = receipt;
  pen.paragraph(receipt.documentTitle, TITLE, 'center');
  if (operation.referenceNote !== null) pen.paragraph(operation.referenceNote, BODY, 'center');
  pen.gap(3);
  const at = formatLocalDateTime(operation.completedAt ?? operation.startedAt, operation.timezone, language);
  const rows: Array<[string, string]> = [
    [labels.date, at],
    [labels.register, issuer.registerLabel],
    [labels.serial, issuer.registerSerial],
  ];
  if (operation.documentNumber !== null) rows.push([labels.documentNumber, operation.documentNumber]);
  rows.push([labels.sequenceNumber, String(operation.sequenceNumber)]);
  if (operation.cashier !== null) rows.push([labels.cashier, operation.cashier]);
  rows.push([labels.operation, operation.id]);
  for (const [label, value] of rows) pen.row(label, value, SMALL);
}

function items(pen: Pen, receipt: ReceiptPdfData, tagWidth: number): void {
  const { currency, language } = receipt;
  for (const line of receipt.lines) {
    pen.row(line.description, formatMoney(line.totalGross, currency, language), BODY, { tagWidth, tag: line.taxLabel });
    if (line.quantity !== 1) {
      const quantity = [formatQuantity(line.quantity, language), line.unit].filter((part) => part !== '').join(' ');
      pen.paragraph(`${quantity} × ${formatMoney(line.unitPriceGross, currency, language)}`, SMALL, 'left', INDENT);
    }
    for (const discount of line.discounts) {
      pen.row(discount.label, formatMoney(-discount.amount, currency, language), SMALL, { indent: INDENT, tagWidth });
    }
  }
}

function taxTable(pen: Pen, receipt: ReceiptPdfData, labels: Labels): void {
  const { currency, language } = receipt;
  const first = CONTENT_WIDTH * 0.28;
  const column = (CONTENT_WIDTH - first) / 3;
  const row = (texts: readonly [string, string, string, string], style: Style): void => {
    pen.cells(
      texts.map((text, index) =>
        index === 0
          ? { text, x: 0, width: first, align: 'left', style }
          : { text, x: first + (index - 1) * column, width: column, align: 'right', style },
      ),
    );
  };
  const amount = (value: number): string => formatAmount(value, currency, language);
  row(labels.taxColumns, SMALL_BOLD);
  for (const tax of receipt.taxes) {
    row([`${tax.label} ${formatRate(tax.rate, language)}`, amount(tax.net), amount(tax.tax), amount(tax.gross)], SMALL);
  }
  const { totals } = receipt;
  row([labels.taxTotal, amount(totals.totalNet), amount(totals.totalTax), amount(totals.totalGross)], SMALL_BOLD);
}

function fiscalBlock(
  pen: Pen,
  fiscal: NonNullable<ReceiptPdfData['fiscal']>,
  labels: Labels,
  qr: BitMatrix | null,
): void {
  pen.paragraph(fiscal.title, BODY_BOLD, 'center');
  const notice = fiscal.notice ?? (fiscal.certified ? null : labels.uncertified);
  if (notice !== null) pen.paragraph(notice, SMALL_BOLD, 'center');
  pen.gap(2);
  for (const { label, value } of fiscal.fields) {
    const caption = `${label}:`;
    if (pen.width(caption, SMALL) + GUTTER + pen.width(value, SMALL) + SLACK <= CONTENT_WIDTH) {
      pen.row(caption, value, SMALL);
    } else {
      pen.paragraph(caption, SMALL);
      pen.paragraph(value, MONO);
    }
  }
  if (qr !== null) pen.qr(qr);
}

/** Lays the whole receipt out and returns the page height it needs. */
function layout(pen: Pen, receipt: ReceiptPdfData, qr: BitMatrix | null): number {
  const labels = labelsFor(receipt);
  const { currency, language } = receipt;
  const money = (amount: number): string => formatMoney(amount, currency, language);
  const tags = receipt.lines.map((line) => pen.width(line.taxLabel, BODY));
  const tagWidth = tags.length > 0 && Math.max(...tags) > 0 ? Math.max(...tags) + GUTTER + SLACK : 0;

  if (receipt.training) trainingMark(pen, labels);
  header(pen, receipt, labels);
  pen.rule();
  meta(pen, receipt, labels);
  if (receipt.lines.length > 0) {
    pen.rule();
    items(pen, receipt, tagWidth);
  }
  pen.rule();
  pen.row(labels.total, money(receipt.totals.totalGross), TOTAL, { tagWidth });
  if (receipt.payments.length > 0) {
    pen.gap(2);
    for (const payment of receipt.payments) pen.row(payment.label, money(payment.amount), BODY, { tagWidth });
  }
  if (receipt.taxes.length > 0) {
    pen.rule();
    taxTable(pen, receipt, labels);
  }
  if (receipt.fiscal !== null) {
    pen.rule();
    fiscalBlock(pen, receipt.fiscal, labels, qr);
  }
  if (receipt.footer !== null && receipt.footer !== '') {
    pen.rule();
    pen.paragraph(receipt.footer, SMALL, 'center');
  }
  if (receipt.training) {
    pen.gap(4);
    trainingMark(pen, labels);
  }
  return pen.y + MARGIN;
}

/**
 * Renders a receipt as a one-page PDF 80 mm wide. Identical input gives identical bytes: the document dates come
 * from the operation, and pdfkit derives the file ID from them and the font subset tags from the font order.
 */
export async function renderReceiptPdf(receipt: ReceiptPdfData): Promise<Buffer> {
  const { operation } = receipt;
  const issued = new Date(operation.completedAt ?? operation.startedAt);
  const doc = new PDFDocument({
    autoFirstPage: false,
    // No default font: pdfkit would load Helvetica's metrics for nothing.
    font: '',
    lang: receipt.language === 'de' ? 'de-DE' : 'en',
    info: {
      Title: `${receipt.documentTitle} ${operation.documentNumber ?? String(operation.sequenceNumber)}`,
      Author: receipt.issuer.legalName,
      Creator: 'OpenFiskal',
      CreationDate: issued,
      ModDate: issued,
    },
  });
  registerFonts(doc);
  const qrData = receipt.fiscal?.qrData ?? null;
  const qr = qrData === null ? null : qrModules(qrData);

  const height = layout(new Pen(doc, false), receipt, qr);
  doc.addPage({
    size: [PAGE_WIDTH, Math.ceil(height)],
    margins: { top: MARGIN, bottom: 0, left: MARGIN, right: MARGIN },
  });
  layout(new Pen(doc, true), receipt, qr);
  return await collect(doc);
}
