/**
 * Fiscal events under concurrency (api.md §1.3, §3): sequence numbers, TSE transaction numbers and signature
 * counters stay unique and gapless, the journal stays a valid chain, registers do not interfere with each other,
 * and one Idempotency-Key yields exactly one fiscal event however many identical requests race.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import type { ApiClient, ApiResponse } from './helpers/api-client.js';
import { expectError } from './helpers/assertions.js';
import { describeDb } from './helpers/engines.js';
import {
  createFiscalRegister,
  journalOf,
  lastSequenceNumber,
  line,
  range,
  tseLogs,
  verifyJournal,
  type FiscalRegisterFixture,
} from './helpers/fiscal.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

const sortNumbers = (values: readonly number[]) => [...values].sort((a, b) => a - b);

/** Starts `count` sales at once; each has one line whose price identifies it. */
async function startConcurrently(api: ApiClient, registerId: string, count: number, base = 100) {
  return Promise.all(
    range(0, count).map((i) =>
      api.post<Operation>(`/v1/registers/${registerId}/sales`, {
        external_id: `concurrent-${String(i)}`,
        line_items: [line(`Artikel ${String(i)}`, 1, base + i)],
      }),
    ),
  );
}

async function completeConcurrently(api: ApiClient, sales: readonly Operation[]) {
  return Promise.all(
    sales.map((sale) =>
      api.post<Operation>(`/v1/sales/${sale.id}/complete`, {
        payments: [{ method: 'card', direction: 'inbound', amount: sale.data.totals?.total_gross ?? 0 }],
      }),
    ),
  );
}

function bodiesOf(responses: ReadonlyArray<ApiResponse<Operation>>, status: number): Operation[] {
  for (const response of responses) expect(response.status, response.text).toBe(status);
  return responses.map((response) => response.body);
}

/**
 * Everything that must hold for a register after `count` concurrent starts and completes on a fresh unit: the
 * numbers, every stored log of the unit (two system logs at provisioning, then a start and a finish per sale),
 * and the journal.
 */
async function expectGaplessRegister(
  t: TestApp,
  fixture: FiscalRegisterFixture,
  started: readonly Operation[],
  completed: readonly Operation[],
): Promise<void> {
  const count = started.length;
  const registerId = fixture.register.id;
  expect(sortNumbers(started.map((op) => op.sequence_number))).toEqual(range(1, count));
  expect(await lastSequenceNumber(t, registerId)).toBe(count);
  for (const op of [...started, ...completed]) expect(op.register_id).toBe(registerId);

  // TSE transaction numbers: one per sale, unique and gapless from 1 on this fresh unit.
  const transactionNumbers = started.map((op) => op.fiscal?.transaction_number ?? -1);
  expect(sortNumbers(transactionNumbers)).toEqual(range(1, count));
  // A completed sale keeps its transaction; its end event follows its start.
  const byId = new Map(started.map((op) => [op.id, op]));
  for (const op of completed) {
    const start = byId.get(op.id);
    expect(start).toBeDefined();
    expect(op.state).toBe('completed');
    expect(op.fiscal_state).toBe('succeeded');
    expect(op.sequence_number).toBe(start?.sequence_number);
    expect(op.fiscal?.transaction_number).toBe(start?.fiscal?.transaction_number);
    expect(op.fiscal?.start_event).toEqual(start?.fiscal?.start_event);
    expect(op.fiscal?.end_event?.transaction_counter).toBeGreaterThan(op.fiscal?.start_event?.transaction_counter ?? 0);
  }

  // Signature counters over every log of the unit: gapless from 1, system logs first.
  const logs = await tseLogs(t, { fiscalUnitId: fixture.unit.id });
  expect(logs.map((log) => log.signatureCounter)).toEqual(range(1, 2 + 2 * count));
  expect(logs.slice(0, 2).map((log) => [log.logType, log.operationType])).toEqual([
    ['system', 'Initialize'],
    ['system', 'RegisterClient'],
  ]);
  for (const log of logs) expect(log.registerId).toBe(registerId);
  const transactionLogs = logs.filter((log) => log.logType === 'transaction');
  expect(transactionLogs).toHaveLength(2 * count);
  const starts = transactionLogs.filter((log) => log.operationType === 'StartTransaction');
  const finishes = transactionLogs.filter((log) => log.operationType === 'FinishTransaction');
  expect(sortNumbers(starts.map((log) => log.transactionNumber ?? -1))).toEqual(range(1, count));
  expect(sortNumbers(finishes.map((log) => log.transactionNumber ?? -1))).toEqual(range(1, count));
  // Each operation's events are exactly the logs stored for it.
  for (const op of completed) {
    const own = transactionLogs.filter((log) => log.operationId === op.id);
    expect(own.map((log) => [log.operationType, log.signatureCounter, log.transactionNumber])).toEqual([
      ['StartTransaction', op.fiscal?.start_event?.transaction_counter, op.fiscal?.transaction_number],
      ['FinishTransaction', op.fiscal?.end_event?.transaction_counter, op.fiscal?.transaction_number],
    ]);
  }

  // The journal: provisioning, then one entry per signed start and one per completion.
  const journal = await journalOf(fixture.orgApi, registerId);
  expect(journal.map((entry) => entry.seq)).toEqual(range(1, 1 + 2 * count));
  expect(journal[0]?.type).toBe('fiscal_unit.provisioned');
  const startedEntries = journal.filter((entry) => entry.type === 'operation.started');
  const completedEntries = journal.filter((entry) => entry.type === 'operation.completed');
  expect(new Set(startedEntries.map((entry) => entry.subject_id))).toEqual(new Set(started.map((op) => op.id)));
  expect(new Set(completedEntries.map((entry) => entry.subject_id))).toEqual(new Set(started.map((op) => op.id)));
  expect(startedEntries).toHaveLength(count);
  expect(completedEntries).toHaveLength(count);
  const verification = await verifyJournal(fixture.orgApi, registerId);
  expect(verification).toMatchObject({
    valid: true,
    length: 1 + 2 * count,
    entries_checked: 1 + 2 * count,
    first_broken: null,
  });
  expect(verification.head_hash).toBe(journal.at(-1)?.entry_hash);
}

