import { describe, expect, it } from 'vitest';
import type { Cell } from './csv.js';
import {
  ClosingRecords,
  dsfinvkVatKey,
  zahlartTyp,
  type ClosingInput,
  type LineItemInput,
  type ReceiptInput,
  type RowSink,
} from './records.js';
import type { DsfinvkFile } from './tables.js';

class Collect implements RowSink {
  readonly keys: Array<[string, string, bigint]> = [];
  readonly rows = new Map<DsfinvkFile, Cell[][]>();
  key(kasseId: string, erstellung: string, zNumber: bigint): void {
    this.keys.push([kasseId, erstellung, zNumber]);
  }
  row(file: DsfinvkFile, cells: readonly Cell[]): void {
    const rows = this.rows.get(file) ?? [];
    rows.push([...cells]);
    this.rows.set(file, rows);
  }
  of(file: DsfinvkFile): Cell[][] {
    return this.rows.get(file) ?? [];
  }
}

const closing = (overrides: Partial<ClosingInput> = {}): ClosingInput => ({
  kasseId: 'KASSE-1',
  zNumber: 3n,
  closedAt: '2026-07-01T21:00:00.000Z',
  timeZone: 'Europe/Berlin',
  currency: 'EUR',
  company: {
    name: 'Bäckerei GmbH',
    address: { street: 'Hauptstr. 1', postalCode: '10115', city: 'Berlin', country: 'DE' },
    taxNumber: '2181508150',
    vatId: 'DE123456789',
  },
  location: { name: 'Filiale Mitte', address: null, vatId: 'DE123456789' },
  register: {
    serialNumber: 'KASSE-1',
    brand: 'OpenFiskal',
    model: 'OpenFiskal Server',
    softwareBrand: 'OpenFiskal',
    softwareVersion: '1.0.0',
  },
  tses: [],
  ...overrides,
});

const line = (
  description: string,
  quantity: number,
  unit: number,
  rate: string,
  extra: Partial<LineItemInput> = {},
) => {
  const subtotal = Math.round(quantity * unit);
  return {
    description,
    quantity,
    unit: 'piece',
    unit_price_gross: unit,
    tax: { rate, category: rate === '0.19' ? 'standard' : 'reduced' },
    product_ref: null,
    flags: [],
    line_discounts: [],
    cart_discount_allocations: [],
    subtotal_gross: subtotal,
    total_gross: subtotal,
    ...extra,
  } satisfies LineItemInput;
};

const receipt = (overrides: Partial<ReceiptInput> & Pick<ReceiptInput, 'id' | 'data'>): ReceiptInput => ({
  type: 'sale',
  state: 'completed',
  sequenceNumber: 1n,
  startedAt: '2026-07-01T08:00:00.000Z',
  endedAt: '2026-07-01T08:01:00.000Z',
  cashier: null,
  reason: null,
  fiscal: null,
  original: null,
  ...overrides,
});

describe('dsfinvkVatKey', () => {
  it.each([
    ['0.19', 'standard', '2026-03-01', 1],
    ['0.190', 'standard', '2026-03-01', 1],
    ['0.07', 'reduced', '2026-03-01', 2],
    ['0', 'not_taxable', '2026-03-01', 5],
    ['0', 'exempt', '2026-03-01', 6],
    ['0', 'zero', '2026-03-01', 6],
    ['0.16', 'standard', '2020-08-01', 1],
    ['0.05', 'reduced', '2020-12-31', 2],
    ['0.19', 'standard', '2020-07-01', 11],
    ['0.07', 'reduced', '2020-10-01', 12],
    ['0.16', 'standard', '2021-01-01', 21],
    ['0.05', 'reduced', '2026-03-01', 22],
  ])('%s %s on %s → %d', (rate, category, day, key) => {
    expect(dsfinvkVatKey(rate, category, day)).toBe(key);
  });

  it.each([
    ['0.20', 'standard'],
    ['0.07', 'standard'],
    ['0.1', 'parking'],
    ['0.19', 'exempt'],
  ])('refuses %s %s', (rate, category) => {
    expect(() => dsfinvkVatKey(rate, category, '2026-03-01')).toThrow(/No DSFinV-K VAT key/);
  });
});

