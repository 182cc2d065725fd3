/**
 * The Z report (closing report) as an A4 PDF: who closed what and when, every figure of the closing summary, and
 * the regime's fiscal block with its QR code. Labels are German for German locales and English otherwise.
 *
 * Unlike the receipt, the page size is fixed, so the layout runs once: each row is measured before it is drawn and
 * moves to a new page when it would not fit. The pages are buffered so that the page count is known when the
 * footers are drawn.
 * @module
 */
import PDFDocument from 'pdfkit';
import type { BitMatrix } from 'qrcode';
import type { ClosingSummary } from '../../modules/closings/closing-summary.js';
import { registerFonts, type FontFace } from './fonts.js';
import {
  formatLocalDateTime,
  formatMoney,
  formatQuantity,
  formatRate,
  formatUtcOffset,
  type Language,
} from './format.js';
import { drawQr, qrModules } from './qr.js';
import { collectPdf as collect } from './collect.js';

export interface ZReportAddress {
  readonly line1: string;
  readonly line2: string | null;
  readonly postal_code: string;
  readonly city: string;
  readonly state: string | null;
  /** ISO 3166-1 alpha-2; printed only when it is not the register's jurisdiction. */
  readonly country: string;
}

export type ZReportClosingType = 'daily' | 'shift' | 'monthly' | 'annual';

export interface ZReportInput {
  /** BCP 47, e.g. `de-DE`: German labels and number formats for `de`, English for anything else. */
  readonly locale: string;
  /** ISO 4217; every amount of the summary is an integer in its minor units. */
  readonly currency: string;
  /** The location's IANA zone; every time is printed as wall-clock time there, with its UTC offset. */
  readonly timeZone: string;
  readonly organization: {
    readonly legalName: string;
    readonly tradeName: string | null;
    readonly address: ZReportAddress | null;
    /** Printed as `label value`, e.g. `St.-Nr. 214/5678/9012`, in this order. */
    readonly taxIds: ReadonlyArray<{ readonly label: string; readonly value: string }>;
  };
  readonly location: { readonly name: string; readonly address: ZReportAddress | null };
  readonly register: {
    readonly id: string;
    readonly label: string;
    readonly serialNumber: string;
    readonly jurisdiction: string;
  };
  readonly closing: {
    readonly id: string;
    readonly type: ZReportClosingType;
    readonly zNumber: number;
    /** `pending`, `completed`, `transmitted` or `failed` are translated; anything else is printed as given. */
    readonly state: string;
    /** UTC, ISO 8601, like the other times. */
    readonly periodFrom: string;
    readonly periodTo: string;
    /** Also the PDF's creation date, which keeps the output byte for byte the same. */
    readonly createdAt: string;
    readonly completedAt: string | null;
  };
  readonly summary: ClosingSummary;
  /**
   * The regime's fiscal block as label/value lines (e.g. TSE serial, signature, signature counter), in print order,
   * and the data of its QR code; null when the regime signs nothing.
   */
  readonly fiscal: {
    readonly title: string;
    readonly lines: ReadonlyArray<{ readonly label: string; readonly value: string }>;
    readonly qrData: string | null;
  } | null;
  /** false in test mode: every page carries a simulation notice. */
  readonly certified: boolean;
}

interface Labels {
  report: string;
  closingTypes: Record<ZReportClosingType, string>;
  number: string;
  simulation: string;
  simulationNote: string;
  organization: string;
  locationAndRegister: string;
  location: string;
  register: string;
  registerId: string;
  serialNumber: string;
  closing: string;
  closingType: string;
  zNumber: string;
  state: string;
  states: Readonly<Record<string, string>>;
  periodFrom: string;
  periodTo: string;
  timeZone: string;
  createdAt: string;
  completedAt: string;
  closingId: string;
  totals: string;
  operationCount: string;
  totalGross: string;
  totalTax: string;
  totalNet: string;
  byType: string;
  typeColumns: readonly [string, string, string];
  sales: string;
  refunds: string;
  exchanges: string;
  voids: string;
  cashIn: string;
  cashOut: string;
  training: string;
  trainingNote: string;
  taxes: string;
  taxColumns: readonly [string, string, string, string, string];
  categories: Readonly<Record<string, string>>;
  total: string;
  payments: string;
  paymentColumns: readonly [string, string];
  paymentMethods: Readonly<Record<string, string>>;
  drawer: string;
  drawerCount: string;
  drawerWithoutOperation: string;
  none: string;
  page: (page: number, pages: number) => string;
}

