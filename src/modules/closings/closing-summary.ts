/**
 * The closing summary (api.md §6) as mergeable totals. Each completed operation and each drawer opening contributes
 * {@link SummaryTotals}; totals add up (per bucket, per period) and only the final step extracts the tax per
 * (rate, category) group from the group's net gross. Because every field is a plain sum, a period's summary is the
 * same whether it is added from buckets or recomputed operation by operation. Pure.
 * @module
 */
import { compareRates, parseRate, roundHalfUp } from '../../shared/money.js';

/** Sums over a set of events; every field adds. JSON-serialisable (integers in minor units). */
export interface SummaryTotals {
  operation_count: number;
  total_gross: number;
  sales_count: number;
  sales_gross: number;
  refunds_count: number;
  refunds_gross: number;
  exchanges_count: number;
  exchanges_gross: number;
  voids_count: number;
  cash_in: number;
  cash_out: number;
  training_count: number;
  training_gross: number;
  drawer_openings: number;
  drawer_openings_without_operation: number;
  /** Inbound minus outbound per payment method. */
  payments: Record<string, number>;
  /** Net gross per `<rate>|<category>`. */
  tax_groups: Record<string, number>;
}

export interface ClosingSummary {
  operation_count: number;
  total_gross: number;
  total_tax: number;
  total_by_payment_method: Record<string, number>;
  by_operation_type: {
    sales: { count: number; total_gross: number };
    refunds: { count: number; total_gross: number };
    voids: { count: number };
    cash_movements: { cash_in_total: number; cash_out_total: number };
    exchanges: { count: number; total_gross: number };
    training: { count: number; total_gross: number };
  };
  tax_breakdown: Array<{ rate: string; category: string; taxable_amount: number; tax_amount: number }>;
  cash_drawer_openings: { count: number; without_operation: number };
}

export function emptyTotals(): SummaryTotals {
  return {
    operation_count: 0,
    total_gross: 0,
    sales_count: 0,
    sales_gross: 0,
    refunds_count: 0,
    refunds_gross: 0,
    exchanges_count: 0,
    exchanges_gross: 0,
    voids_count: 0,
    cash_in: 0,
    cash_out: 0,
    training_count: 0,
    training_gross: 0,
    drawer_openings: 0,
    drawer_openings_without_operation: 0,
    payments: {},
    tax_groups: {},
  };
}

const SCALAR_FIELDS = [
  'operation_count',
  'total_gross',
  'sales_count',
  'sales_gross',
  'refunds_count',
  'refunds_gross',
  'exchanges_count',
  'exchanges_gross',
  'voids_count',
  'cash_in',
  'cash_out',
  'training_count',
  'training_gross',
  'drawer_openings',
  'drawer_openings_without_operation',
] as const satisfies ReadonlyArray<keyof SummaryTotals>;

function addMap(target: Record<string, number>, source: Readonly<Record<string, number>>, sign: 1 | -1 = 1): void {
  for (const [key, value] of Object.entries(source)) target[key] = (target[key] ?? 0) + sign * value;
}

/** Adds `source` into `target` (mutates and returns `target`). */
export function addTotals(target: SummaryTotals, source: Readonly<SummaryTotals>): SummaryTotals {
  for (const field of SCALAR_FIELDS) target[field] += source[field];
  addMap(target.payments, source.payments);
  addMap(target.tax_groups, source.tax_groups);
  return target;
}

/** The stored shape of an operation this module reads (the `data` column plus type and state). */
export interface OperationFacts {
  readonly type: 'sale' | 'refund' | 'exchange' | 'void' | 'cash_movement' | 'training';
  readonly state: 'open' | 'completed' | 'cancelled';
  readonly data: {
    readonly totals?: {
      readonly total_gross: number;
      readonly tax_breakdown: ReadonlyArray<{ rate: string; category: string; gross: number }>;
    };
    readonly payments?: ReadonlyArray<{ method: string; direction: 'inbound' | 'outbound'; amount: number }>;
    readonly original_operation_type?: string;
    readonly direction?: string;
    readonly amount?: number;
  };
}

const groupKey = (rate: string, category: string) => `${rate}|${category}`;

/**
 * What one completed operation adds to a summary (api.md §6). Cancelled or open operations add nothing. A void adds
 * its original's amounts negated (its stored totals are the original's; its stored payments already run the other
 * way); the void of a training sale is training too.
 */