describeDb('fiscal concurrency', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('keeps sequence numbers, transaction numbers and signature counters gapless under 40 concurrent starts and completes', async () => {
    const fixture = await createFiscalRegister(t);
    const startResponses = await startConcurrently(fixture.registerApi, fixture.register.id, 40);
    const started = bodiesOf(startResponses, 201);
    for (const op of started) {
      expect(op).toMatchObject({ type: 'sale', state: 'open', fiscal_state: 'pending' });
      expect(op.fiscal?.end_event).toBeNull();
    }
    // Every start is its own sale: the external ids and prices came through unmixed.
    for (const op of started) {
      const i = Number(op.external_id?.replace('concurrent-', ''));
      expect(op.data.totals?.total_gross).toBe(100 + i);
    }
    const completed = bodiesOf(await completeConcurrently(fixture.registerApi, started), 200);
    await expectGaplessRegister(t, fixture, started, completed);
  });

  it('does not let two registers interfere when both take concurrent sales', async () => {
    const first = await createFiscalRegister(t);
    const second = await createFiscalRegister(t, {
      orgApi: first.orgApi,
      organizationId: first.organizationId,
      locationId: first.locationId,
    });
    expect(second.unit.id).not.toBe(first.unit.id);
    const [startsA, startsB] = await Promise.all([
      startConcurrently(first.registerApi, first.register.id, 20, 1000),
      startConcurrently(second.registerApi, second.register.id, 20, 2000),
    ]);
    const startedA = bodiesOf(startsA, 201);
    const startedB = bodiesOf(startsB, 201);
    for (const op of startedA) expect(op.fiscal?.fiscal_unit_id).toBe(first.unit.id);
    for (const op of startedB) expect(op.fiscal?.fiscal_unit_id).toBe(second.unit.id);
    const [completesA, completesB] = await Promise.all([
      completeConcurrently(first.registerApi, startedA),
      completeConcurrently(second.registerApi, startedB),
    ]);
    const completedA = bodiesOf(completesA, 200);
    const completedB = bodiesOf(completesB, 200);
    await expectGaplessRegister(t, first, startedA, completedA);
    await expectGaplessRegister(t, second, startedB, completedB);
    // Each unit signs with its own client id and key.
    expect(completedA[0]?.fiscal?.client_id).toBe(first.register.serial_number);
    expect(completedB[0]?.fiscal?.client_id).toBe(second.register.serial_number);
    expect(completedA[0]?.fiscal?.public_key).not.toBe(completedB[0]?.fiscal?.public_key);
  });

  it('signs exactly once for 50 parallel identical completes with one Idempotency-Key', async () => {
    const fixture = await createFiscalRegister(t);
    const started = await fixture.registerApi.post<Operation>(`/v1/registers/${fixture.register.id}/sales`, {
      line_items: [line('Currywurst', 2, 450)],
    });
    expect(started.status, started.text).toBe(201);
    const body = { payments: [{ method: 'cash', direction: 'inbound', amount: 900 }] };
    const options = { headers: { 'idempotency-key': `complete-${started.body.id}` } };
    const responses = await Promise.all(
      range(0, 50).map(() =>
        fixture.registerApi.post<Operation>(`/v1/sales/${started.body.id}/complete`, body, options),
      ),
    );
    const successes = responses.filter((response) => response.status === 200);
    const inProgress = responses.filter((response) => response.status !== 200);
    expect(successes.length).toBeGreaterThanOrEqual(1);
    for (const response of inProgress) expectError(response, 409, 'idempotency_request_in_progress');
    // One execution; every other 200 is its replay, byte for byte.
    const executed = successes.filter((response) => response.headers['idempotent-replayed'] === undefined);
    expect(executed).toHaveLength(1);
    for (const response of successes) expect(response.text).toBe(executed[0]?.text);
    expect(executed[0]?.body).toMatchObject({ id: started.body.id, state: 'completed', fiscal_state: 'succeeded' });

    const logs = await tseLogs(t, { operationId: started.body.id });
    expect(logs.map((log) => log.operationType)).toEqual(['StartTransaction', 'FinishTransaction']);
    expect((await tseLogs(t, { fiscalUnitId: fixture.unit.id })).map((log) => log.signatureCounter)).toEqual(
      range(1, 4),
    );
    const journal = await journalOf(fixture.orgApi, fixture.register.id);
    expect(journal.map((entry) => entry.type)).toEqual([
      'fiscal_unit.provisioned',
      'operation.started',
      'operation.completed',
    ]);
    // A retry after the race is a replay too.
    const late = await fixture.registerApi.post<Operation>(`/v1/sales/${started.body.id}/complete`, body, options);
    expect(late.status).toBe(200);
    expect(late.headers['idempotent-replayed']).toBe('true');
    expect(late.text).toBe(executed[0]?.text);
    expect(await tseLogs(t, { operationId: started.body.id })).toHaveLength(2);
  });
});
