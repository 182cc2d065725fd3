/**
 * Concurrent sales on one Austrian register: every receipt takes the next Belegnummer, chains to the one before and
 * counts its turnover exactly once, however the requests interleave (both engines). Checked by the independent
 * verifier over the stored DEP.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import {
  atLine,
  createAustrianRegister,
  rksv,
  verifyStoredDep,
  type AustrianRegisterFixture,
} from './helpers/austria.js';
import { describeDb } from './helpers/engines.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

const SALES = 30;

describeDb('Austria: concurrent sales on one register', () => {
  let t: TestApp;
  let f: AustrianRegisterFixture;

  beforeAll(async () => {
    t = await buildTestApp();
    f = await createAustrianRegister(t);
  });
  afterAll(async () => {
    await t.close();
  });

  it(`keeps Belegnummern gapless, the chain intact and the turnover exact under ${SALES} parallel completions`, async () => {
    const api = f.registerApi;
    const opened = await Promise.all(
      Array.from({ length: SALES }, (_, i) =>
        api.post<Operation>(`/v1/registers/${f.register.id}/sales`, {
          line_items: [atLine(`Kaffee ${i}`, 1, 100 + i, '0.10')],
        }),
      ),
    );
    const completed = await Promise.all(
      opened.map((sale) =>
        api.post<Operation>(`/v1/sales/${sale.body.id}/complete`, {
          payments: [{ method: 'cash', direction: 'inbound', amount: sale.body.data.totals?.total_gross ?? 0 }],
        }),
      ),
    );
    for (const response of completed) expect(response.status, response.text).toBe(200);
    const numbers = completed
      .map((response) => Number(rksv(response.body.fiscal).receipt_number))
      .sort((a, b) => a - b);
    // The Startbeleg is 1.
    expect(numbers).toEqual(Array.from({ length: SALES }, (_, i) => i + 2));

    const { receipts, result } = await verifyStoredDep(t, f.register.id, f.unit.id);
    expect(receipts).toBe(SALES + 1);
    expect(result.errors).toEqual([]);
    // Σ (100 + i) for i < SALES
    expect(result.turnoverCounterCents).toBe(BigInt(SALES * 100 + (SALES * (SALES - 1)) / 2));
  });
});