const LABELS: Record<Language, Labels> = {
  de: {
    report: 'Z-Bericht',
    closingTypes: {
      daily: 'Tagesabschluss',
      shift: 'Schichtabschluss',
      monthly: 'Monatsabschluss',
      annual: 'Jahresabschluss',
    },
    number: 'Nr.',
    simulation: 'SIMULATION',
    simulationNote: 'Testmodus: kein zertifiziertes Gerät – dieser Bericht hat keine steuerliche Wirkung.',
    organization: 'Unternehmen',
    locationAndRegister: 'Standort und Kasse',
    location: 'Standort',
    register: 'Kasse',
    registerId: 'Kassen-ID',
    serialNumber: 'Seriennummer',
    closing: 'Abschluss',
    closingType: 'Abschlussart',
    zNumber: 'Z-Nummer',
    state: 'Status',
    states: {
      pending: 'ausstehend',
      completed: 'abgeschlossen',
      transmitted: 'übermittelt',
      failed: 'fehlgeschlagen',
    },
    periodFrom: 'Zeitraum von',
    periodTo: 'Zeitraum bis',
    timeZone: 'Zeitzone',
    createdAt: 'Erstellt',
    completedAt: 'Abgeschlossen',
    closingId: 'Abschluss-ID',
    totals: 'Summen',
    operationCount: 'Anzahl Vorgänge',
    totalGross: 'Umsatz brutto',
    totalTax: 'Umsatzsteuer',
    totalNet: 'Umsatz netto',
    byType: 'Nach Vorgangsart',
    typeColumns: ['Vorgangsart', 'Anzahl', 'Betrag brutto'],
    sales: 'Verkäufe',
    refunds: 'Erstattungen',
    exchanges: 'Umtausch',
    voids: 'Stornos',
    cashIn: 'Einzahlungen',
    cashOut: 'Auszahlungen',
    training: 'Training',
    trainingNote: 'Trainingsvorgänge sind in keiner Summe dieses Berichts enthalten.',
    taxes: 'Umsatzsteuer nach Steuersatz',
    taxColumns: ['Steuersatz', 'Kategorie', 'Netto', 'Steuer', 'Brutto'],
    categories: {
      standard: 'Regelsatz',
      reduced: 'ermäßigt',
      super_reduced: 'stark ermäßigt',
      parking: 'Zwischensatz',
      zero: 'Nullsatz',
      exempt: 'steuerfrei',
      not_taxable: 'nicht steuerbar',
    },
    total: 'Summe',
    payments: 'Zahlungsarten',
    paymentColumns: ['Zahlungsart', 'Betrag'],
    paymentMethods: {
      cash: 'Bar',
      card: 'Karte',
      wallet: 'Wallet',
      voucher: 'Gutschein',
      gift_card: 'Geschenkkarte',
      online: 'Online',
      other: 'Sonstige',
    },
    drawer: 'Kassenladenöffnungen',
    drawerCount: 'Öffnungen',
    drawerWithoutOperation: 'davon ohne Vorgang',
    none: 'keine',
    page: (page, pages) => `Seite ${page} von ${pages}`,
  },
  en: {
    report: 'Z report',
    closingTypes: {
      daily: 'daily closing',
      shift: 'shift closing',
      monthly: 'monthly closing',
      annual: 'annual closing',
    },
    number: 'No.',
    simulation: 'SIMULATION',
    simulationNote: 'Test mode: not a certified device – this report has no fiscal effect.',
    organization: 'Organization',
    locationAndRegister: 'Location and register',
    location: 'Location',
    register: 'Register',
    registerId: 'Register ID',
    serialNumber: 'Serial number',
    closing: 'Closing',
    closingType: 'Closing type',
    zNumber: 'Z number',
    state: 'State',
    states: { pending: 'pending', completed: 'completed', transmitted: 'transmitted', failed: 'failed' },
    periodFrom: 'Period from',
    periodTo: 'Period to',
    timeZone: 'Time zone',
    createdAt: 'Created',
    completedAt: 'Completed',
    closingId: 'Closing ID',
    totals: 'Totals',
    operationCount: 'Operations',
    totalGross: 'Total gross',
    totalTax: 'Total tax',
    totalNet: 'Total net',
    byType: 'By operation type',
    typeColumns: ['Operation type', 'Count', 'Gross amount'],
    sales: 'Sales',
    refunds: 'Refunds',
    exchanges: 'Exchanges',
    voids: 'Voids',
    cashIn: 'Cash in',
    cashOut: 'Cash out',
    training: 'Training',
    trainingNote: 'Training operations are not included in any total of this report.',
    taxes: 'Tax by rate',
    taxColumns: ['Rate', 'Category', 'Net', 'Tax', 'Gross'],
    categories: {
      standard: 'standard',
      reduced: 'reduced',
      super_reduced: 'super-reduced',
      parking: 'parking',
      zero: 'zero-rated',
      exempt: 'exempt',
      not_taxable: 'not taxable',
    },
    total: 'Total',
    payments: 'Payment methods',
    paymentColumns: ['Payment method', 'Amount'],
    paymentMethods: {
      cash: 'Cash',
      card: 'Card',
      wallet: 'Wallet',
      voucher: 'Voucher',
      gift_card: 'Gift card',
      online: 'Online',
      other: 'Other',
    },
    drawer: 'Cash drawer openings',
    drawerCount: 'Openings',
    drawerWithoutOperation: 'Without an operation',
    none: 'none',
    page: (page, pages) => `Page ${page} of ${pages}`,
  },
};

