import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { TaxCategory } from '../../regimes/tax-rates.js';
import {
  computeTotals,
  type DiscountInput,
  type LineItemInput,
  type PaymentInput,
  type PricedLineItem,
  priceLineItems,
  priceRefundLines,
  PricingError,
  refundLineAmount,
  settlePayments,
} from './pricing.js';

// Deterministic ids, so examples can be compared structurally.
function idSource(): (prefix: string) => string {
  let next = 0;
  return (prefix) => `${prefix}_${String(++next)}`;
}

function line(
  description: string,
  quantity: number,
  unitPrice: number,
  rate = '0.19',
  extra: Partial<LineItemInput> = {},
): LineItemInput {
  const category: TaxCategory = rate === '0' ? 'zero' : rate.startsWith('0.19') ? 'standard' : 'reduced';
  return { description, quantity, unit_price_gross: unitPrice, tax: { rate, category }, ...extra };
}

function price(lines: LineItemInput[], cartDiscounts: DiscountInput[] = []) {
  return priceLineItems(lines, cartDiscounts, idSource());
}

function saleTotals(lines: PricedLineItem[]) {
  return computeTotals([{ lines, sign: 1 }], 1);
}

function pricingError(fn: () => unknown): PricingError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PricingError) return error;
    throw error;
  }
  throw new Error('expected a PricingError');
}

