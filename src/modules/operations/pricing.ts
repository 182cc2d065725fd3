/**
 * Pure pricing of operations (api.md §3): line items and their discounts, cart discounts allocated to lines, totals
 * with tax extracted per rate group, refund lines at the price actually paid, and the payment balance check. No I/O:
 * the operation service feeds it inputs and a `newId`, and maps {@link PricingError} to the API's 422 errors.
 *
 * All arithmetic is exact (`bigint`, see `shared/money.ts`); amounts leave as safe integers or not at all.
 * @module
 */
import { TAX_CATEGORIES, type TaxCategory } from '../../regimes/tax-rates.js';
import {
  allocateLargestRemainder,
  compareRates,
  normaliseRate,
  parseRate,
  quantityToThousandths,
  roundHalfUp,
  type Rate,
} from '../../shared/money.js';

export type LineFlag = 'deposit' | 'gift_card' | 'service_charge' | 'tip';

export interface DiscountInput {
  type: 'percentage' | 'amount';
  rate?: string;
  amount?: number;
  label?: string;
  source?: string;
}

export interface LineItemInput {
  description: string;
  quantity: number;
  unit?: string;
  unit_price_gross: number;
  tax: { rate: string; category: TaxCategory };
  line_discounts?: DiscountInput[];
  product_ref?: string | null;
  flags?: LineFlag[];
}

export interface LineDiscount {
  id: string;
  type: 'percentage' | 'amount';
  rate: string | null;
  amount: number;
  label: string | null;
  source: string | null;
}

export interface CartDiscount {
  id: string;
  type: 'percentage' | 'amount';
  rate: string | null;
  amount: number;
  label: string | null;
}

export interface CartDiscountAllocation {
  discount_id: string;
  amount: number;
  label: string | null;
}

export interface PricedLineItem {
  id: string;
  position: number;
  description: string;
  quantity: number;
  unit: string;
  unit_price_gross: number;
  tax: { rate: string; category: TaxCategory };
  product_ref: string | null;
  flags: string[];
  line_discounts: LineDiscount[];
  subtotal_gross: number;
  line_discount_amount: number;
  subtotal_after_line_discounts: number;
  cart_discount_allocations: CartDiscountAllocation[];
  cart_discount_amount: number;
  total_gross: number;
  /** Refunds and exchanges: the line of the original operation this one gives back. */
  original_line_item_id?: string;
}

export interface TaxBreakdownEntry {
  rate: string;
  category: TaxCategory;
  taxable_amount: number;
  tax_amount: number;
  gross: number;
}

export interface Totals {
  subtotal_gross: number;
  total_line_discounts: number;
  subtotal_after_line_discounts: number;
  total_cart_discounts: number;
  subtotal_after_all_discounts: number;
  rounding_adjustment: number;
  total_gross: number;
  total_net: number;
  total_tax: number;
  net_payable: number;
  tax_breakdown: TaxBreakdownEntry[];
}

export interface PaymentInput {
  method: 'cash' | 'card' | 'wallet' | 'voucher' | 'gift_card' | 'online' | 'other';
  direction: 'inbound' | 'outbound';
  amount: number;
  currency?: string;
  reference?: string;
  cash?: { amount_tendered: number };
  card?: Record<string, string>;
  wallet?: Record<string, string>;
  voucher?: Record<string, string>;
  gift_card?: Record<string, string>;
  online?: Record<string, string>;
}

export interface Payment extends PaymentInput {
  id: string;
  currency: string;
}

/** The API error code each pricing failure maps to (all 422). */
export type PricingErrorCode =
  'validation_error' | 'payment_total_mismatch' | 'currency_mismatch' | 'empty_operation' | 'refund_exceeds_original';

