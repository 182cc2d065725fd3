import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClosingRepository } from '../src/modules/closings/closing.repository.js';
import { BUCKET_SIZE, bucketOf, emptyTotals, type SummaryTotals } from '../src/modules/closings/closing-summary.js';
import { createClosingTotals } from '../src/modules/closings/closing-totals.js';
import { systemClock } from '../src/shared/clock.js';
import { describeDb } from './helpers/engines.js';
import { createRegister, createTenant, type TenantFixture } from './helpers/factories.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

/** One cash sale of `gross` at 19 %: what a completed sale adds to its bucket. */
function sale(gross: number): SummaryTotals {
  return {
    ...emptyTotals(),
    operation_count: 1,
    total_gross: gross,
    sales_count: 1,
    sales_gross: gross,
    payments: { cash: gross },
    tax_groups: { '0.19|standard': gross },
  };
}

/**
 * The pre-aggregated closing buckets (closing-totals.ts): each process remembers the bucket it last wrote per
 * register and adds to it with a compare-and-set instead of reading it back. These tests give it what breaks a
 * cache — another process writing in between, a rolled-back write — and check the stored totals to the cent.
 */
describeDb('closing buckets', () => {
  let t: TestApp;
  let a: TenantFixture;
  beforeAll(async () => {
    t = await buildTestApp();
    a = await createTenant(t, 'Buckets');
  });
  afterAll(() => t.close());

  const repository = () => createClosingRepository(t.database);
  /** A recorder with its own memory: another server process on the same database. */
  const serverProcess = () => createClosingTotals({ repository: repository(), clock: systemClock });
  const stored = async (registerId: string, seq: bigint) => {
    const text = await repository().bucket(registerId, bucketOf(seq));
    return text === undefined ? undefined : (JSON.parse(text) as SummaryTotals);
  };
  const sum = (grosses: readonly number[]): SummaryTotals => ({
    ...emptyTotals(),
    operation_count: grosses.length,
    total_gross: grosses.reduce((x, y) => x + y, 0),
    sales_count: grosses.length,
    sales_gross: grosses.reduce((x, y) => x + y, 0),
    payments: { cash: grosses.reduce((x, y) => x + y, 0) },
    tax_groups: { '0.19|standard': grosses.reduce((x, y) => x + y, 0) },
  });

  it('adds what two processes record in turn into one bucket, losing neither', async () => {
    const register = await createRegister(a.orgApi, a.location.id);
    const [first, second] = [serverProcess(), serverProcess()];
    // Seqs 1..8 share bucket 0; the two processes take turns unevenly, so each one's memory goes stale.
    const plan: Array<[typeof first, number]> = [
      [first, 100],
      [first, 250],
      [second, 1_000],
      [first, 7],
      [second, 33],
      [second, 40_000],
      [first, 1],
      [first, 12],
    ];
    let seq = 0n;
    for (const [recorder, gross] of plan) {
      seq += 1n;
      await t.database.transaction(() => recorder.record(register.id, seq, sale(gross)));
    }
    expect(await stored(register.id, 1n)).toEqual(sum(plan.map(([, gross]) => gross)));
  });

  it('does not add to a write that was rolled back', async () => {
    const register = await createRegister(a.orgApi, a.location.id);
    const recorder = serverProcess();
    await t.database.transaction(() => recorder.record(register.id, 1n, sale(500)));
    await expect(
      t.database.transaction(async () => {
        await recorder.record(register.id, 2n, sale(9_999));
        throw new Error('the event failed after its totals were recorded');
      }),
    ).rejects.toThrow('the event failed');
    await t.database.transaction(() => recorder.record(register.id, 2n, sale(70)));
    await t.database.transaction(() => recorder.record(register.id, 3n, sale(3)));
    expect(await stored(register.id, 3n)).toEqual(sum([500, 70, 3]));
  });

  it('starts a new bucket at its boundary and keeps the full one as it was', async () => {
    const register = await createRegister(a.orgApi, a.location.id);
    const recorder = serverProcess();
    const last = BUCKET_SIZE - 1n; // the last seq of bucket 0
    await t.database.transaction(() => recorder.record(register.id, last - 1n, sale(10)));
    await t.database.transaction(() => recorder.record(register.id, last, sale(20)));
    await t.database.transaction(() => recorder.record(register.id, last + 1n, sale(40)));
    await t.database.transaction(() => recorder.record(register.id, last + 2n, sale(80)));
    expect(bucketOf(last + 1n)).toBe(bucketOf(last) + 1n);
    expect(await stored(register.id, last)).toEqual(sum([10, 20]));
    expect(await stored(register.id, last + 1n)).toEqual(sum([40, 80]));
  });

  it('sets a bucket only while it holds the expected totals (compare and set)', async () => {
    const register = await createRegister(a.orgApi, a.location.id);
    const at = new Date().toISOString();
    const [one, two] = [JSON.stringify(sale(1)), JSON.stringify(sale(2))];
    await repository().insertBucket(register.id, 0n, one, at);
    expect(await repository().replaceBucket(register.id, 0n, two, JSON.stringify(sale(99)), at)).toBe(false);
    expect(await repository().bucket(register.id, 0n)).toBe(one);
    expect(await repository().replaceBucket(register.id, 0n, one, two, at)).toBe(true);
    expect(await repository().bucket(register.id, 0n)).toBe(two);
    expect(await repository().replaceBucket(register.id, 1n, two, one, at)).toBe(false); // no such bucket
  });
});
