import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import { expectError } from './helpers/assertions.js';
import { describeDb } from './helpers/engines.js';
import {
  cashSale,
  createFiscalRegister,
  lastSequenceNumber,
  line,
  type FiscalRegisterFixture,
} from './helpers/fiscal.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

describeDb('limits: open operations per register', () => {
  let t: TestApp;
  let fx: FiscalRegisterFixture;
  beforeAll(async () => {
    t = await buildTestApp({ maxOpenOperations: 3 });
    fx = await createFiscalRegister(t);
  });
  afterAll(() => t.close());

  it('refuses one more open sale, refund or exchange with 409 and writes nothing; completing one frees a slot', async () => {
    const completed = await cashSale(fx.registerApi, fx.register.id);
    const opened: Operation[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fx.registerApi.post<Operation>(`/v1/registers/${fx.register.id}/sales`, {
        line_items: [line('Tee', 1, 200)],
      });
      expect(response.status, response.text).toBe(201);
      opened.push(response.body);
    }
    const sequenceBefore = await lastSequenceNumber(t, fx.register.id);
    expectError(
      await fx.registerApi.post(`/v1/registers/${fx.register.id}/sales`, { line_items: [line('Tee', 1, 200)] }),
      409,
      'too_many_open_operations',
    );
    expectError(
      await fx.registerApi.post(`/v1/registers/${fx.register.id}/refunds`, { original_operation_id: completed.id }),
      409,
      'too_many_open_operations',
    );
    expect(await lastSequenceNumber(t, fx.register.id)).toBe(sequenceBefore);

    // Single-event operations do not stay open, so they are not limited.
    const movement = await fx.registerApi.post(`/v1/registers/${fx.register.id}/cash-movements`, {
      kind: 'pay_in',
      direction: 'in',
      amount: 1000,
    });
    expect(movement.status, movement.text).toBe(201);

    const cancelled = await fx.registerApi.post(`/v1/sales/${opened[0]?.id ?? ''}/cancel`, { reason: 'Kunde ging' });
    expect(cancelled.status, cancelled.text).toBe(200);
    const again = await fx.registerApi.post(`/v1/registers/${fx.register.id}/sales`, {
      line_items: [line('Tee', 1, 200)],
    });
    expect(again.status, again.text).toBe(201);
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