export function operationTotals(op: OperationFacts): SummaryTotals {
  const totals = emptyTotals();
  if (op.state !== 'completed') return totals;
  const gross = op.data.totals?.total_gross ?? 0;
  const isTraining = op.type === 'training' || (op.type === 'void' && op.data.original_operation_type === 'training');
  if (isTraining) {
    if (op.type === 'training') {
      totals.training_count = 1;
      totals.training_gross = gross;
    }
    return totals;
  }
  totals.operation_count = 1;
  if (op.type === 'cash_movement') {
    const amount = op.data.amount ?? 0;
    if (op.data.direction === 'in') totals.cash_in = amount;
    else totals.cash_out = amount;
    return totals;
  }
  // The sign of the operation's amounts in the register's revenue: refunds give money back, a void undoes its
  // original (so the void of a refund adds back).
  let sign: 1 | -1;
  switch (op.type) {
    case 'sale':
      sign = 1;
      totals.sales_count = 1;
      totals.sales_gross = gross;
      break;
    case 'refund':
      sign = -1;
      totals.refunds_count = 1;
      totals.refunds_gross = gross;
      break;
    case 'exchange':
      sign = 1;
      totals.exchanges_count = 1;
      totals.exchanges_gross = gross;
      break;
    case 'void':
      sign = op.data.original_operation_type === 'refund' ? 1 : -1;
      totals.voids_count = 1;
      break;
  }
  totals.total_gross = sign * gross;
  for (const group of op.data.totals?.tax_breakdown ?? []) {
    const key = groupKey(group.rate, group.category);
    totals.tax_groups[key] = (totals.tax_groups[key] ?? 0) + sign * group.gross;
  }
  for (const payment of op.data.payments ?? []) {
    const signed = payment.direction === 'inbound' ? payment.amount : -payment.amount;
    totals.payments[payment.method] = (totals.payments[payment.method] ?? 0) + signed;
  }
  return totals;
}

/** What one drawer opening adds. */
export function openingTotals(opening: { readonly operation_id: string | null }): SummaryTotals {
  const totals = emptyTotals();
  totals.drawer_openings = 1;
  if (opening.operation_id === null) totals.drawer_openings_without_operation = 1;
  return totals;
}

/** Tax contained in a gross amount at `rate`, half up (away from zero). */
function taxOfGross(gross: number, rate: string): number {
  const { numerator, denominator } = parseRate(rate);
  return Number(roundHalfUp(BigInt(gross) * numerator, denominator + numerator));
}

/** The api.md §6 summary of a period's totals; groups by rate (highest first), then category. */
export function toSummary(totals: Readonly<SummaryTotals>): ClosingSummary {
  const taxBreakdown = Object.entries(totals.tax_groups)
    .map(([key, gross]) => {
      const [rate = '0', category = 'standard'] = key.split('|');
      const tax = taxOfGross(gross, rate);
      return { rate, category, taxable_amount: gross - tax, tax_amount: tax };
    })
    .sort((a, b) => compareRates(b.rate, a.rate) || a.category.localeCompare(b.category));
  const payments = Object.fromEntries(Object.entries(totals.payments).sort(([a], [b]) => a.localeCompare(b)));
  return {
    operation_count: totals.operation_count,
    total_gross: totals.total_gross,
    total_tax: taxBreakdown.reduce((sum, group) => sum + group.tax_amount, 0),
    total_by_payment_method: payments,
    by_operation_type: {
      sales: { count: totals.sales_count, total_gross: totals.sales_gross },
      refunds: { count: totals.refunds_count, total_gross: totals.refunds_gross },
      voids: { count: totals.voids_count },
      cash_movements: { cash_in_total: totals.cash_in, cash_out_total: totals.cash_out },
      exchanges: { count: totals.exchanges_count, total_gross: totals.exchanges_gross },
      training: { count: totals.training_count, total_gross: totals.training_gross },
    },
    tax_breakdown: taxBreakdown,
    cash_drawer_openings: {
      count: totals.drawer_openings,
      without_operation: totals.drawer_openings_without_operation,
    },
  };
}

/** Journal seqs per pre-aggregated bucket. */
export const BUCKET_SIZE = 1024n;

export const bucketOf = (seq: bigint): bigint => seq / BUCKET_SIZE;