const mm = (millimetres: number): number => (millimetres * 72) / 25.4;

/** A4 as pdfkit defines it: 595.28 × 841.89 pt. */
const PAGE_WIDTH = 595.28;
const PAGE_HEIGHT = 841.89;
const MARGIN = mm(20);
const TOP = mm(15);
/** Content ends here; the footer sits below. */
const BOTTOM = PAGE_HEIGHT - mm(18);
const FOOTER_Y = PAGE_HEIGHT - mm(12);
const CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN;
const GUTTER = 10;
/** Every amount column, so that all amounts end flush in one column. */
const AMOUNT_WIDTH = 100;
const COUNT_WIDTH = 70;
/** At 150 dpi a module of a version 15 code is still 3.5 pixels. */
const QR_SIZE = mm(45);
/** Measured widths go back in as wrap widths; without slack, rounding can wrap a value that exactly fits. */
const SLACK = 0.5;
const ROW_PADDING = 1.5;
const GREY = '#555555';

interface Style {
  face: FontFace;
  size: number;
  color?: string;
}

const BODY: Style = { face: 'regular', size: 9 };
const BODY_BOLD: Style = { face: 'bold', size: 9 };
const LABEL: Style = { face: 'regular', size: 9, color: GREY };
const SMALL: Style = { face: 'regular', size: 8 };
const SMALL_GREY: Style = { face: 'regular', size: 8, color: GREY };
const NAME: Style = { face: 'bold', size: 11 };
const HEADING: Style = { face: 'bold', size: 11 };
const TITLE: Style = { face: 'bold', size: 16 };
/** For values too long for one line (signatures, keys): fixed width keeps wrapped base64 readable. */
const MONO: Style = { face: 'mono', size: 8 };
const SIMULATION_MARK: Style = { face: 'bold', size: 12 };

type Align = 'left' | 'center' | 'right';

interface Cell {
  text: string;
  /** From the left content edge. */
  x: number;
  width: number;
  align: Align;
  style: Style;
}

/** A table column; `width` 0 takes what the fixed columns leave. */
interface Column {
  width: number;
  align: Align;
}

interface TableRow {
  texts: readonly string[];
  style?: Style;
  /** A rule above: the total row. */
  rule?: boolean;
}

/** Lays out top to bottom, breaking pages before a row that would cross {@link BOTTOM}. */
class Pen {
  y = TOP;
  pages = 0;
  /** Where the content of the current page starts, below its page header. */
  private pageTop = TOP;

  constructor(
    readonly doc: PDFKit.PDFDocument,
    /** Drawn at the top of every page. */
    private readonly pageHeader: (pen: Pen) => void,
  ) {}

  private use(style: Style): void {
    this.doc.font(style.face).fontSize(style.size);
  }

