/**
 * The RKSV outage procedure at its edges, over HTTP on both engines: the explicit recovery that issues the
 * Sammelbeleg, a monthly closing that goes out unsigned, an annual closing that must wait for the unit (failed,
 * retryable, then completed with the Sammelbeleg before its Jahresbeleg), a stalled unit that does not hold the
 * till — and the DEP of all of it still verifies.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Closing } from '../src/modules/closings/closing.schemas.js';
import type { FiscalUnit } from '../src/modules/fiscal-units/fiscal-unit.schemas.js';
import type { JournalEntry } from '../src/modules/journal/journal.schemas.js';
import { expectError } from './helpers/assertions.js';
import {
  atLine,
  createAustrianRegister,
  rksv,
  verifyStoredDep,
  type AustrianRegisterFixture,
} from './helpers/austria.js';
import { triggerClosing } from './helpers/closings.js';
import { describeDb } from './helpers/engines.js';
import { cashSale, journalOf, simulateFailure } from './helpers/fiscal.js';
import { buildTestApp, ManualClock, type TestApp } from './helpers/test-app.js';

describeDb('Austria: the outage procedure at its edges', () => {
  let t: TestApp;
  let f: AustrianRegisterFixture;
  const clock = new ManualClock('2026-12-31T09:00:00Z');
  const tick = () => {
    clock.advance(60_000);
  };

  beforeAll(async () => {
    t = await buildTestApp({ clock, signingTimeoutMs: 2_000 });
    f = await createAustrianRegister(t);
  });
  afterAll(async () => {
    await t.close();
  });

  it('recover issues the Sammelbeleg once the unit signs again, and refuses while it still fails', async () => {
    await simulateFailure(f.orgApi, f.unit.id, 'fail');
    tick();
    const unsigned = await cashSale(f.registerApi, f.register.id, [atLine('Melange', 1, 450, '0.10')]);
    expect(rksv(unsigned.fiscal).signed).toBe(false);
    expectError(await f.orgApi.post(`/v1/fiscal-units/${f.unit.id}/recover`, {}), 503, 'fiscal_unit_unavailable');

    await simulateFailure(f.orgApi, f.unit.id, 'none');
    tick();
    const recovered = await f.orgApi.post<FiscalUnit>(`/v1/fiscal-units/${f.unit.id}/recover`, {});
    expect(recovered.status, recovered.text).toBe(200);
    expect(recovered.body.state).toBe('active');
    const entry = (await journalOf(f.orgApi, f.register.id)).findLast(
      (candidate: JournalEntry) => candidate.type === 'fiscal_unit.recovered',
    );
    const receipt = rksv((entry?.payload.data as { receipt?: unknown } | undefined)?.receipt);
    expect(receipt).toMatchObject({ receipt_kind: 'collective', document_type: 'Sammelbeleg', signed: true });

    // Nothing is due any more: the next sale comes without a Sammelbeleg.
    tick();
    const next = await cashSale(f.registerApi, f.register.id, [atLine('Kipferl', 1, 180, '0.10')]);
    expect(rksv(next.fiscal)).toMatchObject({ signed: true, collective_receipt: null });
  });

  it('a monthly closing goes out unsigned during an outage; an annual one waits for the unit', async () => {
    await simulateFailure(f.orgApi, f.unit.id, 'fail');
    tick();
    const monthly = await triggerClosing(f.registerApi, f.register.id, { type: 'monthly' });
    expect(monthly.state).toBe('completed');
    expect(rksv(monthly.fiscal)).toMatchObject({ receipt_kind: 'monthly', signed: false });

    tick();
    const annual = await triggerClosing(f.registerApi, f.register.id, { type: 'annual' });
    expect(annual).toMatchObject({ state: 'failed', fiscal: null, failure: { retryable: true } });

    await simulateFailure(f.orgApi, f.unit.id, 'none');
    tick();
    const retried = await f.registerApi.post<Closing>(`/v1/closings/${annual.id}/retry`, {});
    expect(retried.status, retried.text).toBe(200);
    const block = rksv(retried.body.fiscal);
    expect(block).toMatchObject({ receipt_kind: 'annual', document_type: 'Jahresbeleg', signed: true });
    expect(block.collective_receipt).toMatchObject({ receipt_kind: 'collective', signed: true });
  });

  it('a stalled unit does not hold the till: the receipt goes out unsigned at once', async () => {
    await simulateFailure(f.orgApi, f.unit.id, 'stall');
    tick();
    const started = Date.now();
    const sale = await cashSale(f.registerApi, f.register.id, [atLine('Einspänner', 1, 520, '0.10')]);
    expect(Date.now() - started).toBeLessThan(1_500); // well under the 2 s signing timeout
    expect(rksv(sale.fiscal).signed).toBe(false);
    await simulateFailure(f.orgApi, f.unit.id, 'none');
    tick();
    const after = await cashSale(f.registerApi, f.register.id, [atLine('Wasser', 1, 150, '0', 'zero')]);
    expect(rksv(after.fiscal).collective_receipt).toMatchObject({ receipt_kind: 'collective' });
  });

  it('the stored DEP of all of it verifies', async () => {
    const { receipts, aesKey, result } = await verifyStoredDep(t, f.register.id, f.unit.id);
    expect(aesKey).toBe(f.aesKey);
    expect(result.errors).toEqual([]);
    expect(result.receipts).toBe(receipts);
  });
});
