import { expect, it } from 'vitest';
import { createClosingRepository } from '../src/modules/closings/closing.repository.js';
import type { ClosingSummary } from '../src/modules/closings/closing-summary.js';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import type { ApiClient } from './helpers/api-client.js';
import { triggerClosing } from './helpers/closings.js';
import { describeDb, engine } from './helpers/engines.js';
import { createFiscalRegister, journalOf, lastSequenceNumber, line, range, verifyJournal } from './helpers/fiscal.js';
import { buildTestApp } from './helpers/test-app.js';

/**
 * Two server processes on one database (PostgreSQL's scale-out; on SQLite two connections to one file). Each keeps
 * per-register memory to save round trips (the journal's newest entry, the closing bucket it last wrote); here
 * the other process writes in between all the time, so every remembered value goes stale and must be noticed.
 */
describeDb('two server processes on one database', () => {
  it("shares one register's sales between them: gapless numbers, one valid chain, closing totals that recompute", async () => {
    const first = await buildTestApp();
    const second = await buildTestApp({ scratch: first.scratch, masterKey: first.masterKey });
    try {
      const fixture = await createFiscalRegister(first);
      const registerId = fixture.register.id;
      const apis: readonly ApiClient[] = [fixture.registerApi, fixture.registerApi.against(second.app)];

      // Four tills, each starting its sales on one process and completing or cancelling them on the other. They run
      // at once on PostgreSQL. On SQLite they take turns: both apps live in this one Node process, and a writer
      // waiting for the file's lock blocks the event loop the other app needs to finish and release it.
      const till = async (till: number) => {
        const completed: Operation[] = [];
        for (let i = 0; i < 6; i++) {
          const [starts, finishes] = [apis[(till + i) % 2], apis[(till + i + 1) % 2]] as [ApiClient, ApiClient];
          const started = await starts.post<Operation>(`/v1/registers/${registerId}/sales`, {
            line_items: [line(`Till ${String(till)} item ${String(i)}`, 1 + i, 100 * (till + 1) + i)],
          });
          expect(started.status, started.text).toBe(201);
          if (i === 2) {
            const cancelled = await finishes.post<Operation>(`/v1/sales/${started.body.id}/cancel`, {
              reason: 'Storno',
            });
            expect(cancelled.status, cancelled.text).toBe(200);
            continue;
          }
          const total = started.body.data.totals?.total_gross ?? 0;
          const done = await finishes.post<Operation>(`/v1/sales/${started.body.id}/complete`, {
            payments: [{ method: 'cash', direction: 'inbound', amount: total }],
          });
          expect(done.status, done.text).toBe(200);
          completed.push(done.body);
        }
        return completed;
      };
      const completed: Operation[] = [];
      if (engine === 'postgres') completed.push(...(await Promise.all(range(0, 4).map(till))).flat());
      else for (const number of range(0, 4)) completed.push(...(await till(number)));

      // 24 sales, numbered 1–24 without a gap or a repeat, in one chain of 48 operation entries that verifies.
      expect(completed).toHaveLength(20);
      expect(await lastSequenceNumber(first, registerId)).toBe(24);
      const journal = await journalOf(fixture.registerApi, registerId);
      const operationEntries = journal.filter((entry) => entry.type.startsWith('operation.'));
      expect(operationEntries).toHaveLength(48);
      expect(journal.map((entry) => entry.seq)).toEqual(range(1, journal.length));
      expect(await verifyJournal(fixture.registerApi, registerId)).toMatchObject({ valid: true });

      // The bucket both processes added to holds every completed sale, none lost to a stale memory: each process
      // wrote it while the other had written it after its own last write.
      const gross = completed.reduce((sum, operation) => sum + (operation.data.totals?.total_gross ?? 0), 0);
      const bucket = await createClosingRepository(first.database).bucket(registerId, 0n);
      expect(JSON.parse(bucket ?? 'null')).toMatchObject({
        operation_count: 20,
        sales_count: 20,
        sales_gross: gross,
        payments: { cash: gross },
      });

      // The daily closing must equal the operations summed one by one, and what the tills were told.
      const closing = await triggerClosing(fixture.registerApi.against(second.app), registerId, { type: 'daily' });
      const recomputed = await fixture.registerApi.get<ClosingSummary>(`/v1/closings/${closing.id}/summary/recompute`);
      expect(recomputed.status, recomputed.text).toBe(200);
      expect(recomputed.body).toEqual(closing.summary);
      expect(closing.summary).toMatchObject({
        operation_count: 20,
        total_gross: gross,
        total_by_payment_method: { cash: gross },
        by_operation_type: { sales: { count: 20, total_gross: gross } },
      });
    } finally {
      await second.close({ keepData: true });
      await first.close();
    }
  });
});