  newPage(): void {
    // Bottom margin 0: pdfkit would add a page on its own for text that crosses the margin; the pen decides.
    this.doc.addPage({ size: 'A4', margins: { top: TOP, bottom: 0, left: MARGIN, right: MARGIN } });
    this.pages++;
    this.y = TOP;
    this.pageHeader(this);
    this.pageTop = this.y;
  }

  /**
   * A new page unless `height` more still fits; true if it made one. At the top of a page anything goes: what is
   * taller than a page would not fit on the next one either.
   */
  ensure(height: number): boolean {
    if (this.y + height <= BOTTOM || this.y <= this.pageTop) return false;
    this.newPage();
    return true;
  }

  width(text: string, style: Style): number {
    this.use(style);
    return this.doc.widthOfString(text);
  }

  gap(height: number): void {
    this.y += height;
  }

  height(cells: readonly Cell[]): number {
    let height = 0;
    for (const cell of cells) {
      if (cell.text === '') continue;
      this.use(cell.style);
      height = Math.max(height, this.doc.heightOfString(cell.text, { width: cell.width, align: cell.align }));
    }
    return height;
  }

  /** Draws cells side by side at `y` (default: the pen's) without moving the pen. */
  draw(cells: readonly Cell[], y = this.y): void {
    for (const cell of cells) {
      if (cell.text === '') continue;
      this.use(cell.style);
      this.doc.fillColor(cell.style.color ?? 'black');
      this.doc.text(cell.text, MARGIN + cell.x, y, { width: cell.width, align: cell.align });
    }
    this.doc.fillColor('black');
  }

  /** One row of cells, on the next page if it does not fit on this one. */
  row(cells: readonly Cell[], padding = 0): void {
    const height = this.height(cells) + padding;
    this.ensure(height);
    this.draw(cells, this.y + padding / 2);
    this.y += height;
  }

  paragraph(text: string, style: Style, align: Align = 'left'): void {
    this.row([{ text, x: 0, width: CONTENT_WIDTH, align, style }]);
  }

  rule(y: number, weight = 0.5, from = 0, width = CONTENT_WIDTH): void {
    this.doc
      .save()
      .moveTo(MARGIN + from, y)
      .lineTo(MARGIN + from + width, y)
      .lineWidth(weight)
      .stroke()
      .restore();
  }

  /** White text on a black band across the page, for what must not be missed. */
  band(text: string, style: Style): void {
    const padding = 3;
    this.use(style);
    const options = { width: CONTENT_WIDTH, align: 'center' } as const;
    const height = this.doc.heightOfString(text, options) + 2 * padding;
    this.doc.rect(MARGIN, this.y, CONTENT_WIDTH, height).fill('black');
    this.doc
      .fillColor('white')
      .text(text, MARGIN, this.y + padding, options)
      .fillColor('black');
    this.y += height;
  }

  /** Stacks of rows side by side, as one block that is not split across pages. */
  columns(stacks: ReadonlyArray<ReadonlyArray<readonly Cell[]>>): void {
    const heights = stacks.map((stack) => stack.map((cells) => this.height(cells)));
    this.ensure(Math.max(0, ...heights.map((rows) => rows.reduce((sum, height) => sum + height, 0))));
    const top = this.y;
    let bottom = top;
    stacks.forEach((stack, index) => {
      let y = top;
      stack.forEach((cells, row) => {
        this.draw(cells, y);
        y += heights[index]?.[row] ?? 0;
      });
      bottom = Math.max(bottom, y);
    });
    this.y = bottom;
  }
}

const languageOf = (locale: string): Language => (/^de(?:[-_]|$)/i.test(locale) ? 'de' : 'en');

function addressLines(address: ZReportAddress | null, jurisdiction: string): string[] {
  if (address === null) return [];
  const lines = [address.line1];
  if (address.line2 !== null && address.line2 !== '') lines.push(address.line2);
  lines.push([address.postal_code, address.city].filter((part) => part !== '').join(' '));
  if (address.state !== null && address.state !== '') lines.push(address.state);
  if (address.country !== jurisdiction) lines.push(address.country);
  return lines;
}

/** Fixed column widths, the zero-width one widened to fill the content width; returns the cells' x and width. */
function placeColumns(columns: readonly Column[]): Array<{ x: number; width: number; align: Align }> {
  const fixed = columns.reduce((sum, column) => sum + column.width, 0);
  const flexible = CONTENT_WIDTH - fixed - GUTTER * (columns.length - 1);
  let x = 0;
  return columns.map((column) => {
    const width = column.width === 0 ? flexible : column.width;
    const placed = { x, width, align: column.align };
    x += width + GUTTER;
    return placed;
  });
}

