import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue, type ClaimedJob, type JobQueue } from '../src/jobs/job-queue.js';
import { createJobQueueRepository } from '../src/jobs/job-queue.repository.js';
import { startJobRunner, type JobContext, type JobHandler, type Worker } from '../src/jobs/worker.js';
import { createLogger } from '../src/logger.js';
import type { Export } from '../src/modules/exports/export.schemas.js';
import { EXPORT_JOB_KIND } from '../src/modules/exports/export.service.js';
import { createSelfSignedCertificate } from '../src/regimes/de/certificate.js';
import {
  assembleLogMessage,
  encodeTransactionLogDtbs,
  logFileName,
  parseLogMessage,
  publicKeyPoint,
  signDtbs,
  tseSerialNumber,
  verifyLogMessage,
  type TransactionOperation,
} from '../src/regimes/de/log-message.js';
import { systemClock, type Clock } from '../src/shared/clock.js';
import { newId } from '../src/shared/ids.js';
import type { Page } from '../src/shared/pagination.js';
import type { ApiClient } from './helpers/api-client.js';
import { expectError } from './helpers/assertions.js';
import { readTarEntries } from './helpers/independent-checks.js';
import { createScratchDatabase, describeDb } from './helpers/engines.js';
import { createRegister, createTenant, type TenantFixture } from './helpers/factories.js';
import { buildTestApp, ManualClock, type TestApp } from './helpers/test-app.js';

const silent = createLogger('silent');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HEX64 = /^[0-9a-f]{64}$/;

/** A queue on the test app's database with a clock and backoff of the test's choosing. */
function queueOf(t: TestApp, clock: Clock, baseMs = 1000): JobQueue {
  return createJobQueue({
    repository: createJobQueueRepository(t.database),
    unitOfWork: t.database,
    clock,
    backoff: { baseMs, maxMs: 8 * baseMs },
  });
}

/** A job kind no other test uses, so tests sharing a database do not take each other's jobs. */
const freshKind = () => `test-${randomBytes(4).toString('hex')}`;

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last value: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

