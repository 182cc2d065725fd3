import { describe, expect, it } from 'vitest';
import {
  PROCESS_TYPE_KASSENBELEG,
  cashMovementProcess,
  formatAmount,
  kassenbelegProcessData,
  paymentKindFor,
  vatKeyFor,
  type CashMovementDirection,
  type CashMovementKind,
} from './process-data.js';

describe('vatKeyFor', () => {
  it.each([
    ['0.19', 'standard', 1],
    ['0.190', 'standard', 1],
    ['0.07', 'reduced', 2],
    ['0.107', 'parking', 3],
    ['0.055', 'super_reduced', 4],
    ['0', 'zero', 6],
    ['0.00', 'not_taxable', 5],
    ['0', 'exempt', 6],
    ['0.16', 'standard', 21],
    ['0.05', 'reduced', 22],
  ] as const)('maps %s (%s) to key %d', (rate, category, key) => {
    expect(vatKeyFor(rate, category)).toBe(key);
  });

  it('refuses rates without a key and non-zero rates for zero categories', () => {
    expect(() => vatKeyFor('0.2', 'standard')).toThrow(/No DSFinV-K VAT key/);
    expect(() => vatKeyFor('0.1905', 'standard')).toThrow(/No DSFinV-K VAT key/);
    expect(() => vatKeyFor('0.07', 'exempt')).toThrow(/rate 0/);
    expect(() => vatKeyFor('19', 'standard')).toThrow(/No DSFinV-K VAT key/);
    expect(() => vatKeyFor('.19', 'standard')).toThrow(/decimal fraction/);
  });
});

describe('formatAmount', () => {
  it.each([
    [1250, '12.50'],
    [-300, '-3.00'],
    [0, '0.00'],
    [5, '0.05'],
    [-5, '-0.05'],
    [123456789n, '1234567.89'],
    [-100000000000000000000n, '-1000000000000000000.00'],
  ])('%s → %s', (minor, text) => {
    expect(formatAmount(minor)).toBe(text);
  });

  it('refuses fractional minor units', () => {
    expect(() => formatAmount(12.5)).toThrow(/integer/);
  });
});

describe('kassenbelegProcessData', () => {
  it('writes the receipt of the BSI sample (regimes.md)', () => {
    expect(
      kassenbelegProcessData({
        vorgangstyp: 'Beleg',
        grossByVatKey: { 1: 1250n },
        payments: [{ amount: 1250, kind: 'Bar', currency: 'EUR' }],
      }),
    ).toBe('Beleg^12.50_0.00_0.00_0.00_0.00^12.50:Bar');
  });

  it('writes the real-export example with two rates (regimes.md)', () => {
    expect(
      kassenbelegProcessData({
        vorgangstyp: 'Beleg',
        grossByVatKey: new Map([
          [1, 32000n],
          [2, 12000n],
        ]),
        payments: [{ amount: 44000n, kind: 'Bar', currency: 'EUR' }],
      }),
    ).toBe('Beleg^320.00_120.00_0.00_0.00_0.00^440.00:Bar');
  });

  it('sums payments per kind and currency, cash first, EUR before other currencies, zero sums left out', () => {
    expect(
      kassenbelegProcessData({
        vorgangstyp: 'Beleg',
        grossByVatKey: { 1: 5000n, 2: 1070n },
        payments: [
          { amount: 2000, kind: 'Unbar', currency: 'EUR' },
          { amount: 1000, kind: 'Bar', currency: 'CHF' },
          { amount: 1070, kind: 'Unbar', currency: 'EUR' },
          { amount: 2500, kind: 'Bar', currency: 'EUR' },
          { amount: -500, kind: 'Bar', currency: 'EUR' },
          { amount: 700, kind: 'Unbar', currency: 'usd' },
          { amount: 300, kind: 'Bar', currency: 'USD' },
          { amount: -300, kind: 'Bar', currency: 'USD' },
          { amount: 4000, kind: 'Bar', currency: 'AUD' },
        ],
      }),
    ).toBe('Beleg^50.00_10.70_0.00_0.00_0.00^20.00:Bar_40.00:Bar:AUD_10.00:Bar:CHF_30.70:Unbar_7.00:Unbar:USD');
  });

  it('writes foreign amounts in their own minor unit, cut to two decimals', () => {
    expect(
      kassenbelegProcessData({
        vorgangstyp: 'Beleg',
        grossByVatKey: { 1: 1000n },
        payments: [
          { amount: 1650, kind: 'Bar', currency: 'JPY' },
          { amount: 1259, kind: 'Unbar', currency: 'KWD' },
        ],
      }),
    ).toBe('Beleg^10.00_0.00_0.00_0.00_0.00^1650.00:Bar:JPY_1.25:Unbar:KWD');
  });

  it('negates everything for the receipt that cancels a sale', () => {
    expect(
      kassenbelegProcessData({
        vorgangstyp: 'Beleg',
        grossByVatKey: { 1: -1250n, 2: -300n },
        payments: [
          { amount: -1000, kind: 'Bar', currency: 'EUR' },
          { amount: -550, kind: 'Unbar', currency: 'EUR' },
        ],
      }),
    ).toBe('Beleg^-12.50_-3.00_0.00_0.00_0.00^-10.00:Bar_-5.50:Unbar');
  });

  it('puts 0 %, not taxable and tax-free amounts in the fifth position, 16 %/5 % in the first two', () => {
    expect(
      kassenbelegProcessData({
        vorgangstyp: 'Beleg',
        grossByVatKey: { 3: 107n, 4: 55n, 5: 100n, 6: 200n, 7: 300n, 21: 116n, 22: 105n },
        payments: [{ amount: 983, kind: 'Unbar', currency: 'EUR' }],
      }),
    ).toBe('Beleg^1.16_1.05_1.07_0.55_6.00^9.83:Unbar');
  });

  it('writes an aborted receipt as Anhang I does: no amounts, empty payments', () => {
    expect(kassenbelegProcessData({ vorgangstyp: 'AVBelegabbruch', grossByVatKey: {}, payments: [] })).toBe(
      'AVBelegabbruch^0.00_0.00_0.00_0.00_0.00^',
    );
    expect(
      kassenbelegProcessData({ vorgangstyp: 'AVTransfer', grossByVatKey: { 1: 10000n, 6: -10000n }, payments: [] }),
    ).toBe('AVTransfer^100.00_0.00_0.00_0.00_-100.00^');
  });

  it('allows payments on AVTraining only among the AV types', () => {
    const payments = [{ amount: 990, kind: 'Bar', currency: 'EUR' }] as const;
    expect(kassenbelegProcessData({ vorgangstyp: 'AVTraining', grossByVatKey: { 2: 990n }, payments })).toBe(
      'AVTraining^0.00_9.90_0.00_0.00_0.00^9.90:Bar',
    );
    expect(() => kassenbelegProcessData({ vorgangstyp: 'AVBelegabbruch', grossByVatKey: {}, payments })).toThrow(
      /Keine/,
    );
    expect(() => kassenbelegProcessData({ vorgangstyp: 'AVBelegstorno', grossByVatKey: {}, payments })).toThrow(
      /Keine/,
    );
  });

  it('refuses invalid currency codes', () => {
    expect(() =>
      kassenbelegProcessData({
        vorgangstyp: 'Beleg',
        grossByVatKey: {},
        payments: [{ amount: 1, kind: 'Bar', currency: 'EURO' }],
      }),
    ).toThrow(/ISO 4217/);
  });
});