/**
 * A section heading, kept on one page with what follows it (`next`: the height of the first rows), then a rule.
 */
function heading(pen: Pen, text: string, next: number): void {
  const cells = headingCells(text, 0, CONTENT_WIDTH);
  const height = pen.height(cells);
  pen.gap(SECTION_GAP);
  pen.ensure(height + HEADING_RULE + next);
  drawHeading(pen, cells, 0, CONTENT_WIDTH, height);
  pen.gap(height + HEADING_RULE);
}

/** Space above a section heading. */
const SECTION_GAP = 8;
/** From a heading's text to its first row, the rule in between. */
const HEADING_RULE = 4;

const headingCells = (text: string, x: number, width: number): Cell[] => [
  { text, x, width, align: 'left', style: HEADING },
];

/** A heading at the pen's line, its rule below; does not move the pen. */
function drawHeading(pen: Pen, cells: readonly Cell[], x: number, width: number, height: number): void {
  pen.draw(cells);
  pen.rule(pen.y + height + 1, 0.75, x, width);
}

interface Panel {
  title: string;
  rows: ReadonlyArray<{ label: string; value: string; style?: Style }>;
}

/**
 * Short label/value sections side by side, each under its own heading, as one block that is not split across
 * pages: the figures of a closing are few, and two short lists side by side keep the report to one page.
 */
function panels(pen: Pen, list: readonly Panel[]): void {
  const width = (CONTENT_WIDTH - 2 * GUTTER * (list.length - 1)) / list.length;
  const laid = list.map((panel, index) => {
    const x = index * (width + 2 * GUTTER);
    const title = headingCells(panel.title, x, width);
    const rows = panel.rows.map(({ label, value, style = BODY }): Cell[] => [
      { text: label, x, width: width - AMOUNT_WIDTH - GUTTER, align: 'left', style },
      { text: value, x: x + width - AMOUNT_WIDTH, width: AMOUNT_WIDTH, align: 'right', style },
    ]);
    const heights = rows.map((cells) => pen.height(cells) + ROW_PADDING);
    return { x, title, titleHeight: pen.height(title), rows, heights };
  });
  const height = Math.max(
    0,
    ...laid.map(({ titleHeight, heights }) => titleHeight + HEADING_RULE + heights.reduce((sum, row) => sum + row, 0)),
  );
  pen.gap(SECTION_GAP);
  pen.ensure(height);
  const top = pen.y;
  for (const { x, title, titleHeight, rows, heights } of laid) {
    pen.y = top;
    drawHeading(pen, title, x, width, titleHeight);
    pen.gap(titleHeight + HEADING_RULE);
    rows.forEach((cells, index) => {
      pen.draw(cells, pen.y + ROW_PADDING / 2);
      pen.gap(heights[index] ?? 0);
    });
  }
  pen.y = top + height;
}

/** A table under a section heading; the column header repeats on every page the table continues on. */
function table(
  pen: Pen,
  title: string,
  columns: readonly Column[],
  header: readonly string[],
  rows: readonly TableRow[],
): void {
  const placed = placeColumns(columns);
  const cellsOf = (texts: readonly string[], style: Style): Cell[] =>
    placed.map((column, index) => ({ ...column, text: texts[index] ?? '', style }));
  const headerCells = cellsOf(header, BODY_BOLD);
  const headerHeight = pen.height(headerCells) + ROW_PADDING + 2;
  const drawHeader = (): void => {
    pen.draw(headerCells);
    pen.gap(headerHeight - 2);
    pen.rule(pen.y - 1, 0.4);
    pen.gap(2);
  };
  const rowCells = rows.map((row) => cellsOf(row.texts, row.style ?? BODY));
  const first = rowCells[0];
  heading(pen, title, headerHeight + (first === undefined ? 0 : pen.height(first) + ROW_PADDING));
  drawHeader();
  rows.forEach((row, index) => {
    const cells = rowCells[index] ?? [];
    const height = pen.height(cells) + ROW_PADDING;
    const rule = row.rule === true;
    if (pen.ensure((rule ? 3 : 0) + height)) drawHeader();
    if (rule) {
      pen.gap(1);
      pen.rule(pen.y, 0.4);
      pen.gap(2);
    }
    pen.draw(cells, pen.y + ROW_PADDING / 2);
    pen.gap(height);
  });
}