describe(priceLineItems.name, () => {
  it('prices the documented example: Happy Hour line discount and a SAVE10 coupon allocation', () => {
    const { lineItems, cartDiscounts } = price(
      [
        line('Wiener Schnitzel', 2, 1800, '0.19', {
          line_discounts: [{ type: 'percentage', rate: '0.10', label: 'Happy Hour', source: 'manual' }],
        }),
        line('Tafelspitz', 1, 3240),
      ],
      [
        { type: 'amount', amount: 324, label: 'SAVE10 coupon' },
        { type: 'percentage', rate: '0.05', label: 'Regulars' },
      ],
    );
    const [schnitzel, tafelspitz] = lineItems;
    expect(schnitzel).toMatchObject({
      id: 'li_1',
      position: 1,
      unit: 'piece',
      subtotal_gross: 3600,
      line_discounts: [
        { id: 'ldsc_2', type: 'percentage', rate: '0.10', amount: 360, label: 'Happy Hour', source: 'manual' },
      ],
      line_discount_amount: 360,
      subtotal_after_line_discounts: 3240,
      cart_discount_allocations: [
        { discount_id: 'cdsc_4', amount: 162, label: 'SAVE10 coupon' },
        { discount_id: 'cdsc_5', amount: 162, label: 'Regulars' },
      ],
      cart_discount_amount: 324,
      total_gross: 2916,
      tax: { rate: '0.19', category: 'standard' },
      product_ref: null,
      flags: [],
    });
    expect(tafelspitz).toMatchObject({ position: 2, subtotal_after_line_discounts: 3240, total_gross: 2916 });
    expect(cartDiscounts).toEqual([
      { id: 'cdsc_4', type: 'amount', rate: null, amount: 324, label: 'SAVE10 coupon' },
      { id: 'cdsc_5', type: 'percentage', rate: '0.05', amount: 324, label: 'Regulars' },
    ]);

    const totals = saleTotals(lineItems);
    expect(totals).toMatchObject({
      subtotal_gross: 6840,
      total_line_discounts: 360,
      subtotal_after_line_discounts: 6480,
      total_cart_discounts: 648,
      subtotal_after_all_discounts: 5832,
      rounding_adjustment: 0,
      total_gross: 5832,
      net_payable: 5832,
    });
  });

  it('prices the documented receipt: 4300 gross, 687 tax, 3613 net', () => {
    const { lineItems } = price([
      line('Wiener Schnitzel', 1, 1850),
      line('Berliner Weisse', 2, 650),
      line('Espresso', 2, 350),
      line('Mineralwasser', 1, 450),
    ]);
    expect(lineItems.map((l) => l.total_gross)).toEqual([1850, 1300, 700, 450]);
    expect(saleTotals(lineItems)).toEqual({
      subtotal_gross: 4300,
      total_line_discounts: 0,
      subtotal_after_line_discounts: 4300,
      total_cart_discounts: 0,
      subtotal_after_all_discounts: 4300,
      rounding_adjustment: 0,
      total_gross: 4300,
      total_net: 3613,
      total_tax: 687,
      net_payable: 4300,
      tax_breakdown: [{ rate: '0.19', category: 'standard', taxable_amount: 3613, tax_amount: 687, gross: 4300 }],
    });
  });

  it('splits a cart discount of 100 over three equal lines as 34/33/33', () => {
    const { lineItems } = price(
      [line('A', 1, 1000), line('B', 1, 1000), line('C', 1, 1000)],
      [{ type: 'amount', amount: 100 }],
    );
    expect(lineItems.map((l) => l.cart_discount_amount)).toEqual([34, 33, 33]);
    expect(lineItems.map((l) => l.total_gross)).toEqual([966, 967, 967]);
  });

  it('multiplies fractional quantities exactly and rounds half away from zero', () => {
    const { lineItems } = price([line('Cheese', 1.005, 1000), line('Ham', 0.125, 1), line('Nuts', 2.675, 200)]);
    // 1.005 × 1000 = 1005 exactly; 0.125 × 1 = 0.125 → 0; 2.675 × 200 = 535.
    expect(lineItems.map((l) => l.subtotal_gross)).toEqual([1005, 0, 535]);
    const [half] = price([line('Half', 0.5, 1)]).lineItems;
    expect(half?.subtotal_gross).toBe(1);
  });

  it('takes every percentage line discount of the undiscounted subtotal and rounds it half up', () => {
    const [item] = price([
      line('X', 1, 5, '0.19', {
        line_discounts: [
          { type: 'percentage', rate: '0.10' },
          { type: 'percentage', rate: '0.1' },
        ],
      }),
    ]).lineItems;
    // 10 % of 5 = 0.5 → 1, twice.
    expect(item?.line_discounts.map((d) => d.amount)).toEqual([1, 1]);
    expect(item?.line_discount_amount).toBe(2);
    expect(item?.total_gross).toBe(3);
  });

  it('keeps every line non-negative under several cart discounts', () => {
    const { lineItems } = price(
      [line('Small', 1, 1), line('Large', 1, 99)],
      [
        { type: 'amount', amount: 50 },
        { type: 'amount', amount: 50 },
      ],
    );
    expect(lineItems.map((l) => l.total_gross)).toEqual([0, 0]);
    expect(lineItems.map((l) => l.cart_discount_amount)).toEqual([1, 99]);
  });

  it('omits zero allocations and copies optional fields', () => {
    const { lineItems } = price(
      [line('Free', 1, 0, '0.19', { unit: 'kg', product_ref: 'sku-1', flags: ['deposit'] }), line('Paid', 1, 100)],
      [{ type: 'amount', amount: 10 }],
    );
    expect(lineItems[0]).toMatchObject({ unit: 'kg', product_ref: 'sku-1', flags: ['deposit'] });
    expect(lineItems[0]?.cart_discount_allocations).toEqual([]);
    expect(lineItems[1]?.cart_discount_allocations).toEqual([{ discount_id: 'cdsc_3', amount: 10, label: null }]);
  });

  it('writes rates in canonical form', () => {
    const [item] = price([
      line('X', 1, 100, '0.190', { line_discounts: [{ type: 'percentage', rate: '0.1' }] }),
    ]).lineItems;
    expect(item?.tax.rate).toBe('0.19');
    expect(item?.line_discounts[0]?.rate).toBe('0.10');
  });

  it('prices an empty cart', () => {
    expect(price([], [{ type: 'percentage', rate: '0.10' }])).toEqual({
      lineItems: [],
      cartDiscounts: [{ id: 'cdsc_1', type: 'percentage', rate: '0.10', amount: 0, label: null }],
    });
  });

  it.each<[string, LineItemInput[], DiscountInput[], string]>([
    ['a negative quantity', [line('X', -1, 100)], [], 'line_items[0].quantity'],
    ['a zero quantity', [line('X', 0, 100)], [], 'line_items[0].quantity'],
    ['a quantity with 4 decimals', [line('X', 1.0001, 100)], [], 'line_items[0].quantity'],
    ['float noise in a quantity', [line('X', 0.1 + 0.2, 100)], [], 'line_items[0].quantity'],
    ['a negative price', [line('A', 1, 1), line('X', 1, -100)], [], 'line_items[1].unit_price_gross'],
    ['a fractional price', [line('X', 1, 1.5)], [], 'line_items[0].unit_price_gross'],
    ['a percentage tax rate', [line('X', 1, 100, '19')], [], 'line_items[0].tax.rate'],
    [
      'an unknown tax category',
      [{ ...line('X', 1, 100), tax: { rate: '0.19', category: 'luxury' as TaxCategory } }],
      [],
      'line_items[0].tax.category',
    ],
    [
      'a percentage discount with an amount',
      [line('X', 1, 100, '0.19', { line_discounts: [{ type: 'percentage', rate: '0.1', amount: 10 }] })],
      [],
      'line_items[0].line_discounts[0].amount',
    ],
    [
      'a percentage discount without a rate',
      [line('X', 1, 100, '0.19', { line_discounts: [{ type: 'percentage' }] })],
      [],
      'line_items[0].line_discounts[0].rate',
    ],
    [
      'an amount discount with a rate',
      [line('X', 1, 100, '0.19', { line_discounts: [{ type: 'amount', amount: 10, rate: '0.1' }] })],
      [],
      'line_items[0].line_discounts[0].rate',
    ],
    [
      'an amount discount without an amount',
      [line('X', 1, 100, '0.19', { line_discounts: [{ type: 'amount' }] })],
      [],
      'line_items[0].line_discounts[0].amount',
    ],
    [
      'a negative discount',
      [line('X', 1, 100, '0.19', { line_discounts: [{ type: 'amount', amount: -1 }] })],
      [],
      'line_items[0].line_discounts[0].amount',
    ],
    [
      'line discounts beyond the line',
      [
        line('X', 1, 100, '0.19', {
          line_discounts: [
            { type: 'amount', amount: 60 },
            { type: 'percentage', rate: '0.5' },
          ],
        }),
      ],
      [],
      'line_items[0].line_discounts[1].rate',
    ],
    [
      'cart discounts beyond the cart',
      [line('X', 1, 100)],
      [
        { type: 'percentage', rate: '0.5' },
        { type: 'amount', amount: 51 },
      ],
      'cart_discounts[1].amount',
    ],
    [
      'a cart discount rate above 1',
      [line('X', 1, 100)],
      [{ type: 'percentage', rate: '1.5' }],
      'cart_discounts[0].rate',
    ],
    ['a line beyond safe integers', [line('X', 2, Number.MAX_SAFE_INTEGER)], [], 'line_items[0].unit_price_gross'],
    ['a cart beyond safe integers', [line('X', 1, Number.MAX_SAFE_INTEGER), line('Y', 1, 1)], [], 'line_items'],
  ])('refuses %s', (_, lines, cartDiscounts, param) => {
    const error = pricingError(() => price(lines, cartDiscounts));
    expect(error.param).toBe(param);
    expect(error.code).toBe('validation_error');
  });
});