describe('zahlartTyp', () => {
  it.each([
    ['cash', undefined, 'Bar'],
    ['card', { scheme: 'girocard' }, 'ECKarte'],
    ['card', { scheme: 'Maestro' }, 'ECKarte'],
    ['card', { scheme: 'visa' }, 'Unbar'],
    ['card', undefined, 'Unbar'],
    ['wallet', undefined, 'ElZahlungsdienstleister'],
    ['online', undefined, 'ElZahlungsdienstleister'],
    ['gift_card', undefined, 'Guthabenkarte'],
    ['voucher', undefined, 'Unbar'],
    ['other', undefined, 'Unbar'],
  ])('%s %j → %s', (method, card, typ) => {
    expect(zahlartTyp(method, card)).toBe(typ);
  });
});

describe('ClosingRecords', () => {
  it('writes times in the location time zone and log times in UTC', () => {
    const sink = new Collect();
    const records = new ClosingRecords(
      closing({
        closedAt: '2026-01-15T22:30:00.000Z',
        tses: [
          {
            fiscalUnitId: 'fu_1',
            serial: 'ab'.repeat(32),
            signatureAlgorithm: 'ecdsa-plain-SHA256',
            timeFormat: 'unixTime',
            publicKey: 'BPub',
            certificate: 'C'.repeat(2500),
          },
        ],
      }),
      sink,
    );
    expect(sink.keys).toEqual([['KASSE-1', '2026-01-15T23:30:00+01:00', 3n]]);
    records.addReceipt(
      receipt({
        id: 'op_1',
        startedAt: '2026-06-30T22:30:00.000Z',
        endedAt: '2026-06-30T22:31:05.123Z',
        data: { line_items: [], totals: { total_gross: 0, tax_breakdown: [] } },
        fiscal: {
          fiscal_unit_id: 'fu_1',
          transaction_number: 9,
          start_event: {
            signed_at: '2026-06-30T22:30:00.000Z',
            transaction_counter: 20,
            signature: 's',
            process_type: 'Kassenbeleg-V1',
            process_data: '',
          },
          end_event: {
            signed_at: '2026-06-30T22:31:05.000Z',
            transaction_counter: 21,
            signature: 'SIG',
            process_type: 'Kassenbeleg-V1',
            process_data: 'Beleg^0.00_0.00_0.00_0.00_0.00^',
          },
        },
      }),
    );
    records.finish();
    const [header] = sink.of('transactions.csv');
    expect(header?.slice(6, 8)).toEqual(['2026-07-01T00:30:00+02:00', '2026-07-01T00:31:05+02:00']);
    expect(sink.of('transactions_tse.csv')).toEqual([
      [
        'op_1',
        1,
        9,
        '2026-06-30T22:30:00.000Z',
        '2026-06-30T22:31:05.000Z',
        'Kassenbeleg-V1',
        21,
        'SIG',
        '',
        'Beleg^0.00_0.00_0.00_0.00_0.00^',
      ],
    ]);
    expect(sink.of('cashpointclosing.csv')[0]?.slice(0, 4)).toEqual(['2026-01-15', '2.4', 'op_1', 'op_1']);
    const [tse] = sink.of('tse.csv');
    expect(tse?.slice(0, 6)).toEqual([1, 'ab'.repeat(32), 'ecdsa-plain-SHA256', 'unixTime', 'UTF-8', 'BPub']);
    expect(tse?.slice(6).map((part) => String(part).length)).toEqual([1000, 1000, 500, 0, 0, 0, 0]);
  });

  it('shares a receipt’s tax over its lines exactly and explains discounts', () => {
    const sink = new Collect();
    const records = new ClosingRecords(closing(), sink);
    // Three lines of 0.10 at 19 %: each alone would round to 0.02 tax, the receipt has 0.05.
    const lines = [
      line('A', 1, 10, '0.19'),
      line('B', 1, 10, '0.19'),
      line('C', 2, 10, '0.19', {
        line_discounts: [{ amount: 5 }],
        cart_discount_allocations: [{ amount: 5 }],
        total_gross: 10,
      }),
    ];
    records.addReceipt(
      receipt({
        id: 'op_1',
        data: {
          line_items: lines,
          totals: {
            total_gross: 30,
            tax_breakdown: [{ rate: '0.19', category: 'standard', gross: 30, taxable_amount: 25, tax_amount: 5 }],
          },
          payments: [{ method: 'cash', direction: 'inbound', amount: 30, currency: 'EUR' }],
        },
      }),
    );
    records.finish();
    const lineTax = sink.of('lines_vat.csv').map((row) => row[5]);
    expect(lineTax).toEqual([2, 1, 2]);
    expect(sink.of('transactions_vat.csv')).toEqual([['op_1', 1, 30, 25, 5]]);
    expect(sink.of('itemamounts.csv')).toEqual([
      ['op_1', '3', 'base_amount', 1, 20, 17, 3],
      ['op_1', '3', 'discount', 1, -5, -4, -1],
      ['op_1', '3', 'discount', 1, -5, -4, -1],
    ]);
    expect(sink.of('businesscases.csv')).toEqual([['Umsatz', '', 0, 1, 30, 25, 5]]);
  });

  it('runs an exchange’s returned lines against its new ones and references the original', () => {
    const sink = new Collect();
    const records = new ClosingRecords(closing(), sink);
    records.addReceipt(
      receipt({
        id: 'op_x',
        type: 'exchange',
        data: {
          line_items: [line('Neu', 1, 500, '0.19')],
          returned_line_items: [line('Pfand', 1, 25, '0.19', { flags: ['deposit'] }), line('Alt', 1, 300, '0.19')],
          totals: {
            total_gross: 175,
            tax_breakdown: [{ rate: '0.19', category: 'standard', gross: 175, taxable_amount: 147, tax_amount: 28 }],
          },
          payments: [{ method: 'card', direction: 'inbound', amount: 175, currency: 'EUR' }],
        },
        original: {
          operationId: 'op_o',
          kasseId: 'KASSE-2',
          zNumber: 2n,
          closedAt: '2026-06-30T20:00:00.000Z',
          timeZone: 'Europe/London',
        },
      }),
    );
    records.finish();
    expect(sink.of('lines.csv').map((row) => [row[1], row[5], row[14], row[17]])).toEqual([
      ['1', 'Umsatz', 1000, 500],
      ['2', 'PfandRueckzahlung', -1000, 25],
      ['3', 'Umsatz', -1000, 300],
    ]);
    expect(sink.of('lines_vat.csv').map((row) => row[3])).toEqual([500, -25, -300]);
    expect(sink.of('references.csv')).toEqual([
      ['op_x', '', 'Transaktion', '', '2026-06-30T21:00:00+01:00', 'KASSE-2', 2n, 'op_o'],
    ]);
    expect(sink.of('transactions.csv')[0]?.[2]).toBe('Beleg');
  });

  it('records a cash movement as a non-taxable cash receipt of its business case', () => {
    const sink = new Collect();
    const records = new ClosingRecords(closing(), sink);
    records.addReceipt(
      receipt({
        id: 'op_c',
        type: 'cash_movement',
        reason: 'Wechselgeld',
        data: { currency: 'EUR', kind: 'opening_float', direction: 'in', amount: 15000 },
      }),
    );
    records.addReceipt(
      receipt({
        id: 'op_d',
        type: 'cash_movement',
        data: { currency: 'EUR', kind: 'private_withdrawal', direction: 'out', amount: 2000 },
      }),
    );
    records.finish();
    expect(sink.of('lines.csv').map((row) => [row[0], row[3], row[5], row[6], row[14]])).toEqual([
      ['op_c', 'Anfangsbestand', 'Anfangsbestand', 'opening_float', 1000],
      ['op_d', 'Privatentnahme', 'Privatentnahme', 'private_withdrawal', -1000],
    ]);
    expect(sink.of('datapayment.csv')).toEqual([
      ['op_c', 'Bar', 'cash', 'EUR', null, 15000],
      ['op_d', 'Bar', 'cash', 'EUR', null, -2000],
    ]);
    expect(sink.of('transactions.csv').map((row) => [row[2], row[10], row[19]])).toEqual([
      ['Beleg', 15000, 'Wechselgeld'],
      ['Beleg', -2000, ''],
    ]);
    expect(sink.of('vat.csv')).toEqual([[5, 0, 'Nicht Steuerbar']]);
    expect(sink.of('cash_per_currency.csv')).toEqual([['EUR', 13000]]);
    expect(sink.of('cashpointclosing.csv')[0]?.slice(-2)).toEqual([13000, 13000]);
  });

  it('names the operation when a value does not fit', () => {
    const records = new ClosingRecords(closing(), new Collect());
    expect(() =>
      records.addReceipt(
        receipt({
          id: 'op_bad',
          data: {
            line_items: [line('A', 1, 100, '0.20')],
            totals: { total_gross: 100, tax_breakdown: [] },
          },
        }),
      ),
    ).toThrow(/op_bad: No DSFinV-K VAT key for the reduced rate 0.20/);
  });
});