/** Input that cannot be priced; `param` is the JSON path of the offending field, e.g. `line_items[2].quantity`. */
export class PricingError extends Error {
  constructor(
    readonly param: string,
    message: string,
    readonly code: PricingErrorCode = 'validation_error',
  ) {
    super(message);
    this.name = 'PricingError';
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const THOUSAND = 1000n;

function toNumber(value: bigint, param: string): number {
  if (value > MAX_SAFE || value < -MAX_SAFE) {
    throw new PricingError(param, `Amount ${value.toString()} is beyond ${String(Number.MAX_SAFE_INTEGER)}`);
  }
  return Number(value);
}

function requireAmount(value: number, param: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new PricingError(param, 'Must be a non-negative integer amount in minor units (safe integer)');
  }
  return BigInt(value);
}

function requireRate(rate: string, param: string): Rate {
  try {
    return parseRate(rate);
  } catch (error) {
    throw new PricingError(param, error instanceof Error ? error.message : 'Invalid rate');
  }
}

function requireQuantity(quantity: number, param: string): bigint {
  let thousandths: bigint;
  try {
    thousandths = quantityToThousandths(quantity);
  } catch (error) {
    throw new PricingError(param, error instanceof Error ? error.message : 'Invalid quantity');
  }
  // Zero is refused too: a refund divides by the original quantity.
  if (thousandths <= 0n) throw new PricingError(param, 'Quantity must be greater than 0');
  return thousandths;
}

function formatQuantity(thousandths: bigint): string {
  return String(Number(thousandths) / 1000);
}

interface DiscountValue {
  amount: bigint;
  rate: string | null;
  /** The field to blame when the discount is too large. */
  field: 'rate' | 'amount';
}

// A percentage discount is a rate of `base`; an amount discount is taken as given. Exactly one of the two fields.
function discountValue(discount: DiscountInput, base: bigint, param: string): DiscountValue {
  if (discount.type === 'percentage') {
    if (discount.amount !== undefined) {
      throw new PricingError(`${param}.amount`, 'A percentage discount takes a rate, not an amount');
    }
    if (discount.rate === undefined) throw new PricingError(`${param}.rate`, 'A percentage discount needs a rate');
    const rate = requireRate(discount.rate, `${param}.rate`);
    return {
      amount: roundHalfUp(base * rate.numerator, rate.denominator),
      rate: normaliseRate(discount.rate),
      field: 'rate',
    };
  }
  if (discount.rate !== undefined) {
    throw new PricingError(`${param}.rate`, 'An amount discount takes an amount, not a rate');
  }
  if (discount.amount === undefined) throw new PricingError(`${param}.amount`, 'An amount discount needs an amount');
  return { amount: requireAmount(discount.amount, `${param}.amount`), rate: null, field: 'amount' };
}

interface LineDraft {
  line: PricedLineItem;
  subtotal: bigint;
  afterLineDiscounts: bigint;
}

function priceLine(input: LineItemInput, index: number, newId: (prefix: 'ldsc') => string, id: string): LineDraft {
  const param = `line_items[${String(index)}]`;
  const quantity = requireQuantity(input.quantity, `${param}.quantity`);
  const unitPrice = requireAmount(input.unit_price_gross, `${param}.unit_price_gross`);
  requireRate(input.tax.rate, `${param}.tax.rate`);
  if (!TAX_CATEGORIES.includes(input.tax.category)) {
    throw new PricingError(`${param}.tax.category`, `Unknown tax category: ${JSON.stringify(input.tax.category)}`);
  }
  const subtotal = roundHalfUp(quantity * unitPrice, THOUSAND);
  const subtotalGross = toNumber(subtotal, `${param}.unit_price_gross`);

  let left = subtotal;
  const lineDiscounts = (input.line_discounts ?? []).map((discount, j): LineDiscount => {
    const discountParam = `${param}.line_discounts[${String(j)}]`;
    const value = discountValue(discount, subtotal, discountParam);
    if (value.amount > left) {
      throw new PricingError(
        `${discountParam}.${value.field}`,
        `Discount of ${value.amount.toString()} exceeds the ${left.toString()} left of the line`,
      );
    }
    left -= value.amount;
    return {
      id: newId('ldsc'),
      type: discount.type,
      rate: value.rate,
      amount: Number(value.amount),
      label: discount.label ?? null,
      source: discount.source ?? null,
    };
  });

  const afterLineDiscounts = left;
  return {
    subtotal,
    afterLineDiscounts,
    line: {
      id,
      position: index + 1,
      description: input.description,
      quantity: input.quantity,
      unit: input.unit ?? 'piece',
      unit_price_gross: input.unit_price_gross,
      tax: { rate: normaliseRate(input.tax.rate), category: input.tax.category },
      product_ref: input.product_ref ?? null,
      flags: [...(input.flags ?? [])],
      line_discounts: lineDiscounts,
      subtotal_gross: subtotalGross,
      line_discount_amount: Number(subtotal - afterLineDiscounts),
      subtotal_after_line_discounts: Number(afterLineDiscounts),
      cart_discount_allocations: [],
      cart_discount_amount: 0,
      total_gross: Number(afterLineDiscounts),
    },
  };
}

/**
 * Prices line items and cart discounts. `subtotal_gross = quantity × unit_price_gross` rounded half away from zero;
 * a percentage line discount is that rate of the line's `subtotal_gross`, and a line's discounts together may not
 * exceed it. Cart discounts are a rate of Σ `subtotal_after_line_discounts` or an amount, may together not exceed that
 * sum, and are allocated to the lines with the largest-remainder rule. Each cart discount is weighted by what is left
 * of every line after the cart discounts before it: with one cart discount that is exactly the line's
 * `subtotal_after_line_discounts`, with several it is the same proportion up to rounding, and it guarantees that no
 * line's `total_gross` goes below zero. Zero allocations are omitted. Rates are returned in canonical form
 * (`normaliseRate`). Throws {@link PricingError}.
 */
export function priceLineItems(
  lines: readonly LineItemInput[],
  cartDiscounts: readonly DiscountInput[],
  newId: (prefix: 'li' | 'ldsc' | 'cdsc') => string,
): { lineItems: PricedLineItem[]; cartDiscounts: CartDiscount[] } {
  const drafts = lines.map((input, index) => priceLine(input, index, newId, newId('li')));
  // Every amount below is bounded by this sum, so one check keeps them all safe.
  toNumber(
    drafts.reduce((sum, draft) => sum + draft.subtotal, 0n),
    'line_items',
  );

  const base = drafts.reduce((sum, draft) => sum + draft.afterLineDiscounts, 0n);
  const remaining = drafts.map((draft) => draft.afterLineDiscounts);
  let granted = 0n;
  const pricedCartDiscounts = cartDiscounts.map((discount, k): CartDiscount => {
    const param = `cart_discounts[${String(k)}]`;
    const value = discountValue(discount, base, param);
    if (granted + value.amount > base) {
      throw new PricingError(
        `${param}.${value.field}`,
        `Cart discounts of ${(granted + value.amount).toString()} exceed the ${base.toString()} of the line items`,
      );
    }
    granted += value.amount;
    const id = newId('cdsc');
    const label = discount.label ?? null;
    allocateLargestRemainder(value.amount, remaining).forEach((part, i) => {
      const draft = drafts[i];
      if (draft === undefined || part === 0n) return;
      remaining[i] = (remaining[i] ?? 0n) - part;
      draft.line.cart_discount_allocations.push({ discount_id: id, amount: Number(part), label });
    });
    return { id, type: discount.type, rate: value.rate, amount: Number(value.amount), label };
  });

  for (const [i, draft] of drafts.entries()) {
    const left = remaining[i] ?? 0n;
    draft.line.cart_discount_amount = Number(draft.afterLineDiscounts - left);
    draft.line.total_gross = Number(left);
  }
  return { lineItems: drafts.map((draft) => draft.line), cartDiscounts: pricedCartDiscounts };
}

// Cumulative rounding: the k-th share is round(T·(r+q)/Q) − round(T·r/Q), so the shares telescope to exactly T.
function refundShare(total: bigint, quantity: bigint, already: bigint, refunding: bigint): bigint {
  return roundHalfUp(total * (already + refunding), quantity) - roundHalfUp(total * already, quantity);
}

// Server-side sums of quantities may carry float noise (0.1 + 0.2); quantities are whole thousandths, so round.
function sumToThousandths(quantity: number, param: string): bigint {
  if (!Number.isFinite(quantity) || quantity < 0) {
    throw new PricingError(param, 'Already refunded quantity must be a non-negative number');
  }
  return BigInt(Math.round(quantity * 1000));
}

/**
 * What refunding `quantity` more of a line is worth, given `alreadyRefundedQuantity` refunded before:
 * `round(T·(r+q)/Q) − round(T·r/Q)` for the line's `total_gross` T and quantity Q, so that refunding all pieces one
 * by one sums exactly to T. `alreadyRefundedQuantity` is a server-side sum and is rounded to whole thousandths.
 * Throws {@link PricingError} (`refund_exceeds_original` when r + q > Q).
 */
export function refundLineAmount(
  original: { total_gross: number; quantity: number },
  alreadyRefundedQuantity: number,
  quantity: number,
): number {
  const total = requireAmount(original.total_gross, 'total_gross');
  const originalQuantity = requireQuantity(original.quantity, 'original.quantity');
  const already = sumToThousandths(alreadyRefundedQuantity, 'alreadyRefundedQuantity');
  const refunding = requireQuantity(quantity, 'quantity');
  if (already + refunding > originalQuantity) {
    throw new PricingError(
      'quantity',
      `Only ${formatQuantity(originalQuantity - already)} of ${formatQuantity(originalQuantity)} left to refund`,
      'refund_exceeds_original',
    );
  }
  return Number(refundShare(total, originalQuantity, already, refunding));
}

/**
 * Refund (or exchange return) lines for lines of an original operation, at the price actually paid: each line's
 * `total_gross` is its pro-rata share of the original's `total_gross` (discounts included, see
 * {@link refundLineAmount}); amounts are positive — the caller signs them through {@link computeTotals}. The lines
 * carry no discounts of their own, so `subtotal_gross` = `total_gross`, and `unit_price_gross` is the unit price
 * actually paid, rounded (informative; `total_gross` is authoritative). The same original line may appear more than
 * once: later entries count the earlier ones as already refunded. `param` names the request field for error paths
 * (`returned_line_items` for exchanges). Throws {@link PricingError} (`refund_exceeds_original`).
 */
export function priceRefundLines(
  items: ReadonlyArray<{ original: PricedLineItem; quantity: number; alreadyRefundedQuantity: number }>,
  newId: (prefix: 'li') => string,
  param = 'line_items',
): PricedLineItem[] {
  const takenInThisCall = new Map<string, bigint>();
  return items.map(({ original, quantity, alreadyRefundedQuantity }, index): PricedLineItem => {
    const quantityParam = `${param}[${String(index)}].quantity`;
    const refunding = requireQuantity(quantity, quantityParam);
    const originalQuantity = requireQuantity(original.quantity, quantityParam);
    const total = requireAmount(original.total_gross, quantityParam);
    const earlierInThisCall = takenInThisCall.get(original.id) ?? 0n;
    const already = sumToThousandths(alreadyRefundedQuantity, quantityParam) + earlierInThisCall;
    if (already + refunding > originalQuantity) {
      throw new PricingError(
        quantityParam,
        `Only ${formatQuantity(originalQuantity - already)} of ${formatQuantity(originalQuantity)} left to refund`,
        'refund_exceeds_original',
      );
    }
    takenInThisCall.set(original.id, earlierInThisCall + refunding);
    const amount = Number(refundShare(total, originalQuantity, already, refunding));
    return {
      id: newId('li'),
      position: index + 1,
      description: original.description,
      quantity,
      unit: original.unit,
      unit_price_gross: Number(roundHalfUp(total * THOUSAND, originalQuantity)),
      tax: { rate: original.tax.rate, category: original.tax.category },
      product_ref: original.product_ref,
      flags: [...original.flags],
      line_discounts: [],
      subtotal_gross: amount,
      line_discount_amount: 0,
      subtotal_after_line_discounts: amount,
      cart_discount_allocations: [],
      cart_discount_amount: 0,
      total_gross: amount,
      original_line_item_id: original.id,
    };
  });
}

interface RateGroup {
  rate: string;
  category: TaxCategory;
  gross: bigint;
}

/**
 * Totals over signed parts of an operation. Sale: `[{lines, sign: 1}]`, `netPayableSign` 1. Refund:
 * `[{lines, sign: 1}]`, `netPayableSign` −1 (totals positive, `net_payable` negative). Exchange:
 * `[{lines: new, sign: 1}, {lines: returned, sign: -1}]`, `netPayableSign` 1 (totals may be negative).
 *
 * Tax is extracted per rate group (numeric rate + category) from the group's signed gross:
 * `tax = round_half_up(gross × rate / (1 + rate))`, `taxable_amount = gross − tax`; half away from zero, so a
 * returned line's tax is exactly the negation of what it carried when sold. `tax_breakdown` is sorted by rate,
 * highest first, then by category in `TAX_CATEGORIES` order. `rounding_adjustment` is 0 (no cash rounding yet).
 */
export function computeTotals(
  parts: ReadonlyArray<{ lines: readonly PricedLineItem[]; sign: 1 | -1 }>,
  netPayableSign: 1 | -1,
): Totals {
  let subtotal = 0n;
  let lineDiscounts = 0n;
  let afterLineDiscounts = 0n;
  let cartDiscounts = 0n;
  let afterAllDiscounts = 0n;
  const groups: RateGroup[] = [];
  for (const { lines, sign } of parts) {
    const s = BigInt(sign);
    for (const line of lines) {
      subtotal += s * BigInt(line.subtotal_gross);
      lineDiscounts += s * BigInt(line.line_discount_amount);
      afterLineDiscounts += s * BigInt(line.subtotal_after_line_discounts);
      cartDiscounts += s * BigInt(line.cart_discount_amount);
      afterAllDiscounts += s * BigInt(line.total_gross);
      // Canonical spelling, so "0.19" and "0.190" land in one group.
      const rate = normaliseRate(line.tax.rate);
      let group = groups.find((g) => g.rate === rate && g.category === line.tax.category);
      if (group === undefined) {
        group = { rate, category: line.tax.category, gross: 0n };
        groups.push(group);
      }
      group.gross += s * BigInt(line.total_gross);
    }
  }

  let totalTax = 0n;
  const breakdown = groups
    .sort(
      (a, b) => compareRates(b.rate, a.rate) || TAX_CATEGORIES.indexOf(a.category) - TAX_CATEGORIES.indexOf(b.category),
    )
    .map((group): TaxBreakdownEntry => {
      const { numerator, denominator } = parseRate(group.rate);
      const tax = roundHalfUp(group.gross * numerator, denominator + numerator);
      totalTax += tax;
      return {
        rate: group.rate,
        category: group.category,
        taxable_amount: toNumber(group.gross - tax, 'line_items'),
        tax_amount: toNumber(tax, 'line_items'),
        gross: toNumber(group.gross, 'line_items'),
      };
    });

  const roundingAdjustment = 0n;
  const totalGross = afterAllDiscounts + roundingAdjustment;
  return {
    subtotal_gross: toNumber(subtotal, 'line_items'),
    total_line_discounts: toNumber(lineDiscounts, 'line_items'),
    subtotal_after_line_discounts: toNumber(afterLineDiscounts, 'line_items'),
    total_cart_discounts: toNumber(cartDiscounts, 'line_items'),
    subtotal_after_all_discounts: toNumber(afterAllDiscounts, 'line_items'),
    rounding_adjustment: Number(roundingAdjustment),
    total_gross: toNumber(totalGross, 'line_items'),
    total_net: toNumber(totalGross - totalTax, 'line_items'),
    total_tax: toNumber(totalTax, 'line_items'),
    net_payable: toNumber(BigInt(netPayableSign) * totalGross, 'line_items'),
    tax_breakdown: breakdown,
  };
}

const METHOD_DETAILS = ['cash', 'card', 'wallet', 'voucher', 'gift_card', 'online'] as const;

/**
 * Checks the payments that settle an operation and gives them ids: Σ inbound − Σ outbound must equal `expected`
 * (a sale's `total_gross`, a refund's negated total, an exchange's net). Change is an outbound cash payment.
 * Amounts must be positive; a currency, where given, must be the register's; a method's detail object (`cash`,
 * `card`, …) only goes with that method, and `cash.amount_tendered` (inbound only) is at least the amount.
 * Throws {@link PricingError} with code `payment_total_mismatch` (param `payments`), `currency_mismatch` or
 * `validation_error`.
 */
export function settlePayments(
  payments: readonly PaymentInput[],
  expected: number,
  currency: string,
  newId: (prefix: 'pay') => string,
): Payment[] {
  if (!Number.isSafeInteger(expected)) {
    throw new RangeError(`Expected total is not a safe integer: ${String(expected)}`);
  }
  let net = 0n;
  for (const [index, payment] of payments.entries()) {
    const param = `payments[${String(index)}]`;
    const amount = requireAmount(payment.amount, `${param}.amount`);
    if (amount === 0n) throw new PricingError(`${param}.amount`, 'A payment amount must be greater than 0');
    if (payment.currency !== undefined && payment.currency !== currency) {
      throw new PricingError(
        `${param}.currency`,
        `Payment currency ${payment.currency} differs from the register's ${currency}`,
        'currency_mismatch',
      );
    }
    for (const key of METHOD_DETAILS) {
      if (payment[key] !== undefined && payment.method !== key) {
        throw new PricingError(`${param}.${key}`, `\`${key}\` details do not go with method ${payment.method}`);
      }
    }
    if (payment.cash !== undefined) {
      if (payment.direction !== 'inbound') {
        throw new PricingError(`${param}.cash`, 'amount_tendered describes cash received; use it on inbound payments');
      }
      const tendered = requireAmount(payment.cash.amount_tendered, `${param}.cash.amount_tendered`);
      if (tendered < amount) {
        throw new PricingError(`${param}.cash.amount_tendered`, 'Cash tendered is less than the payment amount');
      }
    }
    net += payment.direction === 'inbound' ? amount : -amount;
  }
  if (net !== BigInt(expected)) {
    throw new PricingError(
      'payments',
      `Payments net to ${net.toString()} (inbound − outbound) but ${String(expected)} is due`,
      'payment_total_mismatch',
    );
  }
  return payments.map((payment) => ({ id: newId('pay'), ...payment, currency }));
}