describe(computeTotals.name, () => {
  const { lineItems } = price([
    line('Beer', 2, 650, '0.19'),
    line('Bread', 1, 321, '0.07'),
    line('Export', 1, 500, '0'),
    { ...line('Stamp', 1, 100), tax: { rate: '0', category: 'exempt' } },
    line('Wine', 1, 999, '0.190'),
  ]);

  it('extracts tax per rate group and sorts by rate, then category', () => {
    const totals = saleTotals(lineItems);
    expect(totals.tax_breakdown).toEqual([
      // 2299 × 0.19 / 1.19 = 367.07 → 367
      { rate: '0.19', category: 'standard', taxable_amount: 1932, tax_amount: 367, gross: 2299 },
      // 321 × 0.07 / 1.07 = 21
      { rate: '0.07', category: 'reduced', taxable_amount: 300, tax_amount: 21, gross: 321 },
      { rate: '0.00', category: 'zero', taxable_amount: 500, tax_amount: 0, gross: 500 },
      { rate: '0.00', category: 'exempt', taxable_amount: 100, tax_amount: 0, gross: 100 },
    ]);
    expect(totals).toMatchObject({ total_gross: 3220, total_tax: 388, total_net: 2832, net_payable: 3220 });
  });

  it('keeps refund totals positive with a negative net payable', () => {
    const sale = saleTotals(lineItems);
    const refund = computeTotals([{ lines: lineItems, sign: 1 }], -1);
    expect(refund).toEqual({ ...sale, net_payable: -sale.total_gross });
  });

  it('negates returned lines exactly, tax included', () => {
    const returned = computeTotals([{ lines: lineItems, sign: -1 }], 1);
    const sale = saleTotals(lineItems);
    expect(returned.total_gross).toBe(-sale.total_gross);
    expect(returned.total_tax).toBe(-sale.total_tax);
    expect(returned.tax_breakdown.map((e, i) => e.tax_amount + (sale.tax_breakdown[i]?.tax_amount ?? NaN))).toEqual(
      sale.tax_breakdown.map(() => 0),
    );
  });

  it('nets an exchange of the same goods to zero', () => {
    const totals = computeTotals(
      [
        { lines: lineItems, sign: 1 },
        { lines: lineItems, sign: -1 },
      ],
      1,
    );
    expect(totals).toMatchObject({ total_gross: 0, total_tax: 0, total_net: 0, net_payable: 0 });
    expect(totals.tax_breakdown.every((e) => e.gross === 0 && e.tax_amount === 0)).toBe(true);
  });

  it('settles an exchange in either direction', () => {
    const newLines = price([line('Bigger size', 1, 2500)]).lineItems;
    const returned = price([line('Small size', 1, 2000)]).lineItems;
    const totals = computeTotals(
      [
        { lines: newLines, sign: 1 },
        { lines: returned, sign: -1 },
      ],
      1,
    );
    // One group with a net gross of 500: 500 × 0.19 / 1.19 = 79.8 → 80.
    expect(totals).toMatchObject({ total_gross: 500, total_tax: 80, total_net: 420, net_payable: 500 });
    const back = computeTotals(
      [
        { lines: returned, sign: 1 },
        { lines: newLines, sign: -1 },
      ],
      1,
    );
    expect(back).toMatchObject({ total_gross: -500, total_tax: -80, total_net: -420, net_payable: -500 });
  });

  it('gives zeros for no lines', () => {
    expect(saleTotals([])).toMatchObject({ total_gross: 0, total_tax: 0, tax_breakdown: [] });
  });
});