/** A label and its value; ids go in the fixed-width face, where they are narrower and easier to read out. */
type KeyValue = readonly [label: string, value: string, style?: Style];

/** Label/value rows as cells from `x`, within `width`. */
function keyValues(rows: readonly KeyValue[], x: number, width: number, labelWidth: number): Cell[][] {
  return rows.map(([label, value, style = BODY]) => [
    { text: label, x, width: labelWidth, align: 'left', style: LABEL },
    { text: value, x: x + labelWidth + GUTTER, width: width - labelWidth - GUTTER, align: 'left', style },
  ]);
}

function title(input: ZReportInput, labels: Labels): string {
  return `${labels.report} / ${labels.closingTypes[input.closing.type]} ${labels.number} ${input.closing.zNumber}`;
}

function simulationNotice(pen: Pen, labels: Labels): void {
  pen.band(labels.simulation, SIMULATION_MARK);
  pen.gap(2);
  pen.paragraph(labels.simulationNote, BODY_BOLD, 'center');
  pen.gap(6);
}

function header(pen: Pen, input: ZReportInput, labels: Labels, language: Language): void {
  const { organization, location, register, closing, timeZone } = input;
  pen.paragraph(title(input, labels), TITLE);
  pen.gap(6);

  const half = (CONTENT_WIDTH - 2 * GUTTER) / 2;
  const line = (text: string, x: number, style: Style = BODY): Cell[] => [
    { text, x, width: half, align: 'left', style },
  ];
  const name = organization.tradeName ?? organization.legalName;
  const left: Cell[][] = [line(labels.organization, 0, SMALL_GREY), line(name, 0, NAME)];
  if (organization.legalName !== name) left.push(line(organization.legalName, 0));
  for (const text of addressLines(organization.address, register.jurisdiction)) left.push(line(text, 0));
  for (const { label, value } of organization.taxIds) left.push(line(`${label} ${value}`, 0));
  const right = half + 2 * GUTTER;
  const located: Cell[][] = [line(labels.location, right, SMALL_GREY), line(location.name, right, NAME)];
  for (const text of addressLines(location.address, register.jurisdiction)) located.push(line(text, right));
  pen.columns([left, located]);

  const time = (utc: string): string =>
    `${formatLocalDateTime(utc, timeZone, language)} ${formatUtcOffset(utc, timeZone)}`;
  const registerRows: KeyValue[] = [
    [labels.register, register.label],
    [labels.registerId, register.id, MONO],
    [labels.serialNumber, register.serialNumber],
    [labels.closingType, labels.closingTypes[closing.type]],
    [labels.zNumber, String(closing.zNumber)],
    [labels.state, labels.states[closing.state] ?? closing.state],
  ];
  const closingRows: KeyValue[] = [
    [labels.periodFrom, time(closing.periodFrom)],
    [labels.periodTo, time(closing.periodTo)],
    [labels.timeZone, timeZone],
    [labels.createdAt, time(closing.createdAt)],
    [labels.completedAt, closing.completedAt === null ? '–' : time(closing.completedAt)],
    [labels.closingId, closing.id, MONO],
  ];
  const labelWidth = (rows: readonly KeyValue[]): number =>
    Math.max(...rows.map(([label]) => pen.width(label, LABEL))) + SLACK;
  pen.gap(8);
  pen.columns([
    keyValues(registerRows, 0, half, labelWidth(registerRows)),
    keyValues(closingRows, right, half, labelWidth(closingRows)),
  ]);
}

