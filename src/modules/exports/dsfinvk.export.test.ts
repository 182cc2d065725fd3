/**
 * The DSFinV-K writer on an in-memory source: one daily closing with a sale (two VAT rates, a line discount, card and
 * cash with change), a refund of it, a voided sale, an aborted receipt, a training sale, a cash pay-in and pay-out.
 * The TAR is unpacked with the system `tar` and read by the independent checker (test/helpers/dsfinvk-check.ts); the
 * rows and the Z totals are compared with numbers worked out by hand and with the closing summary.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkDsfinvkExport,
  decimalToMinor,
  DsfinvkCheckError,
  type DsfinvkCheckResult,
} from '../../../test/helpers/dsfinvk-check.js';
import { tseReceipt, type TseFiscalBlock } from '../../regimes/de/tse-fiscal-block.js';
import { cashMovementProcess } from '../../regimes/de/process-data.js';
import {
  addTotals,
  emptyTotals,
  operationTotals,
  toSummary,
  type OperationFacts,
} from '../closings/closing-summary.js';
import {
  computeTotals,
  priceLineItems,
  priceRefundLines,
  type LineItemInput,
  type Payment,
  type PricedLineItem,
  type Totals,
} from '../operations/pricing.js';
import { createDsfinvkExportWriter } from './dsfinvk.export.js';
import type {
  DsfinvkClosingRow,
  DsfinvkOperationRow,
  DsfinvkOriginalRow,
  DsfinvkSource,
  DsfinvkTseUnitRow,
} from './dsfinvk.repository.js';
import type { ExportSubject } from './export-writer.js';

const SERIAL = 'KASSE-01';
const FU = 'fu_01jd7xq3m9e5rbq0c2kfvx8w4t';
const TSE_SERIAL = 'a1'.repeat(32);
const CERTIFICATE = 'M'.repeat(1500);
const CLOSED_AT = '2026-03-02T21:30:00.000Z';

const work = mkdtempSync(join(tmpdir(), 'dsfinvk-export-test-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

let ids = 0;
const newLineId = (prefix: string) => `${prefix}_${String(++ids).padStart(26, '0')}`;

interface Data {
  currency: string;
  line_items?: PricedLineItem[];
  returned_line_items?: PricedLineItem[];
  totals?: Totals;
  payments?: Payment[];
  original_operation_type?: string;
  kind?: string;
  direction?: string;
  amount?: number;
  customer?: null;
}

const operations: DsfinvkOperationRow[] = [];
const facts: OperationFacts[] = [];
let seq = 0n;
let signatureCounter = 10;
let transactionNumber = 0;

const at = (minute: number) => new Date(Date.UTC(2026, 2, 2, 9, minute)).toISOString();

function payment(method: Payment['method'], direction: Payment['direction'], amount: number, scheme?: string): Payment {
  return {
    id: newLineId('pay'),
    method,
    direction,
    amount,
    currency: 'EUR',
    ...(scheme === undefined ? {} : { card: { scheme } }),
  };
}

function fiscalBlock(minute: number, process: { processType: string; processData: string }): TseFiscalBlock {
  transactionNumber += 1;
  signatureCounter += 2;
  const event = (offset: number, counter: number, processType: string, processData: string) => ({
    signed_at: at(minute + offset),
    transaction_counter: counter,
    signature: `SIG${String(counter)}==`,
    process_type: processType,
    process_data: processData,
  });
  return {
    regime: 'tse',
    fiscal_unit_id: FU,
    certified: false,
    document_number: null,
    document_type: null,
    transmission_status: 'not_required',
    verification: { qr_data: null, url: null },
    tse_serial: TSE_SERIAL,
    client_id: SERIAL,
    signature_algorithm: 'ecdsa-plain-SHA256',
    time_format: 'unixTime',
    public_key: 'BPUBLIC==',
    transaction_number: transactionNumber,
    start_event: event(0, signatureCounter - 1, 'Kassenbeleg-V1', ''),
    end_event: event(1, signatureCounter, process.processType, process.processData),
  };
}

function addOperation(input: {
  id: string;
  type: DsfinvkOperationRow['type'];
  state?: 'completed' | 'cancelled';
  data: Data;
  process: { processType: string; processData: string };
  original?: string;
  reason?: string;
}): void {
  seq += 1n;
  const minute = Number(seq) * 5;
  const state = input.state ?? 'completed';
  operations.push({
    id: input.id,
    type: input.type,
    state,
    sequence_number: seq,
    cashier: JSON.stringify({ id: 'c-7', display_name: 'Anna' }),
    data: JSON.stringify(input.data),
    fiscal: JSON.stringify(fiscalBlock(minute, input.process)),
    original_operation_id: input.original ?? null,
    reason: input.reason ?? null,
    started_at: at(minute),
    completed_at: state === 'completed' ? at(minute + 1) : null,
    updated_at: at(minute + 1),
    final_journal_seq: seq * 2n,
  });
  facts.push({ type: input.type, state, data: input.data });
}

function priced(lines: LineItemInput[]): { lines: PricedLineItem[]; totals: Totals } {
  const { lineItems } = priceLineItems(lines, [], newLineId);
  return { lines: lineItems, totals: computeTotals([{ lines: lineItems, sign: 1 }], 1) };
}

// 1. A sale: 2 × Kaffee at 2.50 (19 %) and 3 × Brötchen at 0.50 (7 %) less 0.10; 3.00 by girocard, 5.00 cash given,
//    1.60 change. 19 %: 5.00 gross, 0.80 tax; 7 %: 1.40 gross, 0.09 tax.
const sale = priced([
  {
    description: 'Kaffee; groß "Spezial"',
    quantity: 2,
    unit_price_gross: 250,
    tax: { rate: '0.19', category: 'standard' },
  },
  {
    description: 'Brötchen',
    quantity: 3,
    unit_price_gross: 50,
    tax: { rate: '0.07', category: 'reduced' },
    line_discounts: [{ type: 'amount', amount: 10, label: 'Stammkunde' }],
  },
]);
const salePayments = [
  payment('card', 'inbound', 300, 'girocard'),
  payment('cash', 'inbound', 500),
  payment('cash', 'outbound', 160),
];
addOperation({
  id: 'op_sale',
  type: 'sale',
  data: { currency: 'EUR', line_items: sale.lines, totals: sale.totals, payments: salePayments },
  process: tseReceipt({
    kind: 'complete',
    operationType: 'sale',
    breakdown: sale.totals.tax_breakdown,
    payments: salePayments,
  }),
});

// 2. A sale of Tee at 3.00 (19 %, 0.48 tax) by Visa, voided below.
const tea = priced([
  { description: 'Tee', quantity: 1, unit_price_gross: 300, tax: { rate: '0.19', category: 'standard' } },
]);
const teaPayments = [payment('card', 'inbound', 300, 'visa')];
addOperation({
  id: 'op_tea',
  type: 'sale',
  data: { currency: 'EUR', line_items: tea.lines, totals: tea.totals, payments: teaPayments },
  process: tseReceipt({
    kind: 'complete',
    operationType: 'sale',
    breakdown: tea.totals.tax_breakdown,
    payments: teaPayments,
  }),
});

// 3. A refund of one Kaffee (2.50, 0.40 tax) in cash.
const refundLines = priceRefundLines(
  [{ original: sale.lines[0] as PricedLineItem, quantity: 1, alreadyRefundedQuantity: 0 }],
  newLineId,
);
const refundTotals = computeTotals([{ lines: refundLines, sign: 1 }], -1);
const refundPayments = [payment('cash', 'outbound', 250)];
addOperation({
  id: 'op_refund',
  type: 'refund',
  original: 'op_sale',
  data: { currency: 'EUR', line_items: refundLines, totals: refundTotals, payments: refundPayments },
  process: tseReceipt({
    kind: 'complete',
    operationType: 'refund',
    breakdown: refundTotals.tax_breakdown,
    payments: refundPayments,
  }),
});

// 4. The void of the Tee sale: its amounts negated, its card payment given back.
const voidPayments = teaPayments.map((p) => ({ ...p, id: newLineId('pay'), direction: 'outbound' as const }));
addOperation({
  id: 'op_void',
  type: 'void',
  original: 'op_tea',
  reason: 'Falsch gebucht',
  data: {
    currency: 'EUR',
    original_operation_type: 'sale',
    line_items: tea.lines,
    totals: { ...tea.totals, net_payable: -tea.totals.net_payable },
    payments: voidPayments,
  },
  process: tseReceipt({
    kind: 'void',
    originalType: 'sale',
    breakdown: tea.totals.tax_breakdown,
    payments: voidPayments,
  }),
});

// 5. An aborted receipt: Wasser 2.00 (19 %), cancelled before payment.
const water = priced([
  { description: 'Wasser', quantity: 1, unit_price_gross: 200, tax: { rate: '0.19', category: 'standard' } },
]);
addOperation({
  id: 'op_aborted',
  type: 'sale',
  state: 'cancelled',
  reason: 'Kunde ging',
  data: { currency: 'EUR', line_items: water.lines, totals: water.totals, payments: [] },
  process: tseReceipt({ kind: 'cancel', breakdown: water.totals.tax_breakdown }),
});

// 6. A training sale: Kuchen 4.00 (7 %) in cash.
const cake = priced([
  { description: 'Kuchen', quantity: 1, unit_price_gross: 400, tax: { rate: '0.07', category: 'reduced' } },
]);
const cakePayments = [payment('cash', 'inbound', 400)];
addOperation({
  id: 'op_training',
  type: 'training',
  data: { currency: 'EUR', line_items: cake.lines, totals: cake.totals, payments: cakePayments },
  process: tseReceipt({
    kind: 'complete',
    operationType: 'training',
    breakdown: cake.totals.tax_breakdown,
    payments: cakePayments,
  }),
});

// 7./8. Cash paid in (100.00) and out (20.00).
for (const [id, kind, direction, amount] of [
  ['op_in', 'pay_in', 'in', 10000],
  ['op_out', 'pay_out', 'out', 2000],
] as const) {
  const process = cashMovementProcess(kind, direction, amount, 'EUR');
  addOperation({
    id,
    type: 'cash_movement',
    data: { currency: 'EUR', kind, direction, amount },
    process,
  });
}

const summary = toSummary(facts.reduce((sum, op) => addTotals(sum, operationTotals(op)), emptyTotals()));

const closingRow: DsfinvkClosingRow = {
  id: 'cls_1',
  register_id: 'reg_1',
  location_id: 'loc_1',
  organization_id: 'org_1',
  type: 'daily',
  state: 'completed',
  z_number: 4n,
  period_from: '2026-03-01T21:30:00.000Z',
  period_to: CLOSED_AT,
  journal_seq_from: 0n,
  journal_seq_to: 100n,
  summary: JSON.stringify(summary),
  created_at: CLOSED_AT,
};

const queries: string[] = [];

const source: DsfinvkSource = {
  closing: (id) => Promise.resolve(id === closingRow.id ? closingRow : undefined),
  dailyClosings: (registerId, from, to) =>
    Promise.resolve(
      [closingRow].filter((c) => c.register_id === registerId && c.created_at >= from && c.created_at <= to),
    ),
  register: (id) => Promise.resolve(id === 'reg_1' ? { id, serial_number: SERIAL, currency: 'EUR' } : undefined),
  location: () =>
    Promise.resolve({
      name: 'Filiale Mitte',
      address: JSON.stringify({ line1: 'Torstraße 1', city: 'Berlin', postal_code: '10119', country: 'DE' }),
      timezone: 'Europe/Berlin',
      fiscal_identity: null,
    }),
  organization: () =>
    Promise.resolve({
      legal_name: 'Bäckerei Beispiel GmbH',
      country: 'DE',
      address: JSON.stringify({
        line1: 'Hauptstraße 5',
        line2: 'Hinterhaus',
        city: 'Berlin',
        postal_code: '10115',
        country: 'DE',
      }),
      fiscal_identity: JSON.stringify({ tax_number: '1121081508150', vat_id: 'DE123456789' }),
    }),
  tseUnits: () =>
    Promise.resolve<DsfinvkTseUnitRow[]>([
      {
        id: FU,
        fiscal_registration: JSON.stringify({
          regime: 'tse',
          tse_serial: TSE_SERIAL,
          client_id: SERIAL,
          signature_algorithm: 'ecdsa-plain-SHA256',
          time_format: 'unixTime',
          public_key: 'BPUBLIC==',
          certificate: CERTIFICATE,
        }),
        public_key: 'BPUBLIC==',
        certificate: CERTIFICATE,
      },
    ]),
  countOperations: (_registerId, from, to) =>
    Promise.resolve(
      operations.filter(
        (op) => op.final_journal_seq !== null && op.final_journal_seq > from && op.final_journal_seq <= to,
      ).length,
    ),
  operationBatch: (_registerId, after, to, limit) => {
    queries.push(`batch after ${String(after)}`);
    return Promise.resolve(
      operations
        .filter((op) => op.final_journal_seq !== null && op.final_journal_seq > after && op.final_journal_seq <= to)
        .slice(0, limit),
    );
  },
  originals: (opIds) =>
    Promise.resolve<DsfinvkOriginalRow[]>(
      opIds.map((id) => ({
        id,
        register_serial_number: SERIAL,
        z_number: 4n,
        closing_period_to: CLOSED_AT,
        timezone: 'Europe/Berlin',
      })),
    ),
};

const subject: ExportSubject = {
  id: 'exp_1',
  type: 'dsfinvk',
  organizationId: 'org_1',
  registerId: 'reg_1',
  registerSerialNumber: SERIAL,
  jurisdiction: 'DE',
  from: '2026-03-01T00:00:00.000Z',
  to: '2026-03-31T23:59:59.999Z',
  closingId: null,
  createdAt: '2026-04-01T08:00:00.000Z',
};

async function run(
  overrides: Partial<ExportSubject> = {},
): Promise<{ tar: Buffer; progress: Array<[number, number]> }> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const progress: Array<[number, number]> = [];
  const writer = createDsfinvkExportWriter({ source, batchSize: 3, tmpDir: work, softwareVersion: '9.9.9' });
  await writer.write(
    out,
    { ...subject, ...overrides },
    {
      signal: new AbortController().signal,
      progress: (done, total) => {
        progress.push([done, total]);
        return Promise.resolve();
      },
    },
  );
  return { tar: Buffer.concat(chunks), progress };
}

function extract(tar: Buffer, name: string): string {
  const dir = join(work, name);
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'export.tar'), tar);
  execFileSync('tar', ['-xf', join(dir, 'export.tar'), '-C', dir]);
  rmSync(join(dir, 'export.tar'));
  return dir;
}

const minor = (value: string | undefined) => decimalToMinor(value ?? 'missing');
const sum = (values: Array<string | undefined>) => values.reduce((total, value) => total + minor(value), 0);

describe('the DSFinV-K export', async () => {
  const first = await run();
  const dir = extract(first.tar, 'range');
  const checked: DsfinvkCheckResult = checkDsfinvkExport(dir);
  const rows = (file: string) => checked.rows[file] ?? [];
  const byBon = (file: string, bonId: string) => rows(file).filter((row) => row.BON_ID === bonId);

  it('holds index.xml, the DTD and all 20 CSV files, which pass the independent check', () => {
    expect(readdirSync(dir).sort()).toEqual(
      [
        'allocation_groups.csv',
        'businesscases.csv',
        'cash_per_currency.csv',
        'cashpointclosing.csv',
        'cashregister.csv',
        'datapayment.csv',
        'gdpdu-01-09-2004.dtd',
        'index.xml',
        'itemamounts.csv',
        'lines.csv',
        'lines_vat.csv',
        'location.csv',
        'pa.csv',
        'payment.csv',
        'references.csv',
        'slaves.csv',
        'subitems.csv',
        'transactions.csv',
        'transactions_tse.csv',
        'transactions_vat.csv',
        'tse.csv',
        'vat.csv',
      ].sort(),
    );
    expect(checked.tables).toHaveLength(20);
    for (const empty of ['slaves.csv', 'pa.csv', 'subitems.csv', 'allocation_groups.csv']) {
      expect(rows(empty)).toEqual([]);
    }
  });

  it('lists the members in a fixed order with the export’s time, and gives the same bytes again', async () => {
    const path = join(work, 'listing.tar');
    writeFileSync(path, first.tar);
    const listing = execFileSync('tar', ['-tvf', path], { env: { ...process.env, TZ: 'UTC' } })
      .toString()
      .trim()
      .split('\n');
    expect(listing.map((line) => line.split(/\s+/).at(-1))).toEqual([
      'index.xml',
      'gdpdu-01-09-2004.dtd',
      'cashpointclosing.csv',
      'location.csv',
      'cashregister.csv',
      'slaves.csv',
      'pa.csv',
      'tse.csv',
      'vat.csv',
      'businesscases.csv',
      'payment.csv',
      'cash_per_currency.csv',
      'transactions.csv',
      'datapayment.csv',
      'lines.csv',
      'itemamounts.csv',
      'subitems.csv',
      'transactions_tse.csv',
      'transactions_vat.csv',
      'lines_vat.csv',
      'allocation_groups.csv',
      'references.csv',
    ]);
    for (const line of listing) expect(line).toMatch(/^-rw-r--r-- root\/root +\d+ 2026-04-01 08:00 /);
    rmSync(path);
    const again = await run();
    expect(again.tar.equals(first.tar)).toBe(true);
  });

  it('reports progress in operations', () => {
    expect(first.progress[0]).toEqual([0, 8]);
    expect(first.progress.at(-1)).toEqual([8, 8]);
  });

  it('writes every receipt with its type, sign and times', () => {
    const headers = rows('transactions.csv').map((row) => [
      row.BON_ID,
      row.BON_NR,
      row.BON_TYP,
      row.BON_STORNO,
      row.UMS_BRUTTO,
    ]);
    expect(headers).toEqual([
      ['op_sale', '1', 'Beleg', '0', '6,40'],
      ['op_tea', '2', 'Beleg', '0', '3,00'],
      ['op_refund', '3', 'Beleg', '0', '-2,50'],
      ['op_void', '4', 'Beleg', '1', '-3,00'],
      ['op_aborted', '5', 'AVBelegabbruch', '0', '2,00'],
      ['op_training', '6', 'AVTraining', '0', '4,00'],
      ['op_in', '7', 'Beleg', '0', '100,00'],
      ['op_out', '8', 'Beleg', '0', '-20,00'],
    ]);
    const [saleHeader] = byBon('transactions.csv', 'op_sale');
    expect(saleHeader).toMatchObject({
      Z_KASSE_ID: SERIAL,
      Z_ERSTELLUNG: '2026-03-02T22:30:00+01:00',
      Z_NR: '4',
      BON_START: '2026-03-02T10:05:00+01:00',
      BON_ENDE: '2026-03-02T10:06:00+01:00',
      BEDIENER_ID: 'c-7',
      BEDIENER_NAME: 'Anna',
    });
    expect(byBon('transactions.csv', 'op_void')[0]?.BON_NOTIZ).toBe('Falsch gebucht');
  });

  it('writes lines with quantities, unit prices, discounts and a line share of the receipt’s tax', () => {
    expect(
      byBon('lines.csv', 'op_sale').map((r) => [r.POS_ZEILE, r.ARTIKELTEXT, r.GV_TYP, r.MENGE, r.STK_BR, r.EINHEIT]),
    ).toEqual([
      ['1', 'Kaffee; groß "Spezial"', 'Umsatz', '2,000', '2,50000', 'Stück'],
      ['2', 'Brötchen', 'Umsatz', '3,000', '0,50000', 'Stück'],
    ]);
    expect(
      byBon('lines_vat.csv', 'op_sale').map((r) => [r.UST_SCHLUESSEL, r.POS_BRUTTO, r.POS_NETTO, r.POS_UST]),
    ).toEqual([
      ['1', '5,00000', '4,20000', '0,80000'],
      ['2', '1,40000', '1,31000', '0,09000'],
    ]);
    expect(byBon('itemamounts.csv', 'op_sale').map((r) => [r.POS_ZEILE, r.TYP, r.PF_BRUTTO])).toEqual([
      ['2', 'base_amount', '1,50000'],
      ['2', 'discount', '-0,10000'],
    ]);
    // A refund's lines are negative; a void repeats its original's lines negated.
    expect(byBon('lines.csv', 'op_refund').map((r) => [r.MENGE, r.STK_BR])).toEqual([['-1,000', '2,50000']]);
    expect(byBon('lines_vat.csv', 'op_void').map((r) => [r.POS_BRUTTO, r.POS_UST])).toEqual([['-3,00000', '-0,48000']]);
    // Every receipt's lines add up to its header, per VAT key.
    for (const header of rows('transactions.csv')) {
      const bonId = header.BON_ID ?? '';
      expect(sum(byBon('lines_vat.csv', bonId).map((r) => r.POS_BRUTTO))).toBe(minor(header.UMS_BRUTTO));
      for (const vat of byBon('transactions_vat.csv', bonId)) {
        const lines = byBon('lines_vat.csv', bonId).filter((r) => r.UST_SCHLUESSEL === vat.UST_SCHLUESSEL);
        expect(sum(lines.map((r) => r.POS_BRUTTO))).toBe(minor(vat.BON_BRUTTO));
        expect(sum(lines.map((r) => r.POS_UST))).toBe(minor(vat.BON_UST));
      }
    }
  });

  it('writes each receipt’s payments per type, with change netted', () => {
    expect(
      byBon('datapayment.csv', 'op_sale').map((r) => [
        r.ZAHLART_TYP,
        r.ZAHLART_NAME,
        r.ZAHLWAEH_CODE,
        r.BASISWAEH_BETRAG,
      ]),
    ).toEqual([
      ['ECKarte', 'card', 'EUR', '3,00'],
      ['Bar', 'cash', 'EUR', '3,40'],
    ]);
    expect(byBon('datapayment.csv', 'op_void').map((r) => [r.ZAHLART_TYP, r.BASISWAEH_BETRAG])).toEqual([
      ['Unbar', '-3,00'],
    ]);
    expect(byBon('datapayment.csv', 'op_aborted')).toEqual([]);
    expect(byBon('datapayment.csv', 'op_training').map((r) => r.BASISWAEH_BETRAG)).toEqual(['4,00']);
  });

  it('references originals and carries the TSE transactions', () => {
    expect(
      rows('references.csv').map((r) => [r.BON_ID, r.REF_TYP, r.REF_DATUM, r.REF_Z_KASSE_ID, r.REF_Z_NR, r.REF_BON_ID]),
    ).toEqual([
      ['op_refund', 'Transaktion', '2026-03-02T22:30:00+01:00', SERIAL, '4', 'op_sale'],
      ['op_void', 'Transaktion', '2026-03-02T22:30:00+01:00', SERIAL, '4', 'op_tea'],
    ]);
    expect(rows('transactions_tse.csv')).toHaveLength(8);
    const sale = JSON.parse(operations[0]?.fiscal ?? '{}') as TseFiscalBlock;
    expect(byBon('transactions_tse.csv', 'op_sale')[0]).toMatchObject({
      TSE_ID: '1',
      TSE_TANR: '1',
      TSE_TA_START: sale.start_event?.signed_at,
      TSE_TA_ENDE: sale.end_event?.signed_at,
      TSE_TA_VORGANGSART: 'Kassenbeleg-V1',
      TSE_TA_SIGZ: String(sale.end_event?.transaction_counter),
      TSE_TA_SIG: sale.end_event?.signature,
      TSE_VORGANGSDATEN: 'Beleg^5.00_1.40_0.00_0.00_0.00^3.40:Bar_3.00:Unbar',
    });
    expect(byBon('transactions_tse.csv', 'op_void')[0]?.TSE_VORGANGSDATEN).toBe(
      'Beleg^-3.00_0.00_0.00_0.00_0.00^-3.00:Unbar',
    );
  });

  it('writes the master data of the closing', () => {
    expect(rows('cashpointclosing.csv')).toEqual([
      {
        Z_KASSE_ID: SERIAL,
        Z_ERSTELLUNG: '2026-03-02T22:30:00+01:00',
        Z_NR: '4',
        Z_BUCHUNGSTAG: '2026-03-02',
        TAXONOMIE_VERSION: '2.4',
        Z_START_ID: 'op_sale',
        Z_ENDE_ID: 'op_out',
        NAME: 'Bäckerei Beispiel GmbH',
        STRASSE: 'Hauptstraße 5, Hinterhaus',
        PLZ: '10115',
        ORT: 'Berlin',
        LAND: 'DEU',
        STNR: '1121081508150',
        USTID: 'DE123456789',
        Z_SE_ZAHLUNGEN: '83,90',
        Z_SE_BARZAHLUNGEN: '80,90',
      },
    ]);
    expect(rows('location.csv')[0]).toMatchObject({
      LOC_NAME: 'Filiale Mitte',
      LOC_STRASSE: 'Torstraße 1',
      LOC_LAND: 'DEU',
    });
    expect(rows('cashregister.csv')[0]).toMatchObject({
      KASSE_SERIENNR: SERIAL,
      KASSE_BRAND: 'OpenFiskal',
      KASSE_SW_VERSION: '9.9.9',
      KASSE_BASISWAEH_CODE: 'EUR',
      KEINE_UST_ZUORDNUNG: '0',
    });
    expect(rows('tse.csv')).toEqual([
      expect.objectContaining({
        TSE_ID: '1',
        TSE_SERIAL,
        TSE_SIG_ALGO: 'ecdsa-plain-SHA256',
        TSE_ZEITFORMAT: 'unixTime',
        TSE_PD_ENCODING: 'UTF-8',
        TSE_PUBLIC_KEY: 'BPUBLIC==',
        TSE_ZERTIFIKAT_I: CERTIFICATE.slice(0, 1000),
        TSE_ZERTIFIKAT_II: CERTIFICATE.slice(1000),
        TSE_ZERTIFIKAT_III: '',
      }),
    ]);
    expect(rows('vat.csv').map((r) => [r.UST_SCHLUESSEL, r.UST_SATZ, r.UST_BESCHR])).toEqual([
      ['1', '19,00', 'Regelsteuersatz'],
      ['2', '7,00', 'Ermäßigter Steuersatz'],
      ['5', '0,00', 'Nicht Steuerbar'],
    ]);
  });

  it('has Z totals that agree with the closing summary, by hand and by closing-summary.ts', () => {
    // By hand: 6.40 + 3.00 − 2.50 − 3.00 = 3.90; 19 %: 2.50 gross → 0.40 tax; 7 %: 1.40 → 0.09.
    expect(summary.total_gross).toBe(390);
    expect(summary.total_tax).toBe(49);
    expect(summary.total_by_payment_method).toEqual({ card: 300, cash: 90 });
    expect(summary.by_operation_type.cash_movements).toEqual({ cash_in_total: 10000, cash_out_total: 2000 });

    expect(
      rows('businesscases.csv').map((r) => [
        r.GV_TYP,
        r.GV_NAME,
        r.AGENTUR_ID,
        r.UST_SCHLUESSEL,
        r.Z_UMS_BRUTTO,
        r.Z_UMS_NETTO,
        r.Z_UST,
      ]),
    ).toEqual([
      ['Umsatz', '', '0', '1', '2,50000', '2,10000', '0,40000'],
      ['Umsatz', '', '0', '2', '1,40000', '1,31000', '0,09000'],
      ['Einzahlung', 'pay_in', '0', '5', '100,00000', '100,00000', '0,00000'],
      ['Auszahlung', 'pay_out', '0', '5', '-20,00000', '-20,00000', '0,00000'],
    ]);
    const umsatz = rows('businesscases.csv').filter((r) => r.GV_TYP === 'Umsatz');
    expect(sum(umsatz.map((r) => r.Z_UMS_BRUTTO))).toBe(summary.total_gross);
    expect(sum(umsatz.map((r) => r.Z_UST))).toBe(summary.total_tax);

    const perMethod: Record<string, number> = {};
    for (const r of rows('payment.csv')) {
      perMethod[r.ZAHLART_NAME ?? ''] = (perMethod[r.ZAHLART_NAME ?? ''] ?? 0) + minor(r.Z_ZAHLART_BETRAG);
    }
    const { cash_in_total: cashIn, cash_out_total: cashOut } = summary.by_operation_type.cash_movements;
    expect(perMethod).toEqual({ card: 300, cash: (summary.total_by_payment_method.cash ?? 0) + cashIn - cashOut });
    expect(rows('payment.csv').map((r) => [r.ZAHLART_TYP, r.ZAHLART_NAME, r.Z_ZAHLART_BETRAG])).toEqual([
      ['ECKarte', 'card', '3,00'],
      ['Bar', 'cash', '80,90'],
      ['Unbar', 'card', '0,00'],
    ]);

    const [closing] = rows('cashpointclosing.csv');
    expect(minor(closing?.Z_SE_BARZAHLUNGEN)).toBe((summary.total_by_payment_method.cash ?? 0) + cashIn - cashOut);
    expect(minor(closing?.Z_SE_ZAHLUNGEN)).toBe(summary.total_gross + cashIn - cashOut);
    expect(rows('cash_per_currency.csv').map((r) => [r.ZAHLART_WAEH, r.ZAHLART_BETRAG_WAEH])).toEqual([
      ['EUR', '80,90'],
    ]);
  });

  it('exports exactly the closing named, and nothing for a range without closings', async () => {
    const one = checkDsfinvkExport(extract((await run({ closingId: 'cls_1', from: 'x', to: 'y' })).tar, 'one'));
    expect(one.rows['transactions.csv']).toHaveLength(8);
    const none = checkDsfinvkExport(
      extract((await run({ from: '2026-05-01T00:00:00.000Z', to: '2026-05-31T23:59:59.999Z' })).tar, 'none'),
    );
    for (const file of Object.keys(none.rows)) expect(none.rows[file]).toEqual([]);
    await expect(run({ closingId: 'cls_unknown' })).rejects.toThrow(/cls_unknown/);
  });

  it.each([
    [
      'a Numeric value with too few decimals',
      'lines.csv',
      (t: string) => t.replace(';2,50000\r\n', ';2,5\r\n'),
      /STK_BR "2,5" is not Numeric\(5\)/,
    ],
    [
      'an integer with decimals',
      'transactions.csv',
      (t: string) => t.replace(';op_sale;1;', ';op_sale;1,0;'),
      /BON_NR "1,0" is not Numeric\(0\)/,
    ],
    [
      'a value longer than MaxLength',
      'transactions.csv',
      (t: string) => t.replace(';Anna;', `;${'A'.repeat(51)};`),
      /BEDIENER_NAME is longer than 50/,
    ],
    [
      'a bare LF',
      'vat.csv',
      (t: string) => t.replace('Regelsteuersatz\r\n', 'Regelsteuersatz\n'),
      /bare LF|does not end in CRLF/,
    ],
    [
      'a quote in an unquoted field',
      'location.csv',
      (t: string) => t.replace('Filiale Mitte', 'Filiale "Mitte"'),
      /quote in an unquoted field/,
    ],
    [
      'a stray quote after a quoted field',
      'lines.csv',
      (t: string) => t.replace('"Kaffee; groß ""Spezial"""', '"Kaffee"x'),
      /text after a closing quote/,
    ],
    ['a missing column', 'payment.csv', (t: string) => t.replace(';card;3,00', ';3,00'), /has 5 fields, index.xml 6/],
    ['a header that differs', 'pa.csv', (t: string) => t.replace('AGENTUR_NAME', 'AGENTUR'), /header .* differs/],
    ['a file index.xml does not list', 'extra.csv', () => 'A\r\n', /extra.csv: not described in index.xml/],
    [
      'an index.xml the DTD refuses',
      'index.xml',
      (t: string) => t.replace('<UTF8/>', '<UTF8/><Foo/>'),
      /xmllint --dtdvalid refuses/,
    ],
    ['invalid UTF-8', 'slaves.csv', () => Buffer.from([0xc3, 0x28, 0x0d, 0x0a]), /not valid UTF-8/],
  ])('the checker refuses %s', (_, file, change, problem) => {
    const copy = join(work, `broken-${file}-${String(Math.random()).slice(2)}`);
    cpSync(dir, copy, { recursive: true });
    const path = join(copy, file);
    const before = file === 'extra.csv' ? '' : readFileSync(path, 'utf8');
    const after = change(before);
    expect(after).not.toBe(before);
    writeFileSync(path, after);
    expect(() => checkDsfinvkExport(copy)).toThrow(DsfinvkCheckError);
    expect(() => checkDsfinvkExport(copy)).toThrow(problem);
    rmSync(copy, { recursive: true });
  });

  it('leaves no temporary files behind', () => {
    expect(readdirSync(work).filter((name) => name.startsWith('dsfinvk-'))).toEqual([]);
  });
});