describe(refundLineAmount.name, () => {
  it('refunds pieces so that they sum exactly to what was paid', () => {
    const original = { total_gross: 1000, quantity: 3 };
    expect([0, 1, 2].map((r) => refundLineAmount(original, r, 1))).toEqual([333, 334, 333]);
    expect(refundLineAmount(original, 0, 3)).toBe(1000);
    expect(refundLineAmount(original, 1, 2)).toBe(667);
  });

  it('refunds a discounted line at the discounted price', () => {
    expect(refundLineAmount({ total_gross: 2916, quantity: 2 }, 0, 1)).toBe(1458);
  });

  it('handles fractional quantities and float noise in the sum already refunded', () => {
    const original = { total_gross: 999, quantity: 1.5 };
    expect(refundLineAmount(original, 0.1 + 0.2, 0.7)).toBe(466);
  });

  it('refuses to refund more than is left', () => {
    const error = pricingError(() => refundLineAmount({ total_gross: 1000, quantity: 3 }, 2, 1.5));
    expect(error).toMatchObject({ code: 'refund_exceeds_original', param: 'quantity' });
    expect(pricingError(() => refundLineAmount({ total_gross: 1000, quantity: 3 }, 0, 0)).code).toBe(
      'validation_error',
    );
  });
});

describe(priceRefundLines.name, () => {
  const { lineItems } = price(
    [
      line('Wiener Schnitzel', 2, 1800, '0.19', {
        line_discounts: [{ type: 'percentage', rate: '0.10', label: 'Happy Hour' }],
        product_ref: 'ws',
      }),
      line('Tafelspitz', 1, 3240, '0.07'),
    ],
    [{ type: 'amount', amount: 324, label: 'SAVE10 coupon' }],
  );
  const [schnitzel, tafelspitz] = lineItems as [PricedLineItem, PricedLineItem];

  it('refunds at the price actually paid, without discounts of its own', () => {
    const [refund] = priceRefundLines([{ original: schnitzel, quantity: 1, alreadyRefundedQuantity: 0 }], idSource());
    expect(refund).toEqual({
      id: 'li_1',
      position: 1,
      description: 'Wiener Schnitzel',
      quantity: 1,
      unit: 'piece',
      unit_price_gross: 1539,
      tax: { rate: '0.19', category: 'standard' },
      product_ref: 'ws',
      flags: [],
      line_discounts: [],
      subtotal_gross: 1539,
      line_discount_amount: 0,
      subtotal_after_line_discounts: 1539,
      cart_discount_allocations: [],
      cart_discount_amount: 0,
      total_gross: 1539,
      original_line_item_id: schnitzel.id,
    });
  });

  it('refunds a whole sale to exactly its totals', () => {
    const refunds = priceRefundLines(
      lineItems.map((original) => ({ original, quantity: original.quantity, alreadyRefundedQuantity: 0 })),
      idSource(),
    );
    const refundTotals = computeTotals([{ lines: refunds, sign: 1 }], -1);
    const saleTotalsValue = saleTotals(lineItems);
    expect(refundTotals.total_gross).toBe(saleTotalsValue.total_gross);
    expect(refundTotals.total_tax).toBe(saleTotalsValue.total_tax);
    expect(refundTotals.net_payable).toBe(-saleTotalsValue.total_gross);
  });

  it('counts earlier entries for the same line as already refunded', () => {
    const refunds = priceRefundLines(
      [
        { original: schnitzel, quantity: 1, alreadyRefundedQuantity: 0 },
        { original: tafelspitz, quantity: 1, alreadyRefundedQuantity: 0 },
        { original: schnitzel, quantity: 1, alreadyRefundedQuantity: 0 },
      ],
      idSource(),
    );
    expect(refunds.map((r) => r.total_gross)).toEqual([1539, 3078, 1539]);
    const error = pricingError(() =>
      priceRefundLines(
        [
          { original: schnitzel, quantity: 1, alreadyRefundedQuantity: 0.5 },
          { original: schnitzel, quantity: 1, alreadyRefundedQuantity: 0.5 },
        ],
        idSource(),
        'returned_line_items',
      ),
    );
    expect(error).toMatchObject({ code: 'refund_exceeds_original', param: 'returned_line_items[1].quantity' });
  });

  it('refuses invalid quantities with the request path', () => {
    const error = pricingError(() =>
      priceRefundLines([{ original: schnitzel, quantity: 0.0001, alreadyRefundedQuantity: 0 }], idSource()),
    );
    expect(error).toMatchObject({ code: 'validation_error', param: 'line_items[0].quantity' });
  });
});