function figures(pen: Pen, input: ZReportInput, labels: Labels, language: Language): void {
  const { summary, currency } = input;
  const money = (amount: number): string => formatMoney(amount, currency, language);
  const count = (value: number): string => formatQuantity(value, language);
  const types = summary.by_operation_type;

  panels(pen, [
    {
      title: labels.totals,
      rows: [
        { label: labels.operationCount, value: count(summary.operation_count) },
        { label: labels.totalGross, value: money(summary.total_gross), style: BODY_BOLD },
        { label: labels.totalTax, value: money(summary.total_tax) },
        { label: labels.totalNet, value: money(summary.total_gross - summary.total_tax) },
      ],
    },
    {
      title: labels.drawer,
      rows: [
        { label: labels.drawerCount, value: count(summary.cash_drawer_openings.count) },
        { label: labels.drawerWithoutOperation, value: count(summary.cash_drawer_openings.without_operation) },
      ],
    },
  ]);

  table(
    pen,
    labels.byType,
    [
      { width: 0, align: 'left' },
      { width: COUNT_WIDTH, align: 'right' },
      { width: AMOUNT_WIDTH, align: 'right' },
    ],
    labels.typeColumns,
    [
      { texts: [labels.sales, count(types.sales.count), money(types.sales.total_gross)] },
      { texts: [labels.refunds, count(types.refunds.count), money(types.refunds.total_gross)] },
      { texts: [labels.exchanges, count(types.exchanges.count), money(types.exchanges.total_gross)] },
      { texts: [labels.voids, count(types.voids.count), ''] },
      { texts: [labels.cashIn, '', money(types.cash_movements.cash_in_total)] },
      { texts: [labels.cashOut, '', money(types.cash_movements.cash_out_total)] },
      { texts: [labels.training, count(types.training.count), money(types.training.total_gross)] },
    ],
  );
  pen.row([{ text: labels.trainingNote, x: 0, width: CONTENT_WIDTH, align: 'left', style: SMALL_GREY }]);

  const taxRows: TableRow[] = summary.tax_breakdown.map((group) => ({
    texts: [
      formatRate(group.rate, language),
      labels.categories[group.category] ?? group.category,
      money(group.taxable_amount),
      money(group.tax_amount),
      money(group.taxable_amount + group.tax_amount),
    ],
  }));
  const sum = (pick: (group: ClosingSummary['tax_breakdown'][number]) => number): number =>
    summary.tax_breakdown.reduce((total, group) => total + pick(group), 0);
  taxRows.push(
    summary.tax_breakdown.length === 0
      ? { texts: [labels.none] }
      : {
          texts: [
            labels.total,
            '',
            money(sum((group) => group.taxable_amount)),
            money(sum((group) => group.tax_amount)),
            money(sum((group) => group.taxable_amount + group.tax_amount)),
          ],
          style: BODY_BOLD,
          rule: true,
        },
  );
  table(
    pen,
    labels.taxes,
    [
      { width: 70, align: 'left' },
      { width: 0, align: 'left' },
      { width: AMOUNT_WIDTH, align: 'right' },
      { width: AMOUNT_WIDTH, align: 'right' },
      { width: AMOUNT_WIDTH, align: 'right' },
    ],
    labels.taxColumns,
    taxRows,
  );

  const payments = Object.entries(summary.total_by_payment_method);
  const paymentRows: TableRow[] = payments.map(([method, amount]) => ({
    texts: [labels.paymentMethods[method] ?? method, money(amount)],
  }));
  paymentRows.push(
    payments.length === 0
      ? { texts: [labels.none] }
      : {
          texts: [labels.total, money(payments.reduce((total, [, amount]) => total + amount, 0))],
          style: BODY_BOLD,
          rule: true,
        },
  );
  table(
    pen,
    labels.payments,
    [
      { width: 0, align: 'left' },
      { width: AMOUNT_WIDTH, align: 'right' },
    ],
    labels.paymentColumns,
    paymentRows,
  );
}

/**
 * The fiscal lines with the QR code to their right. Kept on one page with its heading: a signature split from the
 * fields it signs would be hard to check.
 */
