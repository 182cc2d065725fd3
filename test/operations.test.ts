/**
 * Operations (api.md §3) on a German register with the software TSE: the sale lifecycle with the worked pricing
 * examples, cancellations and training, refunds, exchanges, voids, cash movements, reads and lists, the receipt QR
 * code verified against the stored TSE log, register keys, idempotent replays and the journal.
 */
import { verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import { parseLogMessage } from '../src/regimes/de/log-message.js';
import type { Page } from '../src/shared/pagination.js';
import type { ApiClient } from './helpers/api-client.js';
import { expectError } from './helpers/assertions.js';
import { describeDb } from './helpers/engines.js';
import {
  cashSale,
  createFiscalRegister,
  journalOf,
  lastSequenceNumber,
  line,
  publicKeyOfPoint,
  range,
  tseLogs,
  verifyJournal,
  type FiscalRegisterFixture,
} from './helpers/fiscal.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

const ID = (prefix: string) => new RegExp(`^${prefix}_[0-7][0-9a-hjkmnp-tv-z]{25}$`);
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Payment = { method: string; direction: 'inbound' | 'outbound'; amount: number } & Record<string, unknown>;

const cash = (amount: number, direction: 'inbound' | 'outbound' = 'inbound'): Payment => ({
  method: 'cash',
  direction,
  amount,
});
const card = (amount: number, direction: 'inbound' | 'outbound' = 'inbound'): Payment => ({
  method: 'card',
  direction,
  amount,
});

function startSale(api: ApiClient, registerId: string, body: Record<string, unknown> = {}) {
  return api.post<Operation>(`/v1/registers/${registerId}/sales`, body);
}

async function openSale(api: ApiClient, registerId: string, body: Record<string, unknown>): Promise<Operation> {
  const response = await startSale(api, registerId, body);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function complete(api: ApiClient, path: string, payments: Payment[], extra: Record<string, unknown> = {}) {
  const response = await api.post<Operation>(`${path}/complete`, { payments, ...extra });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

async function startRefund(api: ApiClient, registerId: string, body: Record<string, unknown>): Promise<Operation> {
  const response = await api.post<Operation>(`/v1/registers/${registerId}/refunds`, body);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

const totalOf = (op: Operation): number => op.data.totals?.total_gross ?? Number.NaN;
const lineIds = (op: Operation): string[] => (op.data.line_items ?? []).map((item) => item.id);
const processData = (op: Operation): string => op.fiscal?.end_event?.process_data ?? '';
/** The five gross amounts of a Kassenbeleg processData: `Beleg^<a>_<b>_<c>_<d>_<e>^…`. */
const grossPart = (data: string): string => data.split('^')[1] ?? '';
const negate = (amounts: string) =>
  amounts
    .split('_')
    .map((amount) => (amount === '0.00' ? amount : amount.startsWith('-') ? amount.slice(1) : `-${amount}`))
    .join('_');

async function countJournal(api: ApiClient, registerId: string): Promise<number> {
  return (await journalOf(api, registerId)).length;
}

describeDb('operations', () => {
  let t: TestApp;
  let f: FiscalRegisterFixture;
  beforeAll(async () => {
    t = await buildTestApp();
    f = await createFiscalRegister(t);
  });
  afterAll(() => t.close());

  describe('sales', () => {
    it('starts an open sale with the next sequence number and a signed TSE start', async () => {
      const fresh = await createFiscalRegister(t);
      const response = await startSale(fresh.registerApi, fresh.register.id, {
        external_id: 'pos-4711',
        cashier: { id: 'c-7', display_name: 'Erika' },
        line_items: [line('Kaffee', 1, 250)],
        metadata: { table: '4' },
      });
      expect(response.status, response.text).toBe(201);
      const op = response.body;
      expect(op).toMatchObject({
        id: expect.stringMatching(ID('op')) as unknown,
        object: 'operation',
        type: 'sale',
        state: 'open',
        fiscal_state: 'pending',
        register_id: fresh.register.id,
        location_id: fresh.locationId,
        organization_id: fresh.organizationId,
        external_id: 'pos-4711',
        sequence_number: 1,
        cashier: { id: 'c-7', display_name: 'Erika' },
        references: { original_operation_id: null, voided_by: null, reason: null },
        metadata: { table: '4' },
        started_at: expect.stringMatching(TIMESTAMP) as unknown,
        completed_at: null,
        created_at: expect.stringMatching(TIMESTAMP) as unknown,
      });
      expect(op.data).toMatchObject({ currency: 'EUR', payments: [], customer: null });
      expect(op.data.line_items?.[0]).toMatchObject({ id: expect.stringMatching(ID('li')) as unknown, position: 1 });
      expect(op.fiscal).toMatchObject({
        regime: 'tse',
        fiscal_unit_id: fresh.unit.id,
        certified: false,
        document_number: null,
        transmission_status: 'not_required',
        verification: { qr_data: null, url: null },
        tse_serial: fresh.unit.fiscal_registration.tse_serial,
        client_id: fresh.register.serial_number,
        signature_algorithm: 'ecdsa-plain-SHA256',
        time_format: 'unixTime',
        public_key: fresh.unit.fiscal_registration.public_key,
        transaction_number: 1,
        start_event: {
          signed_at: expect.stringMatching(TIMESTAMP) as unknown,
          transaction_counter: 3,
          signature: expect.stringMatching(/^[A-Za-z0-9+/]{86}==$/) as unknown,
          process_type: 'Kassenbeleg-V1',
          process_data: '',
        },
        end_event: null,
      });
      // The start signature verifies over the stored StartTransaction log.
      const [startLog] = await tseLogs(t, { operationId: op.id });
      const parsed = parseLogMessage(startLog?.message ?? Buffer.alloc(0));
      expect(parsed).toMatchObject({ operationType: 'StartTransaction', transactionNumber: 1n, signatureCounter: 3n });
      expect(parsed.signatureValue.toString('base64')).toBe(op.fiscal?.start_event?.signature);
      const key = publicKeyOfPoint(op.fiscal?.public_key ?? '');
      expect(verify('sha256', parsed.dtbs, { key, dsaEncoding: 'ieee-p1363' }, parsed.signatureValue)).toBe(true);
      expect((await fresh.registerApi.get<Operation>(`/v1/sales/${op.id}`)).body).toEqual(op);
    });

    it('replaces lines with PATCH while open, which is not a fiscal event', async () => {
      const fresh = await createFiscalRegister(t);
      const op = await openSale(fresh.registerApi, fresh.register.id, { line_items: [line('Kaffee', 1, 250)] });
      const logsBefore = await tseLogs(t, { registerId: fresh.register.id });
      const journalBefore = await countJournal(fresh.orgApi, fresh.register.id);
      const patched = await fresh.registerApi.patch<Operation>(`/v1/sales/${op.id}`, {
        line_items: [line('Kaffee', 2, 250), line('Croissant', 1, 180, '0.07')],
        cart_discounts: [{ type: 'amount', amount: 80, label: 'Stammkunde' }],
        customer: { name: 'Max Mustermann' },
        metadata: { table: '9' },
      });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.body).toMatchObject({
        id: op.id,
        state: 'open',
        fiscal_state: 'pending',
        sequence_number: op.sequence_number,
        metadata: { table: '9' },
      });
      expect(patched.body.data.line_items?.map((item) => [item.description, item.total_gross])).toEqual([
        ['Kaffee', 500 - 59],
        ['Croissant', 180 - 21],
      ]);
      expect(patched.body.data.totals?.total_gross).toBe(600);
      expect(patched.body.data.customer).toEqual({ name: 'Max Mustermann' });
      expect(patched.body.fiscal).toEqual(op.fiscal);
      // No log, no sequence number, no journal entry.
      expect(await tseLogs(t, { registerId: fresh.register.id })).toEqual(logsBefore);
      expect(await countJournal(fresh.orgApi, fresh.register.id)).toBe(journalBefore);
      expect(await lastSequenceNumber(t, fresh.register.id)).toBe(1);
      // PATCH of lines alone keeps the cart discount.
      const linesOnly = await fresh.registerApi.patch<Operation>(`/v1/sales/${op.id}`, {
        line_items: [line('Kaffee', 4, 250)],
      });
      expect(linesOnly.body.data.totals).toMatchObject({
        subtotal_gross: 1000,
        total_cart_discounts: 80,
        total_gross: 920,
      });
      const done = await complete(fresh.registerApi, `/v1/sales/${op.id}`, [cash(920)]);
      expect(processData(done)).toBe('Beleg^9.20_0.00_0.00_0.00_0.00^9.20:Bar');
      expectError(
        await fresh.registerApi.patch(`/v1/sales/${op.id}`, { line_items: [line('Kaffee', 1, 250)] }),
        409,
        'operation_not_open',
      );
    });

    it('allocates a cart discount after line discounts so that the allocations sum exactly', async () => {
      const op = await openSale(f.registerApi, f.register.id, {
        line_items: [
          { ...line('Sekt', 2, 1800), line_discounts: [{ type: 'percentage', rate: '0.1', label: 'Happy Hour' }] },
          line('Wein', 1, 1000),
          line('Buch', 3, 333, '0.07'),
        ],
        cart_discounts: [{ type: 'amount', amount: 500, label: 'Gutschein' }],
      });
      const [sekt, wein, buch] = op.data.line_items ?? [];
      const cartDiscountId = op.data.cart_discounts?.[0]?.id;
      expect(cartDiscountId).toMatch(ID('cdsc'));
      expect(sekt).toMatchObject({
        quantity: 2,
        unit: 'piece',
        unit_price_gross: 1800,
        subtotal_gross: 3600,
        line_discount_amount: 360,
        subtotal_after_line_discounts: 3240,
        cart_discount_amount: 309,
        total_gross: 2931,
      });
      expect(sekt?.line_discounts).toEqual([
        {
          id: expect.stringMatching(ID('ldsc')) as unknown,
          type: 'percentage',
          // Rates come back in canonical form: trailing zeros dropped, at least two decimals.
          rate: '0.10',
          amount: 360,
          label: 'Happy Hour',
          source: null,
        },
      ]);
      expect(sekt?.cart_discount_allocations).toEqual([
        { discount_id: cartDiscountId, amount: 309, label: 'Gutschein' },
      ]);
      // 500 × 1000/5239 = 95.44 and 500 × 999/5239 = 95.34: the missing unit goes to the larger remainder.
      expect(wein).toMatchObject({ subtotal_after_line_discounts: 1000, cart_discount_amount: 96, total_gross: 904 });
      expect(buch).toMatchObject({ subtotal_gross: 999, cart_discount_amount: 95, total_gross: 904 });
      const allocated = (op.data.line_items ?? []).flatMap((item) => item.cart_discount_allocations);
      expect(allocated.reduce((sum, allocation) => sum + allocation.amount, 0)).toBe(500);
      expect(op.data.totals).toEqual({
        subtotal_gross: 5599,
        total_line_discounts: 360,
        subtotal_after_line_discounts: 5239,
        total_cart_discounts: 500,
        subtotal_after_all_discounts: 4739,
        rounding_adjustment: 0,
        total_gross: 4739,
        total_net: 4068,
        total_tax: 671,
        net_payable: 4739,
        tax_breakdown: [
          { rate: '0.19', category: 'standard', taxable_amount: 3223, tax_amount: 612, gross: 3835 },
          { rate: '0.07', category: 'reduced', taxable_amount: 845, tax_amount: 59, gross: 904 },
        ],
      });
      const done = await complete(f.registerApi, `/v1/sales/${op.id}`, [card(4739)]);
      expect(done.data.line_items).toEqual(op.data.line_items);
      expect(processData(done)).toBe('Beleg^38.35_9.04_0.00_0.00_0.00^47.39:Unbar');
    });

    it('extracts tax per rate group from gross (Schnitzel example, and mixed 19 %/7 %)', async () => {
      const schnitzel = await openSale(f.registerApi, f.register.id, {
        line_items: [
          line('Wiener Schnitzel', 1, 1850),
          line('Berliner Weisse', 2, 650),
          line('Espresso', 2, 350),
          line('Mineralwasser', 1, 450),
        ],
      });
      expect(schnitzel.data.totals).toMatchObject({
        total_gross: 4300,
        total_tax: 687,
        total_net: 3613,
        tax_breakdown: [{ rate: '0.19', category: 'standard', taxable_amount: 3613, tax_amount: 687, gross: 4300 }],
      });

      // Per line, 3 × 10 ct at 19 % would be 3 × 2 ct tax and 3 × 7 ct at 7 % 3 × 0 ct; per group it is 5 and 1.
      const mixed = await openSale(f.registerApi, f.register.id, {
        line_items: [
          line('Wiener Schnitzel', 1, 1850, '0.07'),
          line('Berliner Weisse', 2, 650),
          line('Kaugummi', 1, 10),
          line('Kaugummi', 1, 10),
          line('Kaugummi', 1, 10),
          line('Bonbon', 1, 7, '0.07'),
          line('Bonbon', 1, 7, '0.07'),
          line('Bonbon', 1, 7, '0.07'),
        ],
      });
      expect(mixed.data.totals).toMatchObject({
        total_gross: 3201,
        total_tax: 334,
        total_net: 2867,
        tax_breakdown: [
          { rate: '0.19', category: 'standard', taxable_amount: 1118, tax_amount: 212, gross: 1330 },
          { rate: '0.07', category: 'reduced', taxable_amount: 1749, tax_amount: 122, gross: 1871 },
        ],
      });
      const done = await complete(f.registerApi, `/v1/sales/${mixed.id}`, [cash(3000), card(201)]);
      expect(processData(done)).toBe('Beleg^13.30_18.71_0.00_0.00_0.00^30.00:Bar_2.01:Unbar');
      const espresso = await complete(f.registerApi, `/v1/sales/${schnitzel.id}`, [card(4300)]);
      expect(espresso.data.totals).toEqual(schnitzel.data.totals);
    });

    it('takes change as an outbound cash payment', async () => {
      const op = await openSale(f.registerApi, f.register.id, {
        line_items: [line('Pizza', 2, 1500), line('Wein', 1, 1250)],
      });
      expect(totalOf(op)).toBe(4250);
      const done = await complete(f.registerApi, `/v1/sales/${op.id}`, [
        { ...cash(5000), cash: { amount_tendered: 5000 } },
        cash(750, 'outbound'),
      ]);
      expect(done).toMatchObject({ state: 'completed', fiscal_state: 'succeeded' });
      expect(done.completed_at).toMatch(TIMESTAMP);
      expect(done.data.payments).toEqual([
        {
          id: expect.stringMatching(ID('pay')) as unknown,
          method: 'cash',
          direction: 'inbound',
          amount: 5000,
          currency: 'EUR',
          cash: { amount_tendered: 5000 },
        },
        {
          id: expect.stringMatching(ID('pay')) as unknown,
          method: 'cash',
          direction: 'outbound',
          amount: 750,
          currency: 'EUR',
        },
      ]);
      expect(processData(done)).toBe('Beleg^42.50_0.00_0.00_0.00_0.00^42.50:Bar');
      expect(done.fiscal).toMatchObject({ document_type: 'Beleg', document_number: expect.any(String) as unknown });
    });

    it('refuses payments that do not add up or are in another currency, and unknown tax rates', async () => {
      const op = await openSale(f.registerApi, f.register.id, { line_items: [line('Pizza', 1, 1200)] });
      const path = `/v1/sales/${op.id}/complete`;
      const logsBefore = await tseLogs(t, { operationId: op.id });
      const mismatch = expectError(
        await f.registerApi.post(path, { payments: [cash(1000)] }),
        422,
        'payment_total_mismatch',
        'payments',
      );
      expect(mismatch.message).toContain('1200');
      expectError(
        await f.registerApi.post(path, { payments: [cash(1500), cash(200, 'outbound')] }),
        422,
        'payment_total_mismatch',
        'payments',
      );
      expectError(
        await f.registerApi.post(path, { payments: [{ ...cash(1200), currency: 'USD' }] }),
        422,
        'currency_mismatch',
        'payments[0].currency',
      );
      const still = await f.registerApi.get<Operation>(`/v1/sales/${op.id}`);
      expect(still.body).toMatchObject({ state: 'open', fiscal_state: 'pending' });
      expect(await tseLogs(t, { operationId: op.id })).toEqual(logsBefore);

      // 16 % was the German standard rate only in the second half of 2020.
      const sequenceBefore = await lastSequenceNumber(t, f.register.id);
      const invalid = expectError(
        await startSale(f.registerApi, f.register.id, {
          line_items: [{ ...line('Pizza', 1, 1200), tax: { rate: '0.16', category: 'standard' } }],
        }),
        422,
        'invalid_tax_rate',
        'line_items[0].tax.rate',
      );
      expect(invalid.message).toContain('0.19');
      expectError(
        await startSale(f.registerApi, f.register.id, {
          line_items: [line('Pizza', 1, 1200), { ...line('Brot', 1, 300), tax: { rate: '0.19', category: 'reduced' } }],
        }),
        422,
        'invalid_tax_rate',
        'line_items[1].tax.rate',
      );
      expect(await lastSequenceNumber(t, f.register.id)).toBe(sequenceBefore);
      expectError(
        await f.registerApi.patch(`/v1/sales/${op.id}`, {
          line_items: [{ ...line('Pizza', 1, 1200), tax: { rate: '0.05', category: 'reduced' } }],
        }),
        422,
        'invalid_tax_rate',
        'line_items[0].tax.rate',
      );
      expectError(
        await f.registerApi.post(path, {
          payments: [cash(1200)],
          line_items: [{ ...line('Pizza', 1, 1200), tax: { rate: '0.16', category: 'standard' } }],
        }),
        422,
        'invalid_tax_rate',
        'line_items[0].tax.rate',
      );
      expect((await complete(f.registerApi, `/v1/sales/${op.id}`, [cash(1200)])).state).toBe('completed');
    });

    it('completes with replacement lines, keeping the cart discounts as PATCH does', async () => {
      const op = await openSale(f.registerApi, f.register.id, {
        line_items: [line('Bier', 1, 500)],
        cart_discounts: [{ type: 'percentage', rate: '0.1', label: 'Stammtisch' }],
      });
      expect(totalOf(op)).toBe(450);
      const response = await f.registerApi.post<Operation>(`/v1/sales/${op.id}/complete`, {
        payments: [cash(900)],
        line_items: [line('Bier', 2, 500)],
      });
      expect(response.status, response.text).toBe(200);
      expect(response.body.data.totals).toMatchObject({
        subtotal_gross: 1000,
        total_cart_discounts: 100,
        total_gross: 900,
      });
      expect(response.body.data.cart_discounts).toMatchObject([{ type: 'percentage', rate: '0.10', amount: 100 }]);
    });

    it('refuses to complete an empty sale, or anything twice', async () => {
      const empty = await openSale(f.registerApi, f.register.id, {});
      expect(empty.data.line_items).toEqual([]);
      expect(empty.data.totals?.total_gross).toBe(0);
      expectError(
        await f.registerApi.post(`/v1/sales/${empty.id}/complete`, { payments: [cash(100)] }),
        422,
        'empty_operation',
        'line_items',
      );
      const cancelled = await f.registerApi.post<Operation>(`/v1/sales/${empty.id}/cancel`, { reason: 'Leer' });
      expect(cancelled.status, cancelled.text).toBe(200);

      const sale = await cashSale(f.registerApi, f.register.id);
      expectError(
        await f.registerApi.post(`/v1/sales/${sale.id}/complete`, { payments: [cash(totalOf(sale))] }),
        409,
        'operation_not_open',
      );
      expectError(
        await f.registerApi.post(`/v1/sales/${sale.id}/cancel`, { reason: 'Zu spät' }),
        409,
        'operation_not_open',
      );
      expectError(
        await f.registerApi.post(`/v1/sales/${empty.id}/complete`, { payments: [cash(100)] }),
        409,
        'operation_not_open',
      );
      expect(await tseLogs(t, { operationId: sale.id })).toHaveLength(2);
      expect((await f.registerApi.get<Operation>(`/v1/sales/${sale.id}`)).body).toEqual(sale);
    });

    it('cancels an open sale as a DE aborted receipt', async () => {
      const op = await openSale(f.registerApi, f.register.id, { line_items: [line('Eis', 2, 250)] });
      expectError(await f.registerApi.post(`/v1/sales/${op.id}/cancel`, {}), 400, 'invalid_request', 'reason');
      const response = await f.registerApi.post<Operation>(`/v1/sales/${op.id}/cancel`, { reason: 'Kunde ging' });
      expect(response.status, response.text).toBe(200);
      expect(response.body).toMatchObject({
        state: 'cancelled',
        fiscal_state: 'succeeded',
        completed_at: null,
        references: { reason: 'Kunde ging' },
      });
      expect(response.body.fiscal?.document_type).toBe('AVBelegabbruch');
      expect(processData(response.body)).toMatch(/^AVBelegabbruch\^/);
      expect(response.body.fiscal?.verification.qr_data).toContain(';AVBelegabbruch^');
      const logs = await tseLogs(t, { operationId: op.id });
      expect(logs.map((log) => log.operationType)).toEqual(['StartTransaction', 'FinishTransaction']);
      expect(parseLogMessage(logs[1]?.message ?? Buffer.alloc(0)).processData?.toString('utf8')).toBe(
        processData(response.body),
      );
    });

    it('marks training sales as such', async () => {
      const op = await openSale(f.registerApi, f.register.id, { training: true, line_items: [line('Übung', 1, 990)] });
      expect(op.type).toBe('training');
      const done = await complete(f.registerApi, `/v1/sales/${op.id}`, [cash(990)]);
      expect(done).toMatchObject({ type: 'training', state: 'completed' });
      expect(processData(done)).toMatch(/^AVTraining\^/);
      expect(processData(done)).toBe('AVTraining^9.90_0.00_0.00_0.00_0.00^9.90:Bar');
      expect(done.fiscal?.document_type).toBe('AVTraining');
      const ordinary = await cashSale(f.registerApi, f.register.id);
      expect(processData(ordinary)).toMatch(/^Beleg\^/);
    });

    it('keeps several sales open at once on one register', async () => {
      const fresh = await createFiscalRegister(t);
      const sales: Operation[] = [];
      for (const [i, price] of [300, 400, 500].entries()) {
        sales.push(
          await openSale(fresh.registerApi, fresh.register.id, { line_items: [line(`Tisch ${String(i)}`, 1, price)] }),
        );
      }
      expect(sales.map((op) => op.sequence_number)).toEqual([1, 2, 3]);
      expect(sales.map((op) => op.fiscal?.transaction_number)).toEqual([1, 2, 3]);
      const middle = await complete(fresh.registerApi, `/v1/sales/${sales[1]?.id ?? ''}`, [cash(400)]);
      expect(middle.fiscal?.transaction_number).toBe(2);
      const last = await complete(fresh.registerApi, `/v1/sales/${sales[2]?.id ?? ''}`, [cash(500)]);
      expect(last.fiscal?.verification.qr_data).toContain(';Beleg^5.00_');
      const open = await fresh.registerApi.get<Page<Operation>>(`/v1/registers/${fresh.register.id}/sales?state=open`);
      expect(open.body.data.map((op) => op.id)).toEqual([sales[0]?.id]);
      expect((await complete(fresh.registerApi, `/v1/sales/${sales[0]?.id ?? ''}`, [cash(300)])).sequence_number).toBe(
        1,
      );
    });
  });

  describe('refunds', () => {
    it('refunds everything by default: positive totals, negative net payable, outbound payments', async () => {
      const sale = await openSale(f.registerApi, f.register.id, {
        line_items: [
          { ...line('Sekt', 2, 1800), line_discounts: [{ type: 'percentage', rate: '0.1' }] },
          line('Buch', 1, 1000, '0.07'),
        ],
      });
      const paid = await complete(f.registerApi, `/v1/sales/${sale.id}`, [card(4240)]);
      const refund = await startRefund(f.registerApi, f.register.id, {
        original_operation_id: paid.id,
        cashier: { id: 'c-1', display_name: 'Anna' },
      });
      expect(refund).toMatchObject({
        type: 'refund',
        state: 'open',
        references: { original_operation_id: paid.id, voided_by: null },
        cashier: { id: 'c-1', display_name: 'Anna' },
      });
      expect(
        refund.data.line_items?.map((item) => [item.original_line_item_id, item.quantity, item.total_gross]),
      ).toEqual([
        [lineIds(paid)[0], 2, 3240],
        [lineIds(paid)[1], 1, 1000],
      ]);
      expect(refund.data.totals).toMatchObject({
        total_gross: 4240,
        total_tax: 517 + 65,
        net_payable: -4240,
        tax_breakdown: [
          { rate: '0.19', category: 'standard', gross: 3240, tax_amount: 517, taxable_amount: 2723 },
          { rate: '0.07', category: 'reduced', gross: 1000, tax_amount: 65, taxable_amount: 935 },
        ],
      });
      // Money goes back: inbound payments do not settle a refund.
      expectError(
        await f.registerApi.post(`/v1/refunds/${refund.id}/complete`, { payments: [card(4240)] }),
        422,
        'payment_total_mismatch',
        'payments',
      );
      const done = await complete(f.registerApi, `/v1/refunds/${refund.id}`, [card(4240, 'outbound')]);
      expect(done).toMatchObject({ type: 'refund', state: 'completed', fiscal_state: 'succeeded' });
      expectError(
        await f.registerApi.post(`/v1/registers/${f.register.id}/refunds`, { original_operation_id: paid.id }),
        422,
        'refund_exceeds_original',
        'line_items',
      );
      // The TSE signs the refund receipt: gross and the money paid back are both negative (as for an exchange in
      // the shop's favour), so the payments balance the gross amounts.
      expect(processData(done)).toBe('Beleg^-32.40_-10.00_0.00_0.00_0.00^-42.40:Unbar');
    });

    it('refunds by line and quantity at the price actually paid, never more than the original in total', async () => {
      const sale = await openSale(f.registerApi, f.register.id, {
        line_items: [
          { ...line('Teller', 3, 999), line_discounts: [{ type: 'amount', amount: 100, label: 'Mängelexemplar' }] },
          line('Tasse', 2, 500),
        ],
      });
      const paid = await complete(f.registerApi, `/v1/sales/${sale.id}`, [cash(3897)]);
      const [teller, tasse] = lineIds(paid);
      const refund = (lines: Array<{ line_item_id: string | undefined; quantity: number }>) =>
        f.registerApi.post<Operation>(`/v1/registers/${f.register.id}/refunds`, {
          original_operation_id: paid.id,
          line_items: lines,
        });

      // One plate of 2897 for three: 966, then 965, then 966 — pro rata, summing exactly to what was paid.
      const first = await refund([{ line_item_id: teller, quantity: 1 }]);
      expect(first.status, first.text).toBe(201);
      expect(first.body.data.line_items).toMatchObject([
        { original_line_item_id: teller, quantity: 1, total_gross: 966, line_discounts: [] },
      ]);
      expect(first.body.data.totals).toMatchObject({ total_gross: 966, net_payable: -966 });
      await complete(f.registerApi, `/v1/refunds/${first.body.id}`, [cash(966, 'outbound')]);

      const second = await refund([
        { line_item_id: teller, quantity: 1 },
        { line_item_id: tasse, quantity: 2 },
      ]);
      expect(second.status, second.text).toBe(201);
      expect(second.body.data.line_items?.map((item) => item.total_gross)).toEqual([965, 1000]);
      // An open refund holds its lines.
      expectError(
        await refund([{ line_item_id: teller, quantity: 2 }]),
        422,
        'refund_exceeds_original',
        'line_items[0].quantity',
      );
      expectError(
        await refund([
          { line_item_id: teller, quantity: 1 },
          { line_item_id: tasse, quantity: 1 },
        ]),
        422,
        'refund_exceeds_original',
        'line_items[1].quantity',
      );
      expectError(
        await refund([
          { line_item_id: teller, quantity: 0.5 },
          { line_item_id: teller, quantity: 0.6 },
        ]),
        422,
        'refund_exceeds_original',
        'line_items[1].quantity',
      );
      // A cancelled one gives them back.
      const cancelled = await f.registerApi.post(`/v1/refunds/${second.body.id}/cancel`, { reason: 'Doch behalten' });
      expect(cancelled.status, cancelled.text).toBe(200);

      const rest = await startRefund(f.registerApi, f.register.id, { original_operation_id: paid.id });
      expect(
        rest.data.line_items?.map((item) => [item.original_line_item_id, item.quantity, item.total_gross]),
      ).toEqual([
        [teller, 2, 2897 - 966],
        [tasse, 2, 1000],
      ]);
      await complete(f.registerApi, `/v1/refunds/${rest.id}`, [cash(2931, 'outbound')]);
      expectError(
        await refund([{ line_item_id: tasse, quantity: 1 }]),
        422,
        'refund_exceeds_original',
        'line_items[0].quantity',
      );
      expectError(
        await f.registerApi.post(`/v1/registers/${f.register.id}/refunds`, { original_operation_id: paid.id }),
        422,
        'refund_exceeds_original',
        'line_items',
      );
      // What was refunded in total is exactly what was paid.
      const refunds = await f.registerApi.get<Page<Operation>>(
        `/v1/registers/${f.register.id}/refunds?state=completed&limit=200`,
      );
      const ofThisSale = refunds.body.data.filter((op) => op.references.original_operation_id === paid.id);
      expect(ofThisSale.reduce((sum, op) => sum + totalOf(op), 0)).toBe(totalOf(paid));
    });

    it('refuses refunds of what is not a completed line of a completed sale', async () => {
      const open = await openSale(f.registerApi, f.register.id, { line_items: [line('Vase', 1, 2000)] });
      expectError(
        await f.registerApi.post(`/v1/registers/${f.register.id}/refunds`, { original_operation_id: open.id }),
        409,
        'operation_not_completed',
      );
      const paid = await complete(f.registerApi, `/v1/sales/${open.id}`, [cash(2000)]);
      const other = await cashSale(f.registerApi, f.register.id);
      expectError(
        await f.registerApi.post(`/v1/registers/${f.register.id}/refunds`, {
          original_operation_id: paid.id,
          line_items: [{ line_item_id: lineIds(other)[0], quantity: 1 }],
        }),
        422,
        'validation_error',
        'line_items[0].line_item_id',
      );
      expectError(
        await f.registerApi.post(`/v1/registers/${f.register.id}/refunds`, {
          original_operation_id: paid.id,
          line_items: [{ line_item_id: lineIds(paid)[0], quantity: 2 }],
        }),
        422,
        'refund_exceeds_original',
        'line_items[0].quantity',
      );
    });
  });

  describe('exchanges', () => {
    it('gives back lines and sells new ones; the net settles in either direction', async () => {
      const paid = await complete(
        f.registerApi,
        `/v1/sales/${(await openSale(f.registerApi, f.register.id, { line_items: [line('Hemd M', 1, 2500), line('Socken', 2, 500)] })).id}`,
        [card(3500)],
      );
      const [hemd, socken] = lineIds(paid);

      // Customer pays the difference.
      const up = await f.registerApi.post<Operation>(`/v1/registers/${f.register.id}/exchanges`, {
        original_operation_id: paid.id,
        returned_line_items: [{ line_item_id: hemd, quantity: 1 }],
        line_items: [line('Hemd L (Premium)', 1, 3000)],
      });
      expect(up.status, up.text).toBe(201);
      expect(up.body).toMatchObject({
        type: 'exchange',
        state: 'open',
        references: { original_operation_id: paid.id },
      });
      expect(up.body.data.returned_line_items).toMatchObject([
        { original_line_item_id: hemd, quantity: 1, total_gross: 2500 },
      ]);
      expect(up.body.data.line_items).toMatchObject([{ description: 'Hemd L (Premium)', total_gross: 3000 }]);
      expect(up.body.data.totals).toMatchObject({ total_gross: 500, net_payable: 500 });
      expectError(
        await f.registerApi.post(`/v1/exchanges/${up.body.id}/complete`, { payments: [card(500, 'outbound')] }),
        422,
        'payment_total_mismatch',
        'payments',
      );
      const upDone = await complete(f.registerApi, `/v1/exchanges/${up.body.id}`, [card(500)]);
      expect(processData(upDone)).toBe('Beleg^5.00_0.00_0.00_0.00_0.00^5.00:Unbar');

      // The shop pays the difference.
      const down = await f.registerApi.post<Operation>(`/v1/registers/${f.register.id}/exchanges`, {
        original_operation_id: paid.id,
        returned_line_items: [{ line_item_id: socken, quantity: 2 }],
        line_items: [line('Schnürsenkel', 1, 400)],
      });
      expect(down.status, down.text).toBe(201);
      expect(down.body.data.totals).toMatchObject({ total_gross: -600, net_payable: -600 });
      expectError(
        await f.registerApi.post(`/v1/exchanges/${down.body.id}/complete`, { payments: [cash(600)] }),
        422,
        'payment_total_mismatch',
        'payments',
      );
      const downDone = await complete(f.registerApi, `/v1/exchanges/${down.body.id}`, [cash(600, 'outbound')]);
      expect(processData(downDone)).toBe('Beleg^-6.00_0.00_0.00_0.00_0.00^-6.00:Bar');

      // Exchanged lines are gone from what can be refunded.
      expectError(
        await f.registerApi.post(`/v1/registers/${f.register.id}/refunds`, {
          original_operation_id: paid.id,
          line_items: [{ line_item_id: hemd, quantity: 1 }],
        }),
        422,
        'refund_exceeds_original',
        'line_items[0].quantity',
      );
      expectError(
        await f.registerApi.post(`/v1/registers/${f.register.id}/exchanges`, {
          original_operation_id: paid.id,
          returned_line_items: [{ line_item_id: socken, quantity: 1 }],
          line_items: [line('Mütze', 1, 900)],
        }),
        422,
        'refund_exceeds_original',
        'returned_line_items[0].quantity',
      );
    });
  });

  describe('voids', () => {
    it('voids a completed sale in full, once', async () => {
      const sale = await cashSale(f.registerApi, f.register.id, [line('Torte', 1, 2400), line('Kaffee', 2, 250)]);
      const response = await f.registerApi.post<Operation>(`/v1/registers/${f.register.id}/voids`, {
        original_operation_id: sale.id,
        reason: 'Falsch gebucht',
      });
      expect(response.status, response.text).toBe(201);
      const voided = response.body;
      expect(voided).toMatchObject({
        type: 'void',
        state: 'completed',
        fiscal_state: 'succeeded',
        references: { original_operation_id: sale.id, voided_by: null, reason: 'Falsch gebucht' },
      });
      expect(voided.completed_at).toMatch(TIMESTAMP);
      expect(voided.sequence_number).toBe(sale.sequence_number + 1);
      expect(voided.data.totals?.total_gross).toBe(totalOf(sale));
      expect(voided.data.payments?.map((payment) => [payment.method, payment.direction, payment.amount])).toEqual([
        ['cash', 'outbound', 2900],
      ]);
      // The TSE signs the reversal: the original's amounts, negated.
      expect(voided.fiscal?.end_event).not.toBeNull();
      expect(grossPart(processData(voided))).toBe(negate(grossPart(processData(sale))));
      expect(voided.fiscal?.verification.qr_data).toEqual(expect.stringMatching(/^V0;/));

      const original = await f.registerApi.get<Operation>(`/v1/sales/${sale.id}`);
      expect(original.body.references.voided_by).toBe(voided.id);
      expect(original.body.state).toBe('completed');
      expect((await f.registerApi.get<Operation>(`/v1/voids/${voided.id}`)).body).toEqual(voided);

      expectError(
        await f.registerApi.post(`/v1/registers/${f.register.id}/voids`, {
          original_operation_id: sale.id,
          reason: 'Nochmal',
        }),
        409,
        'already_voided',
      );
      expectError(
        await f.registerApi.post(`/v1/registers/${f.register.id}/refunds`, { original_operation_id: sale.id }),
        409,
        'already_voided',
      );
      const open = await openSale(f.registerApi, f.register.id, { line_items: [line('Kuchen', 1, 300)] });
      expectError(
        await f.registerApi.post(`/v1/registers/${f.register.id}/voids`, {
          original_operation_id: open.id,
          reason: 'Offen',
        }),
        409,
        'operation_not_completed',
      );
      expect((await f.registerApi.get<Operation>(`/v1/sales/${open.id}`)).body.references.voided_by).toBeNull();
      // Like every settled operation, the void's payments (the original's, reversed) net to its net_payable: the
      // money goes back, so it is negative as on a refund.
      const paymentsNet = (voided.data.payments ?? []).reduce(
        (sum, payment) => sum + (payment.direction === 'inbound' ? payment.amount : -payment.amount),
        0,
      );
      expect(paymentsNet).toBe(-2900);
      expect(voided.data.totals?.net_payable).toBe(paymentsNet);
    });

    it('needs a reason (422 reason_required) and then writes nothing', async () => {
      const sale = await cashSale(f.registerApi, f.register.id);
      for (const body of [{ original_operation_id: sale.id }, { original_operation_id: sale.id, reason: '   ' }]) {
        expectError(
          await f.registerApi.post(`/v1/registers/${f.register.id}/voids`, body),
          422,
          'reason_required',
          'reason',
        );
      }
      expect((await f.registerApi.get<Operation>(`/v1/sales/${sale.id}`)).body.references.voided_by).toBeNull();
      const next = await cashSale(f.registerApi, f.register.id);
      expect(next.sequence_number).toBe(sale.sequence_number + 1);
    });
  });

  describe('cash movements', () => {
    it('records several kinds, each signed', async () => {
      const fresh = await createFiscalRegister(t);
      const movements = [
        {
          direction: 'in',
          kind: 'opening_float',
          amount: 15000,
          expected: 'Beleg^0.00_0.00_0.00_0.00_150.00^150.00:Bar',
        },
        { direction: 'out', kind: 'pay_out', amount: 2000, expected: 'Beleg^0.00_0.00_0.00_0.00_-20.00^-20.00:Bar' },
        { direction: 'out', kind: 'drop', amount: 5000, expected: 'Beleg^0.00_0.00_0.00_0.00_-50.00^-50.00:Bar' },
        {
          direction: 'in',
          kind: 'private_deposit',
          amount: 10000,
          expected: 'Beleg^0.00_0.00_0.00_0.00_100.00^100.00:Bar',
        },
        { direction: 'out', kind: 'correction', amount: 7, expected: 'Beleg^0.00_0.00_0.00_0.00_-0.07^-0.07:Bar' },
      ] as const;
      for (const [i, { expected, ...body }] of movements.entries()) {
        const response = await fresh.registerApi.post<Operation>(`/v1/registers/${fresh.register.id}/cash-movements`, {
          ...body,
          reason: `Bewegung ${String(i)}`,
        });
        expect(response.status, response.text).toBe(201);
        expect(response.body).toMatchObject({
          type: 'cash_movement',
          state: 'completed',
          fiscal_state: 'succeeded',
          sequence_number: i + 1,
          data: {
            direction: body.direction,
            kind: body.kind,
            amount: body.amount,
            currency: 'EUR',
            reason: `Bewegung ${String(i)}`,
          },
        });
        expect(response.body.fiscal?.start_event).not.toBeNull();
        expect(processData(response.body)).toBe(expected);
        expect((await fresh.registerApi.get<Operation>(`/v1/cash-movements/${response.body.id}`)).body).toEqual(
          response.body,
        );
      }
      for (const [kind, direction] of [
        ['opening_float', 'out'],
        ['pay_out', 'in'],
        ['private_withdrawal', 'in'],
        ['tip_out', 'in'],
      ] as const) {
        expectError(
          await fresh.registerApi.post(`/v1/registers/${fresh.register.id}/cash-movements`, {
            direction,
            kind,
            amount: 100,
          }),
          422,
          'validation_error',
          'direction',
        );
      }
      expectError(
        await fresh.registerApi.post(`/v1/registers/${fresh.register.id}/cash-movements`, {
          direction: 'in',
          kind: 'pay_in',
          amount: 100,
          currency: 'CHF',
        }),
        422,
        'currency_mismatch',
        'currency',
      );
      expectError(
        await fresh.registerApi.post(`/v1/registers/${fresh.register.id}/cash-movements`, {
          direction: 'in',
          kind: 'pay_in',
          amount: 0,
        }),
        400,
        'invalid_request',
        'amount',
      );
      // The refusals took no number.
      expect(await lastSequenceNumber(t, fresh.register.id)).toBe(movements.length);
    });
  });

  describe('reading', () => {
    it('answers each type under its own path and any type under /v1/operations', async () => {
      const sale = await cashSale(f.registerApi, f.register.id);
      const refund = await startRefund(f.registerApi, f.register.id, { original_operation_id: sale.id });
      for (const path of ['refunds', 'exchanges', 'voids', 'cash-movements']) {
        expectError(await f.registerApi.get(`/v1/${path}/${sale.id}`), 404, 'not_found');
      }
      expectError(await f.registerApi.get(`/v1/sales/${refund.id}`), 404, 'not_found');
      expectError(
        await f.registerApi.post(`/v1/refunds/${sale.id}/complete`, { payments: [cash(1, 'outbound')] }),
        404,
        'not_found',
      );
      expectError(await f.registerApi.post(`/v1/sales/${refund.id}/cancel`, { reason: 'x' }), 404, 'not_found');
      expectError(await f.registerApi.get(`/v1/sales/${f.register.id}`), 404, 'not_found');
      expectError(await f.registerApi.get('/v1/operations/op_01jd7xq3m9e5rbq0c2kfvx8w4t'), 404, 'not_found');
      expect((await f.registerApi.get<Operation>(`/v1/operations/${sale.id}`)).body).toEqual(sale);
      expect((await f.registerApi.get<Operation>(`/v1/operations/${refund.id}`)).body).toEqual(refund);
      expect((await f.registerApi.get<Operation>(`/v1/refunds/${refund.id}`)).body).toEqual(refund);
      const cancelled = await f.registerApi.post(`/v1/refunds/${refund.id}/cancel`, { reason: 'Irrtum' });
      expect(cancelled.status).toBe(200);
    });

    it('lists operations with type and state filters', async () => {
      const fresh = await createFiscalRegister(t);
      const api = fresh.registerApi;
      const base = `/v1/registers/${fresh.register.id}`;
      const sale = await cashSale(api, fresh.register.id);
      const open = await openSale(api, fresh.register.id, { line_items: [line('Offen', 1, 100)] });
      const training = await openSale(api, fresh.register.id, { training: true, line_items: [line('Übung', 1, 100)] });
      const refund = await startRefund(api, fresh.register.id, { original_operation_id: sale.id });
      const movement = await api.post<Operation>(`${base}/cash-movements`, {
        direction: 'in',
        kind: 'pay_in',
        amount: 500,
      });
      expect(movement.status).toBe(201);

      const ids = async (query: string) => {
        const response = await api.get<Page<Operation>>(`${base}/${query}`);
        expect(response.status, response.text).toBe(200);
        expect(response.body.object).toBe('list');
        return response.body.data.map((op) => op.id);
      };
      expect(await ids('operations')).toEqual([sale.id, open.id, training.id, refund.id, movement.body.id]);
      expect(await ids('operations?order=desc')).toEqual([movement.body.id, refund.id, training.id, open.id, sale.id]);
      expect(await ids('operations?type=sale')).toEqual([sale.id, open.id]);
      expect(await ids('operations?type=training')).toEqual([training.id]);
      expect(await ids('operations?type=refund')).toEqual([refund.id]);
      expect(await ids('operations?type=cash_movement')).toEqual([movement.body.id]);
      expect(await ids('operations?state=open')).toEqual([open.id, training.id, refund.id]);
      expect(await ids('operations?state=completed')).toEqual([sale.id, movement.body.id]);
      expect(await ids('operations?type=sale&state=open')).toEqual([open.id]);
      expect(await ids('operations?state=cancelled')).toEqual([]);
      expect(await ids('sales')).toEqual([sale.id, open.id, training.id]);
      expect(await ids('sales?state=completed')).toEqual([sale.id]);
      expect(await ids('refunds')).toEqual([refund.id]);
      expect(await ids('operations?limit=2')).toEqual([sale.id, open.id]);
      expectError(await api.get(`${base}/operations?type=deposit`), 400, 'invalid_request', 'type');
      expectError(await api.get(`${base}/operations?state=done`), 400, 'invalid_request', 'state');
    });
  });

  describe('the receipt QR code', () => {
    it('carries the finish log, and its signature verifies with the public key from the QR code alone', async () => {
      const sale = await cashSale(f.registerApi, f.register.id, [line('Döner', 2, 650), line('Ayran', 1, 200, '0.07')]);
      const qr = sale.fiscal?.verification.qr_data ?? '';
      const fields = qr.split(';');
      expect(fields).toHaveLength(12);
      const [
        version,
        clientId,
        processType,
        data,
        transaction,
        counter,
        startTime,
        logTime,
        algorithm,
        timeFormat,
        signature,
        publicKey,
      ] = fields;
      const end = sale.fiscal?.end_event;
      expect(version).toBe('V0');
      expect(clientId).toBe(f.register.serial_number);
      expect(processType).toBe('Kassenbeleg-V1');
      expect(data).toBe(end?.process_data);
      expect(data).toBe('Beleg^13.00_2.00_0.00_0.00_0.00^15.00:Bar');
      expect(Number(transaction)).toBe(sale.fiscal?.transaction_number);
      expect(Number(counter)).toBe(end?.transaction_counter);
      expect(startTime).toBe(sale.fiscal?.start_event?.signed_at);
      expect(logTime).toBe(end?.signed_at);
      expect(algorithm).toBe('ecdsa-plain-SHA256');
      expect(timeFormat).toBe('unixTime');
      expect(signature).toBe(end?.signature);
      expect(publicKey).toBe(f.unit.fiscal_registration.public_key);

      const finishLogs = (await tseLogs(t, { operationId: sale.id })).filter(
        (log) => log.operationType === 'FinishTransaction',
      );
      expect(finishLogs).toHaveLength(1);
      const log = parseLogMessage(finishLogs[0]?.message ?? Buffer.alloc(0));
      expect(log).toMatchObject({
        logType: 'transaction',
        operationType: 'FinishTransaction',
        clientId,
        processType,
        transactionNumber: BigInt(transaction ?? ''),
        signatureCounter: BigInt(counter ?? ''),
        logTime: BigInt(Date.parse(logTime ?? '') / 1000),
      });
      expect(log.processData?.toString('utf8')).toBe(data);
      expect(log.serialNumber.toString('hex')).toBe(sale.fiscal?.tse_serial);
      expect(log.signatureValue.toString('base64')).toBe(signature);

      // Only what the QR code carries: its public key point and its signature, over the stored signed bytes.
      const key = publicKeyOfPoint(publicKey ?? '');
      const signatureBytes = Buffer.from(signature ?? '', 'base64');
      expect(signatureBytes).toHaveLength(64);
      expect(verify('sha256', log.dtbs, { key, dsaEncoding: 'ieee-p1363' }, signatureBytes)).toBe(true);
      // And it would not verify over anything else.
      const tampered = Buffer.from(log.dtbs);
      const at = tampered.indexOf(Buffer.from('13.00'));
      expect(at).toBeGreaterThan(0);
      tampered.write('93', at);
      expect(verify('sha256', tampered, { key, dsaEncoding: 'ieee-p1363' }, signatureBytes)).toBe(false);
    });
  });

  describe('register keys', () => {
    it('sell on their own register and see nothing of another', async () => {
      const other = await createFiscalRegister(t, {
        orgApi: f.orgApi,
        organizationId: f.organizationId,
        locationId: f.locationId,
      });
      const mine = await cashSale(f.registerApi, f.register.id);
      expect(mine.register_id).toBe(f.register.id);
      const theirs = await openSale(other.registerApi, other.register.id, { line_items: [line('Bier', 1, 400)] });

      expectError(
        await startSale(f.registerApi, other.register.id, { line_items: [line('Bier', 1, 400)] }),
        403,
        'forbidden',
      );
      expectError(
        await f.registerApi.post(`/v1/registers/${other.register.id}/cash-movements`, {
          direction: 'in',
          kind: 'pay_in',
          amount: 100,
        }),
        403,
        'forbidden',
      );
      expectError(await f.registerApi.get(`/v1/registers/${other.register.id}/operations`), 403, 'forbidden');
      expectError(
        await f.registerApi.post(`/v1/registers/${other.register.id}/voids`, {
          original_operation_id: mine.id,
          reason: 'x',
        }),
        403,
        'forbidden',
      );
      expectError(await f.registerApi.get(`/v1/sales/${theirs.id}`), 404, 'not_found');
      expectError(await f.registerApi.get(`/v1/operations/${theirs.id}`), 404, 'not_found');
      expectError(await f.registerApi.patch(`/v1/sales/${theirs.id}`, { metadata: { x: 'y' } }), 404, 'not_found');
      expectError(
        await f.registerApi.post(`/v1/sales/${theirs.id}/complete`, { payments: [cash(400)] }),
        404,
        'not_found',
      );
      expectError(await f.registerApi.post(`/v1/sales/${theirs.id}/cancel`, { reason: 'x' }), 404, 'not_found');
      expect((await other.registerApi.get<Operation>(`/v1/sales/${theirs.id}`)).body).toEqual(theirs);
      // The organization sees both.
      expect((await f.orgApi.get<Operation>(`/v1/operations/${theirs.id}`)).body.id).toBe(theirs.id);
      expect((await f.orgApi.get<Operation>(`/v1/operations/${mine.id}`)).body.id).toBe(mine.id);
    });
  });

  describe('idempotency', () => {
    it('replays start and complete byte for byte without a second signature, number or journal entry', async () => {
      const fresh = await createFiscalRegister(t);
      const api = fresh.registerApi;
      const body = { line_items: [line('Apfelstrudel', 1, 550)] };
      const snapshot = async () => ({
        logs: (await tseLogs(t, { registerId: fresh.register.id })).length,
        sequence: await lastSequenceNumber(t, fresh.register.id),
        journal: await countJournal(fresh.orgApi, fresh.register.id),
        operations: (
          await t.database
            .executor()
            .selectFrom('operations')
            .select('id')
            .where('register_id', '=', fresh.register.id)
            .execute()
        ).length,
      });

      const started = await api.post<Operation>(`/v1/registers/${fresh.register.id}/sales`, body, {
        headers: { 'idempotency-key': 'start-1' },
      });
      expect(started.status).toBe(201);
      const afterStart = await snapshot();
      expect(afterStart).toEqual({ logs: 3, sequence: 1, journal: 2, operations: 1 });
      const startReplay = await api.post<Operation>(`/v1/registers/${fresh.register.id}/sales`, body, {
        headers: { 'idempotency-key': 'start-1' },
      });
      expect(startReplay.status).toBe(201);
      expect(startReplay.headers['idempotent-replayed']).toBe('true');
      expect(startReplay.text).toBe(started.text);
      expect(await snapshot()).toEqual(afterStart);

      const payments = { payments: [cash(550)] };
      const completed = await api.post<Operation>(`/v1/sales/${started.body.id}/complete`, payments, {
        headers: { 'idempotency-key': 'complete-1' },
      });
      expect(completed.status, completed.text).toBe(200);
      const afterComplete = await snapshot();
      expect(afterComplete).toEqual({ logs: 4, sequence: 1, journal: 3, operations: 1 });
      const completeReplay = await api.post<Operation>(`/v1/sales/${started.body.id}/complete`, payments, {
        headers: { 'idempotency-key': 'complete-1' },
      });
      expect(completeReplay.status).toBe(200);
      expect(completeReplay.headers['idempotent-replayed']).toBe('true');
      expect(completeReplay.text).toBe(completed.text);
      expect(await snapshot()).toEqual(afterComplete);
      // The same key with another body is a conflict, not a second sale.
      expectError(
        await api.post(
          `/v1/registers/${fresh.register.id}/sales`,
          { line_items: [line('Anders', 1, 1)] },
          {
            headers: { 'idempotency-key': 'start-1' },
          },
        ),
        409,
        'idempotency_key_conflict',
      );
      // Without the key, a second complete is refused as usual.
      expectError(await api.post(`/v1/sales/${started.body.id}/complete`, payments), 409, 'operation_not_open');
      expect(await snapshot()).toEqual(afterComplete);
    });
  });

  describe('the journal', () => {
    it('has one entry per fiscal event and verifies after a mixed day', async () => {
      const fresh = await createFiscalRegister(t);
      const api = fresh.registerApi;
      const base = `/v1/registers/${fresh.register.id}`;
      const float = await api.post<Operation>(`${base}/cash-movements`, {
        direction: 'in',
        kind: 'opening_float',
        amount: 20000,
      });
      expect(float.status).toBe(201);
      const sale1 = await cashSale(api, fresh.register.id, [line('Brot', 1, 400), line('Milch', 2, 120, '0.07')]);
      const sale2 = await cashSale(api, fresh.register.id, [line('Kuchen', 3, 280)]);
      const aborted = await openSale(api, fresh.register.id, { line_items: [line('Eis', 1, 200)] });
      expect((await api.post(`/v1/sales/${aborted.id}/cancel`, { reason: 'Abbruch' })).status).toBe(200);
      const training = await openSale(api, fresh.register.id, { training: true, line_items: [line('Übung', 1, 100)] });
      await complete(api, `/v1/sales/${training.id}`, [cash(100)]);
      const refund = await startRefund(api, fresh.register.id, {
        original_operation_id: sale1.id,
        line_items: [{ line_item_id: lineIds(sale1)[1], quantity: 1 }],
      });
      await complete(api, `/v1/refunds/${refund.id}`, [cash(120, 'outbound')]);
      const exchange = await api.post<Operation>(`${base}/exchanges`, {
        original_operation_id: sale1.id,
        returned_line_items: [{ line_item_id: lineIds(sale1)[0], quantity: 1 }],
        line_items: [line('Vollkornbrot', 1, 450)],
      });
      expect(exchange.status, exchange.text).toBe(201);
      await complete(api, `/v1/exchanges/${exchange.body.id}`, [cash(50)]);
      const voided = await api.post<Operation>(`${base}/voids`, { original_operation_id: sale2.id, reason: 'Storno' });
      expect(voided.status, voided.text).toBe(201);
      const drop = await api.post<Operation>(`${base}/cash-movements`, {
        direction: 'out',
        kind: 'drop',
        amount: 15000,
      });
      expect(drop.status).toBe(201);

      const operations = await api.get<Page<Operation>>(`${base}/operations?limit=200`);
      const all = operations.body.data;
      expect(all).toHaveLength(9);
      expect(all.map((op) => op.sequence_number)).toEqual(range(1, 9));
      expect(all.every((op) => op.state !== 'open')).toBe(true);

      // Every signed TSE transaction log of the register has exactly one journal entry, in the same order.
      const journal = await journalOf(fresh.orgApi, fresh.register.id);
      const logs = (await tseLogs(t, { registerId: fresh.register.id })).filter((log) => log.logType === 'transaction');
      expect(journal[0]).toMatchObject({ seq: 1, type: 'fiscal_unit.provisioned', subject_id: fresh.unit.id });
      const operationEntries = journal.slice(1);
      expect(operationEntries.map((entry) => entry.subject_id)).toEqual(logs.map((log) => log.operationId));
      expect(operationEntries.map((entry) => entry.type === 'operation.started')).toEqual(
        logs.map((log) => log.operationType === 'StartTransaction'),
      );
      const finalTypes = Object.fromEntries(
        operationEntries
          .filter((entry) => entry.type !== 'operation.started')
          .map((entry) => [entry.subject_id, entry.type]),
      );
      expect(finalTypes).toEqual({
        [float.body.id]: 'operation.completed',
        [sale1.id]: 'operation.completed',
        [sale2.id]: 'operation.completed',
        [aborted.id]: 'operation.cancelled',
        [training.id]: 'operation.completed',
        [refund.id]: 'operation.completed',
        [exchange.body.id]: 'operation.completed',
        [voided.body.id]: 'operation.voided',
        [drop.body.id]: 'operation.completed',
      });
      expect(journal.map((entry) => entry.seq)).toEqual(range(1, 1 + logs.length));
      // The last entry of each operation records it as it is now (the voided sale changed only by voided_by).
      for (const op of all) {
        const last = operationEntries.filter((entry) => entry.subject_id === op.id).at(-1);
        const recorded = (last?.payload.data as { operation?: Operation } | undefined)?.operation;
        if (op.id === sale2.id) {
          expect(recorded).toEqual({
            ...op,
            references: { ...op.references, voided_by: null },
            updated_at: recorded?.updated_at,
          });
        } else {
          expect(recorded).toEqual(op);
        }
      }
      const verification = await verifyJournal(fresh.orgApi, fresh.register.id);
      expect(verification).toMatchObject({
        valid: true,
        length: journal.length,
        entries_checked: journal.length,
        first_broken: null,
        head_hash: journal.at(-1)?.entry_hash,
      });
    });
  });
});
