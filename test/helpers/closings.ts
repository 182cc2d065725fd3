/** Helpers for closing and cash-drawer-opening tests: the worked scenario of a German register's day. */
import { expect } from 'vitest';
import type { CashDrawerOpening } from '../../src/modules/cash-drawer-openings/cash-drawer-opening.schemas.js';
import type { Closing } from '../../src/modules/closings/closing.schemas.js';
import type { TseClosingFiscalBlock } from '../../src/regimes/de/tse-fiscal-block.js';
import type { Operation } from '../../src/modules/operations/operation.schemas.js';
import type { Page } from '../../src/shared/pagination.js';
import type { ApiClient } from './api-client.js';
import { line } from './fiscal.js';

export async function triggerClosing(api: ApiClient, registerId: string, body: Record<string, unknown> = {}) {
  const response = await api.post<Closing>(`/v1/registers/${registerId}/closings`, body);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

export async function closingsOf(api: ApiClient, registerId: string, type?: string): Promise<Closing[]> {
  const response = await api.get<Page<Closing>>(
    `/v1/registers/${registerId}/closings?limit=200${type === undefined ? '' : `&type=${type}`}`,
  );
  expect(response.status, response.text).toBe(200);
  return response.body.data;
}

export async function logOpening(api: ApiClient, registerId: string, body: Record<string, unknown>) {
  const response = await api.post<CashDrawerOpening>(`/v1/registers/${registerId}/cash-drawer-openings`, body);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

/** Starts and completes a sale with the given payments (default: one inbound payment of the total by `method`). */
export async function sale(
  api: ApiClient,
  registerId: string,
  lines: ReadonlyArray<ReturnType<typeof line>>,
  method = 'cash',
  options: { training?: boolean } = {},
): Promise<Operation> {
  const started = await api.post<Operation>(`/v1/registers/${registerId}/sales`, {
    line_items: lines,
    ...(options.training === true ? { training: true } : {}),
  });
  expect(started.status, started.text).toBe(201);
  const total = started.body.data.totals?.total_gross ?? 0;
  const completed = await api.post<Operation>(`/v1/sales/${started.body.id}/complete`, {
    payments: [{ method, direction: 'inbound', amount: total }],
  });
  expect(completed.status, completed.text).toBe(200);
  return completed.body;
}

/** The internal note of the scenario's second drawer opening: it must never reach an export. */
export const SCENARIO_INTERNAL_NOTE = 'Interne Notiz 4711';

export interface ScenarioDay {
  readonly cashSale: Operation;
  readonly cardSale: Operation;
  readonly voidedSale: Operation;
  readonly refund: Operation;
  readonly void: Operation;
  readonly training: Operation;
}

/**
 * The worked day (amounts in cents):
 * - cash sale: coffee 1 × 2.50 @ 19 %, rolls 2 × 0.45 @ 7 % = 3.40 cash
 * - card sale: cake 1 × 12.00 @ 7 %, juice 2 × 3.00 @ 19 % = 18.00 card
 * - cash sale: pie 3 × 2.50 @ 7 % = 7.50 cash, voided later
 * - refund of one juice of the card sale: 3.00 back to the card
 * - cash in 50.00 (pay_in), cash out 20.00 (pay_out)
 * - a training sale 9.99 cash
 * - two drawer openings: one for the cash sale, one without an operation
 */
export async function scenarioDay(api: ApiClient, registerId: string, now: () => Date): Promise<ScenarioDay> {
  const cashSale = await sale(api, registerId, [line('Kaffee', 1, 250), line('Brötchen', 2, 45, '0.07')]);
  await logOpening(api, registerId, { occurred_at: now().toISOString(), operation_id: cashSale.id });
  const cardSale = await sale(api, registerId, [line('Torte', 1, 1200, '0.07'), line('Saft', 2, 300)], 'card');
  const voidedSale = await sale(api, registerId, [line('Kuchen', 3, 250, '0.07')]);
  const juice = cardSale.data.line_items?.find((item) => item.description === 'Saft');
  const refundStart = await api.post<Operation>(`/v1/registers/${registerId}/refunds`, {
    original_operation_id: cardSale.id,
    line_items: [{ line_item_id: juice?.id, quantity: 1 }],
  });
  expect(refundStart.status, refundStart.text).toBe(201);
  const refund = await api.post<Operation>(`/v1/refunds/${refundStart.body.id}/complete`, {
    payments: [{ method: 'card', direction: 'outbound', amount: 300 }],
  });
  expect(refund.status, refund.text).toBe(200);
  const voided = await api.post<Operation>(`/v1/registers/${registerId}/voids`, {
    original_operation_id: voidedSale.id,
    reason: 'Falsch gebucht',
  });
  expect(voided.status, voided.text).toBe(201);
  for (const movement of [
    { kind: 'pay_in', direction: 'in', amount: 5000 },
    { kind: 'pay_out', direction: 'out', amount: 2000 },
  ]) {
    const response = await api.post<Operation>(`/v1/registers/${registerId}/cash-movements`, movement);
    expect(response.status, response.text).toBe(201);
  }
  const training = await sale(api, registerId, [line('Probe', 1, 999)], 'cash', { training: true });
  await logOpening(api, registerId, {
    occurred_at: now().toISOString(),
    reason: 'Wechselgeld geprüft',
    note: SCENARIO_INTERNAL_NOTE,
  });
  return { cashSale, cardSale, voidedSale, refund: refund.body, void: voided.body, training };
}

/**
 * The day's summary, computed by hand:
 * - sales 3.40 + 18.00 + 7.50 = 28.90 (3); refunds 3.00 (1); voids 1 (reverses 7.50 cash @ 7 %)
 * - total_gross = 28.90 − 3.00 − 7.50 = 18.40; operation_count = 3 sales + 1 refund + 1 void + 2 movements = 7
 * - payments: cash 3.40 + 7.50 − 7.50 = 3.40; card 18.00 − 3.00 = 15.00 (sum 18.40)
 * - 19 %: 2.50 + 6.00 − 3.00 = 5.50 → tax round(550 × 19 / 119 = 87.82) = 88, net 462
 * - 7 %: 0.90 + 12.00 + 7.50 − 7.50 = 12.90 → tax round(1290 × 7 / 107 = 84.39) = 84, net 1206
 */
export const SCENARIO_DAY_SUMMARY = {
  operation_count: 7,
  total_gross: 1840,
  total_tax: 172,
  total_by_payment_method: { card: 1500, cash: 340 },
  by_operation_type: {
    sales: { count: 3, total_gross: 2890 },
    refunds: { count: 1, total_gross: 300 },
    voids: { count: 1 },
    cash_movements: { cash_in_total: 5000, cash_out_total: 2000 },
    exchanges: { count: 0, total_gross: 0 },
    training: { count: 1, total_gross: 999 },
  },
  tax_breakdown: [
    { rate: '0.19', category: 'standard', taxable_amount: 462, tax_amount: 88 },
    { rate: '0.07', category: 'reduced', taxable_amount: 1206, tax_amount: 84 },
  ],
  cash_drawer_openings: { count: 2, without_operation: 1 },
};

/** A German closing's fiscal block (asserts there is one). */
export function tseFiscalOf(closing: Closing): TseClosingFiscalBlock {
  expect(closing.fiscal).not.toBeNull();
  return closing.fiscal as unknown as TseClosingFiscalBlock;
}