describe(settlePayments.name, () => {
  const cash = (direction: 'inbound' | 'outbound', amount: number, tendered?: number): PaymentInput => ({
    method: 'cash',
    direction,
    amount,
    ...(tendered === undefined ? {} : { cash: { amount_tendered: tendered } }),
  });

  it('accepts cash with change given as an outbound cash payment', () => {
    const payments = settlePayments([cash('inbound', 5000, 5000), cash('outbound', 750)], 4250, 'EUR', idSource());
    expect(payments).toEqual([
      {
        id: 'pay_1',
        method: 'cash',
        direction: 'inbound',
        amount: 5000,
        cash: { amount_tendered: 5000 },
        currency: 'EUR',
      },
      { id: 'pay_2', method: 'cash', direction: 'outbound', amount: 750, currency: 'EUR' },
    ]);
  });

  it('refuses payments that do not add up', () => {
    const error = pricingError(() => settlePayments([cash('inbound', 5000, 5000)], 4250, 'EUR', idSource()));
    expect(error).toMatchObject({ code: 'payment_total_mismatch', param: 'payments' });
  });

  it('settles a refund with outbound payments against the negative total', () => {
    const refund = settlePayments(
      [{ method: 'card', direction: 'outbound', amount: 4300, card: { scheme: 'visa', last4: '4242' } }],
      -4300,
      'EUR',
      idSource(),
    );
    expect(refund[0]).toMatchObject({ id: 'pay_1', currency: 'EUR', card: { scheme: 'visa', last4: '4242' } });
  });

  it('accepts no payments for nothing due', () => {
    expect(settlePayments([], 0, 'NOK', idSource())).toEqual([]);
  });

  it('refuses another currency than the register’s', () => {
    const error = pricingError(() =>
      settlePayments([{ method: 'card', direction: 'inbound', amount: 100, currency: 'USD' }], 100, 'EUR', idSource()),
    );
    expect(error).toMatchObject({ code: 'currency_mismatch', param: 'payments[0].currency' });
  });

  it.each<[string, PaymentInput, string]>([
    ['a zero amount', { method: 'card', direction: 'inbound', amount: 0 }, 'payments[0].amount'],
    ['a negative amount', { method: 'card', direction: 'inbound', amount: -100 }, 'payments[0].amount'],
    ['a fractional amount', { method: 'card', direction: 'inbound', amount: 99.5 }, 'payments[0].amount'],
    [
      'card details on a cash payment',
      { method: 'cash', direction: 'inbound', amount: 100, card: { last4: '4242' } },
      'payments[0].card',
    ],
    [
      'cash details on a card payment',
      { method: 'card', direction: 'inbound', amount: 100, cash: { amount_tendered: 100 } },
      'payments[0].cash',
    ],
    ['less cash tendered than paid', cash('inbound', 100, 50), 'payments[0].cash.amount_tendered'],
    ['cash tendered on change given', cash('outbound', 100, 100), 'payments[0].cash'],
  ])('refuses %s', (_, payment, param) => {
    const error = pricingError(() => settlePayments([payment], 100, 'EUR', idSource()));
    expect(error).toMatchObject({ code: 'validation_error', param });
  });
});