describeDb('job queue', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('enqueues inside the caller’s transaction: a rollback leaves no job', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00Z');
    const queue = queueOf(t, clock);
    const kind = freshKind();
    let jobId = '';
    await expect(
      t.database.transaction(async () => {
        jobId = await queue.enqueue(kind, { n: 1 });
        throw new Error('the request failed');
      }),
    ).rejects.toThrow('the request failed');
    expect(jobId).toMatch(/^job_/);
    expect(await queue.get(jobId)).toBeUndefined();
    expect(await queue.claim(clock.now(), 1000, [kind])).toBeNull();

    const committed = await t.database.transaction(() => queue.enqueue(kind, { n: 2 }));
    expect((await queue.get(committed))?.state).toBe('queued');
  });

  it('claims a due job once, with its payload, and completes it', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00Z');
    const queue = queueOf(t, clock);
    const kind = freshKind();
    const later = await queue.enqueue(kind, { n: 'later' }, { runAt: new Date('2026-03-01T10:05:00Z') });
    const id = await queue.enqueue(kind, { n: 'now' });
    const job = await queue.claim(clock.now(), 1000, [kind]);
    expect(job).toMatchObject({ id, kind, payload: { n: 'now' }, attempt: 1, maxAttempts: 10 });
    // Running under a live lease, and the other one not due yet.
    expect(await queue.claim(clock.now(), 1000, [kind])).toBeNull();
    expect(await queue.claim(clock.now(), 1000, ['another-kind'])).toBeNull();
    expect(await queue.complete(id, job?.leaseToken ?? '')).toBe(true);
    expect(await queue.complete(id, job?.leaseToken ?? '')).toBe(false);
    expect(await queue.get(id)).toMatchObject({
      state: 'completed',
      attempts: 1,
      completedAt: clock.now().toISOString(),
    });

    clock.advance(5 * 60_000);
    expect((await queue.claim(clock.now(), 1000, [kind]))?.id).toBe(later);
  });

  it('retries a failed attempt after 1 s, 2 s, … and then succeeds', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00Z');
    const queue = queueOf(t, clock);
    const kind = freshKind();
    const id = await queue.enqueue(kind, null, { maxAttempts: 5 });

    const first = await queue.claim(clock.now(), 60_000, [kind]);
    expect(await queue.fail(id, first?.leaseToken ?? '', 'boom 1', clock.now())).toBe('retrying');
    expect(await queue.get(id)).toMatchObject({
      state: 'queued',
      attempts: 1,
      lastError: 'boom 1',
      runAt: '2026-03-01T10:00:01.000Z',
    });
    clock.advance(999);
    expect(await queue.claim(clock.now(), 60_000, [kind])).toBeNull();
    clock.advance(1);
    const second = await queue.claim(clock.now(), 60_000, [kind]);
    expect(second).toMatchObject({ id, attempt: 2 });
    expect(await queue.fail(id, second?.leaseToken ?? '', 'boom 2', clock.now())).toBe('retrying');
    expect((await queue.get(id))?.runAt).toBe('2026-03-01T10:00:03.000Z');
    clock.advance(1999);
    expect(await queue.claim(clock.now(), 60_000, [kind])).toBeNull();
    clock.advance(1);
    const third = await queue.claim(clock.now(), 60_000, [kind]);
    expect(third).toMatchObject({ id, attempt: 3 });
    expect(await queue.complete(id, third?.leaseToken ?? '')).toBe(true);
    expect(await queue.get(id)).toMatchObject({ state: 'completed', attempts: 3 });
  });

  it('marks a job failed after its last attempt', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00Z');
    const queue = queueOf(t, clock);
    const kind = freshKind();
    const id = await queue.enqueue(kind, null, { maxAttempts: 2 });
    const first = await queue.claim(clock.now(), 60_000, [kind]);
    expect(await queue.fail(id, first?.leaseToken ?? '', 'boom', clock.now())).toBe('retrying');
    clock.advance(1000);
    const second = await queue.claim(clock.now(), 60_000, [kind]);
    expect(await queue.fail(id, second?.leaseToken ?? '', 'still boom', clock.now())).toBe('failed');
    expect(await queue.get(id)).toMatchObject({ state: 'failed', attempts: 2, lastError: 'still boom' });
    clock.advance(3_600_000);
    expect(await queue.claim(clock.now(), 60_000, [kind])).toBeNull();
  });

  it('hands a job whose lease expired (crashed worker) to the next claimer; the old holder can no longer report', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00Z');
    const queue = queueOf(t, clock);
    const kind = freshKind();
    const id = await queue.enqueue(kind, { n: 1 });
    const crashed = (await queue.claim(clock.now(), 1000, [kind])) as ClaimedJob;
    clock.advance(500);
    expect(await queue.heartbeat(id, crashed.leaseToken, 1000)).toBe(true); // lease now ends at +1500 ms
    clock.advance(999);
    expect(await queue.claim(clock.now(), 1000, [kind])).toBeNull();
    clock.advance(1);
    const successor = (await queue.claim(clock.now(), 1000, [kind])) as ClaimedJob;
    expect(successor).toMatchObject({ id, attempt: 2 });
    expect(successor.leaseToken).not.toBe(crashed.leaseToken);

    let ran = false;
    expect(
      await queue.complete(id, crashed.leaseToken, () => {
        ran = true;
        return Promise.resolve();
      }),
    ).toBe(false);
    expect(ran).toBe(false);
    expect(await queue.heartbeat(id, crashed.leaseToken)).toBe(false);
    expect(await queue.fail(id, crashed.leaseToken, 'late', clock.now())).toBe('lease_lost');
    expect((await queue.get(id))?.state).toBe('running');
    expect(await queue.complete(id, successor.leaseToken)).toBe(true);
    expect(await queue.get(id)).toMatchObject({ state: 'completed', lastError: null });
  });

  it('gives up on a job whose last attempt’s worker vanished', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00Z');
    const queue = queueOf(t, clock);
    const kind = freshKind();
    const id = await queue.enqueue(kind, null, { maxAttempts: 1 });
    expect((await queue.claim(clock.now(), 1000, [kind]))?.id).toBe(id);
    clock.advance(1000);
    expect(await queue.claim(clock.now(), 1000, [kind])).toBeNull();
    const job = await queue.get(id);
    expect(job?.state).toBe('failed');
    expect(job?.lastError).toMatch(/lease expired/);
  });

  it('never hands one job to two concurrent claimers', async () => {
    const queue = queueOf(t, systemClock);
    const kind = freshKind();
    const ids = new Set<string>();
    for (let i = 0; i < 12; i++) ids.add(await queue.enqueue(kind, { i }));
    const claims = await Promise.all(Array.from({ length: 24 }, () => queue.claim(new Date(), 60_000, [kind])));
    const claimed = claims.filter((job) => job !== null).map((job) => job.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    // Whatever the concurrent round left (claimers that found every due row locked) is claimable afterwards.
    for (;;) {
      const job = await queue.claim(new Date(), 60_000, [kind]);
      if (job === null) break;
      expect(claimed).not.toContain(job.id);
      claimed.push(job.id);
    }
    expect(new Set(claimed)).toEqual(ids);
  });

  describe('runner', () => {
    const workers: Worker[] = [];
    afterEach(async () => {
      for (const worker of workers.splice(0)) await worker.stop();
    });

    it('runs handlers by kind, retries a failure with backoff and completes work with the job', async () => {
      const queue = queueOf(t, systemClock, 20);
      const kind = freshKind();
      const seen: { payload: unknown; attempt: number }[] = [];
      const handler: JobHandler = async (payload, context) => {
        seen.push({ payload, attempt: context.attempt });
        await context.progress(1, 2);
        if (context.attempt === 1) throw new Error('transient');
        await context.heartbeat();
        await context.complete(async () => {
          // Runs in the transaction that completes the job.
          expect(t.database.inTransaction()).toBe(true);
          await Promise.resolve();
        });
      };
      workers.push(
        startJobRunner(
          { queue, handlers: { [kind]: handler }, clock: systemClock, pollMs: 10, concurrency: 2 },
          silent,
        ),
      );
      const id = await queue.enqueue(kind, { hello: 'world' });
      const job = await waitFor(
        () => queue.get(id),
        (j) => j?.state === 'completed',
      );
      expect(job).toMatchObject({ attempts: 2, lastError: 'Error: transient' });
      expect(seen).toEqual([
        { payload: { hello: 'world' }, attempt: 1 },
        { payload: { hello: 'world' }, attempt: 2 },
      ]);
    });

    it('abandons a running job on stop; after its lease expires the next runner takes it over', async () => {
      const queue = queueOf(t, systemClock, 20);
      const kind = freshKind();
      let started = false;
      let abortedWith: unknown = null;
      const stubborn: JobHandler = (_payload, context: JobContext) =>
        new Promise((_resolve, reject) => {
          started = true;
          context.signal.addEventListener('abort', () => {
            abortedWith = context.signal.reason;
            reject(context.signal.reason as Error);
          });
        });
      const first = startJobRunner(
        { queue, handlers: { [kind]: stubborn }, clock: systemClock, pollMs: 10, leaseMs: 300, stopGraceMs: 20 },
        silent,
      );
      const id = await queue.enqueue(kind, null);
      await waitFor(
        () => Promise.resolve(started),
        (s) => s,
      );
      await first.stop();
      expect(abortedWith).toBeInstanceOf(Error);
      // Abandoned, not failed: the attempt is not recorded as an error, the lease just runs out.
      expect(await queue.get(id)).toMatchObject({ state: 'running', attempts: 1, lastError: null });

      const attempts: number[] = [];
      workers.push(
        startJobRunner(
          {
            queue,
            handlers: {
              [kind]: (_payload, context) => {
                attempts.push(context.attempt);
                return Promise.resolve();
              },
            },
            clock: systemClock,
            pollMs: 10,
            leaseMs: 300,
          },
          silent,
        ),
      );
      await waitFor(
        () => queue.get(id),
        (j) => j?.state === 'completed',
      );
      expect(attempts).toEqual([2]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Exports

interface SeededLog {
  readonly fileName: string;
  readonly message: Buffer;
}

interface SeededUnit {
  readonly id: string;
  readonly serialHex: string;
  readonly publicKey: KeyObject;
  readonly certificate: Buffer;
  /** In signature-counter order; only those inside the period the test exports. */
  readonly logs: SeededLog[];
}

const PERIOD = { from: '2026-03-01T00:00:00+01:00', to: '2026-03-31T23:59:59Z' };

/**
 * A DE fiscal unit with a signing device and `count` genuinely signed transaction logs, written straight into the
 * tables the TSE export reads; the first `outside` logs are dated before the period.
 */
async function seedTseUnit(
  t: TestApp,
  tenant: TenantFixture,
  registerId: string,
  { count, outside = 0, startAt }: { count: number; outside?: number; startAt: string },
): Promise<SeededUnit> {
  const db = t.database.executor();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const point = publicKeyPoint(publicKey);
  const serial = tseSerialNumber(point);
  const serialHex = serial.toString('hex');
  const certificate = createSelfSignedCertificate({
    privateKey,
    publicKey,
    commonName: serialHex.toUpperCase(),
    serialNumber: Buffer.concat([Buffer.of(0x01), randomBytes(15)]),
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2034-01-01T00:00:00Z'),
  });
  const id = newId('fu');
  const now = new Date().toISOString();
  const clientId = 'till-1';
  await db
    .insertInto('fiscal_units')
    .values({
      id,
      platform_id: tenant.platformId,
      organization_id: tenant.organization.id,
      register_id: registerId,
      jurisdiction: 'DE',
      provider: 'software_tse',
      state: 'active',
      certified: 0,
      fiscal_registration: JSON.stringify({ tse_serial: serialHex, client_id: clientId }),
      reason: null,
      replaces: null,
      replaced_by: null,
      simulated_failure: 'none',
      last_error: null,
      provisioned_at: now,
      decommissioned_at: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .insertInto('signing_devices')
    .values({
      fiscal_unit_id: id,
      private_key: 'not used by the export',
      public_key: point.toString('base64'),
      certificate: certificate.toString('base64'),
      signature_counter: count,
      transaction_counter: Math.ceil(count / 2),
      created_at: now,
    })
    .execute();

  const rows = [];
  const logs: SeededLog[] = [];
  for (let i = 0; i < count; i++) {
    const signatureCounter = BigInt(i + 1);
    const createdAt = new Date(Date.parse(startAt) + i * 1000);
    const logTime = BigInt(Math.floor(createdAt.getTime() / 1000));
    const transactionNumber = BigInt(Math.floor(i / 2) + 1);
    const operationType: TransactionOperation = i % 2 === 0 ? 'StartTransaction' : 'FinishTransaction';
    const dtbs = encodeTransactionLogDtbs({
      operationType,
      clientId,
      processData: Buffer.from(`Beleg^0.00_0.00_0.00_0.00_0.00^${i}:Bar`),
      processType: 'Kassenbeleg-V1',
      transactionNumber,
      serialNumber: serial,
      signatureCounter,
      logTime,
    });
    const message = assembleLogMessage(dtbs, signDtbs(dtbs, privateKey));
    const fileName = logFileName({
      logType: 'transaction',
      operationType,
      logTime,
      signatureCounter,
      transactionNumber,
      clientId,
    });
    const inside = i >= outside;
    if (inside) logs.push({ fileName, message });
    rows.push({
      fiscal_unit_id: id,
      signature_counter: signatureCounter,
      register_id: registerId,
      log_type: 'transaction',
      operation_type: operationType,
      transaction_number: transactionNumber,
      client_id: clientId,
      log_time: logTime,
      file_name: fileName,
      message: message.toString('base64'),
      operation_id: null,
      created_at: inside ? createdAt.toISOString() : '2026-02-28T22:59:59.999Z',
    });
  }
  // Inserted backwards, so that the export's order can only come from its own query.
  rows.reverse();
  for (let i = 0; i < rows.length; i += 200) {
    await db
      .insertInto('tse_log_messages')
      .values(rows.slice(i, i + 200))
      .execute();
  }
  return { id, serialHex, publicKey, certificate, logs };
}

const download = (api: ApiClient, exportId: string) => api.get(`/v1/exports/${exportId}/download`);

const settled = (api: ApiClient, id: string) =>
  waitFor(
    async () => (await api.get<Export>(`/v1/exports/${id}`)).body,
    (body) => body.state === 'completed' || body.state === 'failed',
  );

describeDb('exports', () => {
  let t: TestApp;
  let tenant: TenantFixture;
  let other: TenantFixture;
  let runner: Worker;
  const clock = new ManualClock('2026-04-02T08:00:00Z');
  beforeAll(async () => {
    t = await buildTestApp({ clock });
    tenant = await createTenant(t);
    other = await createTenant(t, 'Other platform');
    runner = startJobRunner({ ...t.container.jobRunner, pollMs: 20 }, silent);
  });
  afterAll(async () => {
    await runner.stop();
    await t.close();
  });

  const body = (overrides: Record<string, unknown> = {}) => ({
    type: 'tse_tar',
    register_id: tenant.register.id,
    ...PERIOD,
    ...overrides,
  });

  it('validates the request', async () => {
    const api = tenant.orgApi;
    expectError(await api.post('/v1/exports', body({ type: 'xml' })), 400, 'invalid_request', 'type');
    expectError(await api.post('/v1/exports', body({ from: 'yesterday' })), 400, 'invalid_request', 'from');
    expectError(await api.post('/v1/exports', body({ extra: 1 })), 400, 'invalid_request');
    expectError(
      await api.post('/v1/exports', body({ from: '2026-04-01T00:00:00Z', to: '2026-03-01T00:00:00Z' })),
      422,
      'validation_error',
      'from',
    );
    expectError(await api.post('/v1/exports', body({ register_id: newId('reg') })), 404, 'not_found');
    expectError(await api.post('/v1/exports', body({ register_id: 'loc_x' })), 404, 'not_found');
    expectError(await api.post('/v1/exports', body({ register_id: other.register.id })), 404, 'not_found');
    expectError(await tenant.api.post('/v1/exports', body()), 400, 'organization_header_required');
  });

  it('refuses a type the register’s jurisdiction has no export for (422 on `type`)', async () => {
    for (const type of ['dep7', 'saft_cash_register', 'nf525_archive', 'corrispettivi']) {
      expectError(await tenant.orgApi.post('/v1/exports', body({ type })), 422, 'validation_error', 'type');
    }
    const austrian = await createRegister(tenant.orgApi, tenant.location.id, { jurisdiction: 'AT' });
    for (const type of ['tse_tar', 'dsfinvk']) {
      expectError(
        await tenant.orgApi.post('/v1/exports', body({ register_id: austrian.id, type })),
        422,
        'validation_error',
        'type',
      );
    }
  });

  it('writes a TSE TAR export through the job worker: progress, file, digest, members in order', async () => {
    const first = await seedTseUnit(t, tenant, tenant.register.id, {
      count: 505,
      startAt: '2026-03-02T10:00:00Z',
    });
    const second = await seedTseUnit(t, tenant, tenant.register.id, {
      count: 5,
      outside: 2,
      startAt: '2026-03-20T10:00:00Z',
    });

    const created = await tenant.orgApi.post<Export>('/v1/exports', body());
    expect(created.status, created.text).toBe(202);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^exp_[0-7][0-9a-hjkmnp-tv-z]{25}$/) as unknown,
      object: 'export',
      type: 'tse_tar',
      register_id: tenant.register.id,
      state: 'queued',
      from: '2026-02-28T23:00:00.000Z',
      to: '2026-03-31T23:59:59.000Z',
      progress: { done: 0, total: 0 },
      file: null,
      links: { download: null },
      failure: null,
      expires_at: '2026-07-01T08:00:00.000Z',
      created_at: '2026-04-02T08:00:00.000Z',
      completed_at: null,
      closing_id: null,
    });
    expectError(await download(tenant.orgApi, created.body.id), 409, 'export_not_ready');

    const done = await settled(tenant.orgApi, created.body.id);
    const total = first.logs.length + second.logs.length;
    expect(done).toMatchObject({
      state: 'completed',
      progress: { done: total, total },
      links: { download: `/v1/exports/${created.body.id}/download` },
      failure: null,
      completed_at: '2026-04-02T08:00:00.000Z',
      expires_at: '2026-07-01T08:00:00.000Z',
    });
    const file = done.file;
    expect(file?.name).toBe(`tse_${tenant.register.serial_number}_20260228T230000Z-20260331T235959Z.tar`);
    expect(file?.content_type).toBe('application/x-tar');
    expect(file?.sha256).toMatch(HEX64);

    const response = await download(tenant.orgApi, created.body.id);
    expect(response.status).toBe(200);
    const bytes = response.raw;
    expect(bytes.length).toBe(file?.size);
    expect(response.headers['content-length']).toBe(String(file?.size));
    expect(response.headers['content-type']).toBe('application/x-tar');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="${file?.name ?? ''}"`);
    const sha256 = createHash('sha256').update(bytes).digest();
    expect(sha256.toString('hex')).toBe(file?.sha256);
    expect(response.headers['x-content-sha256']).toBe(file?.sha256);
    expect(response.headers.digest).toBe(`sha-256=${sha256.toString('base64')}`);

    const entries = await readTarEntries(bytes);
    expect(entries.map((e) => e.name)).toEqual([
      'info.csv',
      `${first.serialHex.toUpperCase()}_X509.pem`,
      `${second.serialHex.toUpperCase()}_X509.pem`,
      ...first.logs.map((l) => l.fileName),
      ...second.logs.map((l) => l.fileName),
    ]);
    expect(entries[0]?.content.toString('utf8')).toMatch(/^"description:",".+","manufacturer:","OpenFiskal"/);
    expect(entries[1]?.content.toString('latin1')).toContain(first.certificate.toString('base64').slice(0, 64));
    const logs = entries.slice(3);
    expect(logs.map((e) => e.content)).toEqual([...first.logs, ...second.logs].map((l) => l.message));
    const lastOfFirst = logs[first.logs.length - 1];
    expect(verifyLogMessage(parseLogMessage(lastOfFirst?.content ?? Buffer.alloc(0)), first.publicKey)).toBe(true);
  });

  it('lists exports with filters; a register key sees and creates only its own register’s', async () => {
    const second = await createRegister(tenant.orgApi, tenant.location.id, { label: 'Kasse 2' });
    const mine = await tenant.orgApi.post<Export>('/v1/exports', body({ register_id: second.id }));
    expect(mine.status).toBe(202);
    await settled(tenant.orgApi, mine.body.id);

    const byRegister = await tenant.orgApi.get<Page<Export>>(`/v1/exports?register_id=${second.id}`);
    expect(byRegister.body.data.map((e) => e.id)).toEqual([mine.body.id]);
    const all = await tenant.orgApi.get<Page<Export>>('/v1/exports?type=tse_tar&state=completed&order=desc');
    expect(all.body.data.length).toBe(2);
    expect(all.body.data[0]?.id).toBe(mine.body.id);
    expect((await tenant.orgApi.get<Page<Export>>('/v1/exports?state=failed')).body.data).toEqual([]);
    expectError(await tenant.orgApi.get('/v1/exports?state=done'), 400, 'invalid_request', 'state');
    expect((await other.orgApi.get<Page<Export>>('/v1/exports')).body.data).toEqual([]);
    expectError(await other.orgApi.get(`/v1/exports/${mine.body.id}`), 404, 'not_found');

    const issued = await t.container.apiKeys.issueRegisterKey(
      { platformId: tenant.platformId, organizationId: tenant.organization.id, registerId: null },
      second.id,
      'till 2',
    );
    const till = t.api.as(issued.api_key ?? '');
    const own = await till.get<Page<Export>>('/v1/exports');
    expect(own.body.data.map((e) => e.id)).toEqual([mine.body.id]);
    expect((await till.get<Export>(`/v1/exports/${mine.body.id}`)).status).toBe(200);
    const firstExport = all.body.data[1]?.id ?? '';
    expectError(await till.get(`/v1/exports/${firstExport}`), 404, 'not_found');
    expectError(await till.get(`/v1/exports?register_id=${tenant.register.id}`), 403, 'forbidden');
    expectError(await till.post('/v1/exports', body()), 403, 'forbidden');
    const created = await till.post<Export>('/v1/exports', body({ register_id: second.id }));
    expect(created.status, created.text).toBe(202);
    expect((await settled(till, created.body.id)).state).toBe('completed');
    const downloaded = await t.api.get(`/v1/exports/${mine.body.id}/download`, {
      headers: { 'x-register-api-key': issued.api_key ?? '' },
    });
    expect(downloaded.status).toBe(200);
    expect(downloaded.raw.length).toBeGreaterThan(0);
  });

  it('replays a retried creation with the same Idempotency-Key instead of queuing a second export', async () => {
    const headers = { 'idempotency-key': `export-${randomBytes(4).toString('hex')}` };
    const first = await tenant.orgApi.post<Export>('/v1/exports', body(), { headers });
    const replay = await tenant.orgApi.post<Export>('/v1/exports', body(), { headers });
    expect(first.status).toBe(202);
    expect(replay.status).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.text).toBe(first.text);
    const all = await tenant.orgApi.get<Page<Export>>('/v1/exports?limit=200');
    expect(all.body.data.filter((e) => e.id === first.body.id)).toHaveLength(1);
    await settled(tenant.orgApi, first.body.id);
  });

  it('enqueues inside a caller’s transaction (closings): a rollback leaves neither export nor job', async () => {
    const before = (await tenant.orgApi.get<Page<Export>>('/v1/exports?limit=200')).body.data.length;
    const closingId = newId('cls');
    await expect(
      t.database.transaction(async () => {
        const created = await t.container.exports.enqueueExport({
          tenant: { platformId: tenant.platformId, organizationId: tenant.organization.id, registerId: null },
          type: 'tse_tar',
          registerId: tenant.register.id,
          from: PERIOD.from,
          to: PERIOD.to,
          closingId,
        });
        expect(created).toMatchObject({ state: 'queued', closing_id: closingId });
        throw new Error('the closing failed');
      }),
    ).rejects.toThrow('the closing failed');
    expect((await tenant.orgApi.get<Page<Export>>('/v1/exports?limit=200')).body.data.length).toBe(before);

    const kept = await t.database.transaction(() =>
      t.container.exports.enqueueExport({
        tenant: { platformId: tenant.platformId, organizationId: tenant.organization.id, registerId: null },
        type: 'tse_tar',
        registerId: tenant.register.id,
        from: PERIOD.from,
        to: PERIOD.to,
        closingId,
      }),
    );
    expect((await settled(tenant.orgApi, kept.id)).closing_id).toBe(closingId);
  });

  it('deletes files after the retention period and answers 410 for them', async () => {
    const list = await tenant.orgApi.get<Page<Export>>('/v1/exports?state=completed&limit=200');
    const target = list.body.data[0] as Export;
    const exportsDir = join(t.scratch.dataDir, 'exports');
    const before = readdirSync(exportsDir).filter((name) => !name.startsWith('.')).length;
    expect(before).toBe(list.body.data.length);

    clock.advance(90 * 86_400_000 + 1);
    expect(await t.container.exports.purgeExpired()).toMatchObject({ files_deleted: list.body.data.length });
    expect(readdirSync(exportsDir).filter((name) => !name.startsWith('.'))).toEqual([]);
    const expired = await tenant.orgApi.get<Export>(`/v1/exports/${target.id}`);
    expect(expired.body).toMatchObject({ state: 'completed', links: { download: null } });
    expect(expired.body.file).toEqual(target.file);
    expectError(await download(tenant.orgApi, target.id), 410, 'export_expired');
    expect(await t.container.exports.purgeExpired()).toMatchObject({ files_deleted: 0 });
  });
});

describeDb('export jobs', () => {
  it('survive a restart: a job enqueued with no worker running is processed by the next process', async () => {
    const scratch = await createScratchDatabase();
    const first = await buildTestApp({ scratch });
    const tenant = await createTenant(first);
    const unit = await seedTseUnit(first, tenant, tenant.register.id, { count: 3, startAt: '2026-03-05T10:00:00Z' });
    const created = await tenant.orgApi.post<Export>('/v1/exports', {
      type: 'tse_tar',
      register_id: tenant.register.id,
      ...PERIOD,
    });
    expect(created.status).toBe(202);
    await sleep(100);
    expect((await tenant.orgApi.get<Export>(`/v1/exports/${created.body.id}`)).body.state).toBe('queued');
    await first.close({ keepData: true });

    const second = await buildTestApp({ scratch, masterKey: first.masterKey });
    const runner = startJobRunner({ ...second.container.jobRunner, pollMs: 20 }, silent);
    try {
      const api = second.api.as(tenant.key, tenant.organization.id);
      const done = await settled(api, created.body.id);
      expect(done).toMatchObject({ state: 'completed', progress: { done: 3, total: 3 } });
      const entries = await readTarEntries((await download(api, done.id)).raw);
      expect(entries.slice(2).map((e) => e.name)).toEqual(unit.logs.map((l) => l.fileName));
    } finally {
      await runner.stop();
      await second.close();
    }
  });

  it('fail with a reason after the last attempt, and when their job died', async () => {
    const clock = new ManualClock('2026-04-02T08:00:00Z');
    const t = await buildTestApp({ clock });
    try {
      const tenant = await createTenant(t);
      const create = () =>
        tenant.orgApi.post<Export>('/v1/exports', { type: 'tse_tar', register_id: tenant.register.id, ...PERIOD });
      const queue = t.container.jobQueue;

      // A last attempt that throws fails the export with a reason (the data is broken: unparsable registration).
      await seedTseUnit(t, tenant, tenant.register.id, { count: 1, startAt: '2026-03-05T10:00:00Z' });
      await t.database.executor().updateTable('fiscal_units').set({ fiscal_registration: '{' }).execute();
      const broken = await create();
      const job = (await queue.claim(clock.now(), 60_000, [EXPORT_JOB_KIND])) as ClaimedJob;
      const controller = new AbortController();
      const context: JobContext = {
        jobId: job.id,
        attempt: job.maxAttempts,
        maxAttempts: job.maxAttempts,
        signal: controller.signal,
        heartbeat: () => Promise.resolve(),
        progress: () => Promise.resolve(),
        complete: async (work) => {
          await queue.complete(job.id, job.leaseToken, work);
        },
      };
      await expect(t.container.exports.runJob(job.payload, context)).rejects.toThrow();
      const failed = (await tenant.orgApi.get<Export>(`/v1/exports/${broken.body.id}`)).body;
      expect(failed).toMatchObject({ state: 'failed', file: null, links: { download: null } });
      expect(failed.failure).toEqual({ code: 'export_failed', message: expect.stringContaining(job.id) as unknown });
      expectError(await download(tenant.orgApi, broken.body.id), 409, 'export_not_ready');
      expect(
        existsSync(join(t.scratch.dataDir, 'exports')) ? readdirSync(join(t.scratch.dataDir, 'exports')) : [],
      ).toEqual([]);

      // A job whose every worker vanished: the queue gives up on it, the maintenance task fails its export.
      const orphan = await create();
      for (;;) {
        const claimed = await queue.claim(clock.now(), 1000, [EXPORT_JOB_KIND]);
        clock.advance(1000);
        if (claimed === null) break;
      }
      expect((await tenant.orgApi.get<Export>(`/v1/exports/${orphan.body.id}`)).body.state).toBe('queued');
      expect(await t.container.exports.purgeExpired()).toMatchObject({ orphans_failed: 1 });
      expect((await tenant.orgApi.get<Export>(`/v1/exports/${orphan.body.id}`)).body).toMatchObject({
        state: 'failed',
        failure: { code: 'export_failed' },
      });
    } finally {
      await t.close();
    }
  });
});
