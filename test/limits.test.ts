import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import { expectError } from './helpers/assertions.js';
import { describeDb, statementsSentDuring } from './helpers/engines.js';
import {
  cashSale,
  createFiscalRegister,
  lastSequenceNumber,
  line,
  type FiscalRegisterFixture,
} from './helpers/fiscal.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';
import { triggerClosing } from './helpers/closings.js';

describeDb('limits: open operations per register', () => {
  let t: TestApp;
  let fx: FiscalRegisterFixture;
  beforeAll(async () => {
    t = await buildTestApp({ maxOpenOperations: 3 });
    fx = await createFiscalRegister(t);
  });
  afterAll(() => t.close());

  /** The register's count of open operations as stored, and the rows it counts. */
  async function openCounts(registerId = fx.register.id): Promise<{ counted: number; rows: number }> {
    const executor = t.database.executor();
    const register = await executor
      .selectFrom('registers')
      .select('open_operations')
      .where('id', '=', registerId)
      .executeTakeFirstOrThrow();
    const rows = await executor
      .selectFrom('operations')
      .select('id')
      .where('register_id', '=', registerId)
      .where('state', '=', 'open')
      .execute();
    return { counted: Number(register.open_operations), rows: rows.length };
  }

  it('refuses one more open sale, refund or exchange with 409 and writes nothing; completing one frees a slot', async () => {
    const completed = await cashSale(fx.registerApi, fx.register.id);
    expect(await openCounts()).toEqual({ counted: 0, rows: 0 });
    const opened: Operation[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fx.registerApi.post<Operation>(`/v1/registers/${fx.register.id}/sales`, {
        line_items: [line('Tee', 1, 200)],
      });
      expect(response.status, response.text).toBe(201);
      opened.push(response.body);
      expect(await openCounts()).toEqual({ counted: i + 1, rows: i + 1 });
    }
    const sequenceBefore = await lastSequenceNumber(t, fx.register.id);
    const refused = await fx.registerApi.post(`/v1/registers/${fx.register.id}/sales`, {
      line_items: [line('Tee', 1, 200)],
    });
    expectError(refused, 409, 'too_many_open_operations');
    expect((refused.body as { message: string }).message).toContain('3 open operations');
    expectError(
      await fx.registerApi.post(`/v1/registers/${fx.register.id}/refunds`, { original_operation_id: completed.id }),
      409,
      'too_many_open_operations',
    );
    // The refusals rolled back their sequence numbers and their counting.
    expect(await lastSequenceNumber(t, fx.register.id)).toBe(sequenceBefore);
    expect(await openCounts()).toEqual({ counted: 3, rows: 3 });

    // Single-event operations do not stay open, so they are not limited and not counted.
    const movement = await fx.registerApi.post(`/v1/registers/${fx.register.id}/cash-movements`, {
      kind: 'pay_in',
      direction: 'in',
      amount: 1000,
    });
    expect(movement.status, movement.text).toBe(201);
    const voided = await fx.registerApi.post(`/v1/registers/${fx.register.id}/voids`, {
      original_operation_id: completed.id,
      reason: 'Falsch gebucht',
    });
    expect(voided.status, voided.text).toBe(201);
    expect(await openCounts()).toEqual({ counted: 3, rows: 3 });

    // Cancelling one frees a slot, and so does completing one.
    const cancelled = await fx.registerApi.post(`/v1/sales/${opened[0]?.id ?? ''}/cancel`, { reason: 'Kunde ging' });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(await openCounts()).toEqual({ counted: 2, rows: 2 });
    const again = await fx.registerApi.post<Operation>(`/v1/registers/${fx.register.id}/sales`, {
      line_items: [line('Tee', 1, 200)],
    });
    expect(again.status, again.text).toBe(201);
    expect(await openCounts()).toEqual({ counted: 3, rows: 3 });
    const done = await fx.registerApi.post(`/v1/sales/${again.body.id}/complete`, {
      payments: [{ method: 'cash', direction: 'inbound', amount: 200 }],
    });
    expect(done.status, done.text).toBe(200);
    expect(await openCounts()).toEqual({ counted: 2, rows: 2 });

    // A refused change of a finished operation changes no count.
    expectError(
      await fx.registerApi.post(`/v1/sales/${again.body.id}/cancel`, { reason: 'zu spät' }),
      409,
      'operation_not_open',
    );
    expect(await openCounts()).toEqual({ counted: 2, rows: 2 });
  });

  it('counts a completed sale out in the statement that stores its end (PostgreSQL: one round trip)', async () => {
    const opened = await fx.registerApi.post<Operation>(`/v1/registers/${fx.register.id}/sales`, {
      line_items: [line('Tee', 1, 200)],
    });
    expect(opened.status, opened.text).toBe(201);
    const before = await openCounts();
    const { result: done, sent } = await statementsSentDuring(() =>
      fx.registerApi.post(`/v1/sales/${opened.body.id}/complete`, {
        payments: [{ method: 'cash', direction: 'inbound', amount: 200 }],
      }),
    );
    expect(done.status, done.text).toBe(200);
    expect(await openCounts()).toEqual({ counted: before.counted - 1, rows: before.rows - 1 });
    if (t.scratch.location.kind === 'postgres') {
      const counting = sent.filter((text) => text.includes('"open_operations"'));
      expect(counting).toHaveLength(1);
      // Held back (db/dialects/deferred-writes.ts) with the operation's own end, both sent with the closing totals.
      expect(counting[0]).toMatch(
        /^\/\* prepared \*\/ with "deferred_1" as \(update "operations" .*\), "deferred_2" as \(update "registers" set "open_operations" .*\) update "closing_buckets"/,
      );
    }
  });

  it('lets the rows decide before refusing a start, and sets the count from them at every daily closing', async () => {
    const own = await createFiscalRegister(t);
    const startSale = () =>
      own.registerApi.post<Operation>(`/v1/registers/${own.register.id}/sales`, { line_items: [line('Tee', 1, 200)] });
    /** Sets the count, as a process of an older version leaves it that starts or finishes operations uncounted. */
    const drift = (to: bigint) =>
      t.database
        .executor()
        .updateTable('registers')
        .set({ open_operations: to })
        .where('id', '=', own.register.id)
        .execute();
    for (let i = 0; i < 2; i++) expect((await startSale()).status).toBe(201);
    expect(await openCounts(own.register.id)).toEqual({ counted: 2, rows: 2 });

    // Counted too high: the start is checked against the rows, goes through, and the count is right again.
    await drift(40n);
    expect((await startSale()).status).toBe(201);
    expect(await openCounts(own.register.id)).toEqual({ counted: 3, rows: 3 });
    // At the limit by the rows too: refused, and the count stays.
    expectError(await startSale(), 409, 'too_many_open_operations');
    expect(await openCounts(own.register.id)).toEqual({ counted: 3, rows: 3 });

    // Counted too low: the daily closing, which looks at the open rows anyway, sets the count from them.
    await drift(-5n);
    const closing = await triggerClosing(own.registerApi, own.register.id, { cancel_open_operations: true });
    expect(closing.state).toBe('completed');
    expect(await openCounts(own.register.id)).toEqual({ counted: 0, rows: 0 });
    expect((await startSale()).status).toBe(201);
    expect(await openCounts(own.register.id)).toEqual({ counted: 1, rows: 1 });
  });
});

describeDb('limits: request timeout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ requestTimeoutMs: 300 });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('answers a client that never finishes its request headers with 408 and closes the connection', async () => {
    const address = t.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(address.port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      // Headers that never end (a slowloris client).
      socket.write('POST /v1/organizations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