describe('properties', () => {
  const rates: ReadonlyArray<[string, TaxCategory]> = [
    ['0.19', 'standard'],
    ['0.07', 'reduced'],
    ['0.055', 'reduced'],
    ['0.1111', 'reduced'],
    ['0.25', 'standard'],
    ['0', 'zero'],
  ];
  const lineArbitrary = fc.record({
    thousandths: fc.integer({ min: 1, max: 50_000 }),
    price: fc.integer({ min: 0, max: 200_000 }),
    tax: fc.constantFrom(...rates),
    discount: fc.option(fc.constantFrom('0.1', '0.05', '0.333', '1'), { nil: undefined }),
  });
  const cartArbitrary = fc.array(
    fc.oneof(
      fc.constantFrom('0.1', '0.05', '0.2').map((rate): DiscountInput => ({ type: 'percentage', rate })),
      fc.integer({ min: 0, max: 5000 }).map((amount): DiscountInput => ({ type: 'amount', amount })),
    ),
    { maxLength: 3 },
  );

  function toInput(l: {
    thousandths: number;
    price: number;
    tax: [string, TaxCategory];
    discount: string | undefined;
  }): LineItemInput {
    return {
      description: 'Item',
      quantity: l.thousandths / 1000,
      unit_price_gross: l.price,
      tax: { rate: l.tax[0], category: l.tax[1] },
      ...(l.discount === undefined ? {} : { line_discounts: [{ type: 'percentage', rate: l.discount }] }),
    };
  }

  function tryPrice(lines: LineItemInput[], cart: DiscountInput[]) {
    try {
      return price(lines, cart);
    } catch (error) {
      // Random amount discounts may exceed a small cart; that refusal is tested above.
      if (error instanceof PricingError && error.param.startsWith('cart_discounts')) return null;
      throw error;
    }
  }

  test.prop([fc.array(lineArbitrary, { minLength: 1, maxLength: 12 }), cartArbitrary])(
    'allocations sum exactly to each cart discount and totals add up',
    (lines, cart) => {
      const priced = tryPrice(lines.map(toInput), cart);
      fc.pre(priced !== null);
      const { lineItems, cartDiscounts } = priced;
      for (const discount of cartDiscounts) {
        const allocated = lineItems
          .flatMap((l) => l.cart_discount_allocations)
          .filter((a) => a.discount_id === discount.id)
          .reduce((sum, a) => sum + a.amount, 0);
        expect(allocated).toBe(discount.amount);
      }
      for (const l of lineItems) {
        expect(l.total_gross).toBeGreaterThanOrEqual(0);
        expect(l.total_gross).toBe(l.subtotal_after_line_discounts - l.cart_discount_amount);
      }
      const totals = saleTotals(lineItems);
      const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
      expect(sum(lineItems.map((l) => l.total_gross))).toBe(totals.total_gross);
      expect(sum(totals.tax_breakdown.map((e) => e.gross))).toBe(totals.total_gross);
      expect(sum(totals.tax_breakdown.map((e) => e.tax_amount))).toBe(totals.total_tax);
      expect(totals.total_net + totals.total_tax).toBe(totals.total_gross);
      expect(totals.total_cart_discounts).toBe(sum(cartDiscounts.map((d) => d.amount)));
      expect(totals.subtotal_after_all_discounts).toBe(
        totals.subtotal_gross - totals.total_line_discounts - totals.total_cart_discounts,
      );
    },
  );

  test.prop([fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 60 })])(
    'refunding every unit one at a time sums to the line’s total_gross',
    (total, quantity) => {
      const original = { total_gross: total, quantity };
      let refunded = 0;
      for (let r = 0; r < quantity; r++) refunded += refundLineAmount(original, r, 1);
      expect(refunded).toBe(total);
    },
  );

  test.prop([fc.array(lineArbitrary, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 7 })])(
    'refunding a sale in equal slices sums to its totals',
    (lines, slices) => {
      const priced = price(lines.map(toInput)).lineItems;
      const newId = idSource();
      const refunds = priced.flatMap((original) => {
        // Slice each line's quantity into whole thousandths that add up exactly.
        const thousandths = Math.round(original.quantity * 1000);
        const parts = Array.from(
          { length: slices },
          (_, i) => Math.floor((thousandths * (i + 1)) / slices) - Math.floor((thousandths * i) / slices),
        ).filter((p) => p > 0);
        let already = 0;
        return parts.map((part) => {
          const [refund] = priceRefundLines(
            [{ original, quantity: part / 1000, alreadyRefundedQuantity: already / 1000 }],
            newId,
          );
          already += part;
          return refund as PricedLineItem;
        });
      });
      const sale = saleTotals(priced);
      const refund = computeTotals([{ lines: refunds, sign: 1 }], -1);
      expect(refund.total_gross).toBe(sale.total_gross);
      expect(refund.net_payable + sale.total_gross).toBe(0);
    },
  );
});