describe('paymentKindFor', () => {
  it('knows only cash and non-cash', () => {
    expect(paymentKindFor('cash')).toBe('Bar');
    for (const method of ['card', 'wallet', 'voucher', 'gift_card', 'online', 'other'] as const) {
      expect(paymentKindFor(method)).toBe('Unbar');
    }
  });
});

describe('cashMovementProcess', () => {
  it.each([
    ['opening_float', 'in', 'Anfangsbestand', 'Beleg^0.00_0.00_0.00_0.00_150.00^150.00:Bar'],
    ['pay_in', 'in', 'Einzahlung', 'Beleg^0.00_0.00_0.00_0.00_150.00^150.00:Bar'],
    ['pay_out', 'out', 'Auszahlung', 'Beleg^0.00_0.00_0.00_0.00_-150.00^-150.00:Bar'],
    ['drop', 'out', 'Geldtransit', 'Beleg^0.00_0.00_0.00_0.00_-150.00^-150.00:Bar'],
    ['tip_out', 'out', 'TrinkgeldAN', 'Beleg^0.00_0.00_0.00_0.00_-150.00^-150.00:Bar'],
    ['private_deposit', 'in', 'Privateinlage', 'Beleg^0.00_0.00_0.00_0.00_150.00^150.00:Bar'],
    ['private_withdrawal', 'out', 'Privatentnahme', 'Beleg^0.00_0.00_0.00_0.00_-150.00^-150.00:Bar'],
    ['transfer', 'in', 'Geldtransit', 'Beleg^0.00_0.00_0.00_0.00_150.00^150.00:Bar'],
    ['correction', 'out', 'DifferenzSollIst', 'Beleg^0.00_0.00_0.00_0.00_-150.00^-150.00:Bar'],
  ] as const)(
    'signs %s %s as %s',
    (kind: CashMovementKind, direction: CashMovementDirection, businessCase, processData) => {
      expect(cashMovementProcess(kind, direction, 15000, 'EUR')).toEqual({
        processType: PROCESS_TYPE_KASSENBELEG,
        processData,
        businessCase,
      });
    },
  );

  it('reproduces the Anhang I private deposit and withdrawal examples', () => {
    expect(cashMovementProcess('private_deposit', 'in', 10000n, 'EUR').processData).toBe(
      'Beleg^0.00_0.00_0.00_0.00_100.00^100.00:Bar',
    );
    expect(cashMovementProcess('private_withdrawal', 'out', 10000n, 'EUR').processData).toBe(
      'Beleg^0.00_0.00_0.00_0.00_-100.00^-100.00:Bar',
    );
  });

  it('needs the EUR value of a foreign-currency movement', () => {
    expect(cashMovementProcess('pay_in', 'in', 5000, 'CHF', 5200).processData).toBe(
      'Beleg^0.00_0.00_0.00_0.00_52.00^50.00:Bar:CHF',
    );
    expect(() => cashMovementProcess('pay_in', 'in', 5000, 'CHF')).toThrow(/EUR value/);
  });

  it('refuses movements against their kind’s direction and non-positive amounts', () => {
    expect(() => cashMovementProcess('pay_in', 'out', 100, 'EUR')).toThrow(/goes in/);
    expect(() => cashMovementProcess('private_withdrawal', 'in', 100, 'EUR')).toThrow(/goes out/);
    expect(() => cashMovementProcess('drop', 'out', 0, 'EUR')).toThrow(/positive/);
    expect(() => cashMovementProcess('drop', 'out', -5, 'EUR')).toThrow(/positive/);
  });
});