function fiscalBlock(pen: Pen, fiscal: NonNullable<ZReportInput['fiscal']>, qr: BitMatrix | null): void {
  const quiet = qr === null ? 0 : (4 * QR_SIZE) / qr.size;
  const linesWidth = qr === null ? CONTENT_WIDTH : CONTENT_WIDTH - QR_SIZE - 2 * GUTTER;
  const labelWidth = Math.min(
    Math.max(0, ...fiscal.lines.map(({ label }) => pen.width(label, LABEL))),
    linesWidth * 0.4,
  );
  const valueWidth = linesWidth - labelWidth - SLACK - GUTTER;
  const rows = fiscal.lines.map(({ label, value }): Cell[] => [
    { text: label, x: 0, width: labelWidth + SLACK, align: 'left', style: LABEL },
    {
      text: value,
      x: labelWidth + SLACK + GUTTER,
      width: valueWidth,
      align: 'left',
      // A value that would wrap anyway (a signature, a public key) wraps in the fixed-width face.
      style: pen.width(value, BODY) + SLACK <= valueWidth ? BODY : MONO,
    },
  ]);
  const heights = rows.map((cells) => pen.height(cells) + ROW_PADDING);
  const qrHeight = qr === null ? 0 : QR_SIZE + 2 * quiet;
  const blockHeight = Math.max(
    heights.reduce((sum, height) => sum + height, 0),
    qrHeight,
  );
  heading(pen, fiscal.title, blockHeight);
  const top = pen.y;
  if (top + blockHeight <= BOTTOM) {
    rows.forEach((cells, index) => {
      pen.draw(cells, pen.y + ROW_PADDING / 2);
      pen.gap(heights[index] ?? 0);
    });
    if (qr !== null) drawQr(pen.doc, qr, MARGIN + CONTENT_WIDTH - QR_SIZE, top + quiet, QR_SIZE);
    pen.y = top + blockHeight;
    return;
  }
  // Taller than a page: the lines run on, the code follows on its own.
  for (const cells of rows) pen.row(cells, ROW_PADDING);
  if (qr !== null) {
    pen.ensure(qrHeight);
    drawQr(pen.doc, qr, MARGIN + CONTENT_WIDTH - QR_SIZE, pen.y + quiet, QR_SIZE);
    pen.gap(qrHeight);
  }
}

function footers(doc: PDFKit.PDFDocument, text: string, labels: Labels): void {
  const { start, count } = doc.bufferedPageRange();
  for (let index = 0; index < count; index++) {
    doc.switchToPage(start + index);
    doc
      .save()
      .moveTo(MARGIN, FOOTER_Y - 4)
      .lineTo(MARGIN + CONTENT_WIDTH, FOOTER_Y - 4)
      .lineWidth(0.4)
      .stroke()
      .restore();
    doc.font(SMALL.face).fontSize(SMALL.size).fillColor(GREY);
    const page = labels.page(index + 1, count);
    const pageWidth = doc.widthOfString(page) + SLACK;
    // One line at most: a long register label is cut short rather than pushed into the page number.
    doc.text(text, MARGIN, FOOTER_Y, {
      width: CONTENT_WIDTH - pageWidth - GUTTER,
      height: doc.currentLineHeight(true),
      ellipsis: true,
    });
    doc.text(page, MARGIN + CONTENT_WIDTH - pageWidth, FOOTER_Y, { width: pageWidth, align: 'right' });
    doc.fillColor('black');
  }
}

/**
 * Renders a Z report as an A4 PDF, with page numbers when it runs over one page. Identical input gives identical
 * bytes: the document dates come from the closing, and pdfkit derives the file ID from them and the font subset
 * tags from the font order.
 */
export async function renderClosingPdf(input: ZReportInput): Promise<Buffer> {
  const language = languageOf(input.locale);
  const labels = LABELS[language];
  const created = new Date(input.closing.createdAt);
  if (Number.isNaN(created.getTime())) throw new RangeError(`not a timestamp: ${input.closing.createdAt}`);
  const reportTitle = title(input, labels);
  const doc = new PDFDocument({
    autoFirstPage: false,
    bufferPages: true,
    // No default font: pdfkit would load Helvetica's metrics for nothing.
    font: '',
    lang: language === 'de' ? 'de-DE' : 'en',
    info: {
      Title: reportTitle,
      Author: input.organization.legalName,
      Creator: 'OpenFiskal',
      CreationDate: created,
      ModDate: created,
    },
  });
  registerFonts(doc);
  const qrData = input.fiscal?.qrData ?? null;
  const qr = qrData === null ? null : qrModules(qrData);

  // An uncertified report says so at the top of every page, so that no page of it passes for a real one.
  const pen = new Pen(doc, (page) => {
    if (!input.certified) simulationNotice(page, labels);
  });
  pen.newPage();
  header(pen, input, labels, language);
  figures(pen, input, labels, language);
  if (input.fiscal !== null) fiscalBlock(pen, input.fiscal, qr);
  if (pen.pages > 1) footers(doc, `${reportTitle} · ${input.register.label} · ${input.register.serialNumber}`, labels);
  return await collect(doc);
}
