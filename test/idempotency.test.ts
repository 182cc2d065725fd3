import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ErrorBody } from '../src/errors/app-error.js';
import type { ApiKeyView } from '../src/modules/api-keys/api-key.service.js';
import { fingerprint, LeaseLostError } from '../src/modules/idempotency/idempotency.service.js';
import type { Organization } from '../src/modules/organizations/organization.schemas.js';
import type { Register } from '../src/modules/registers/register.schemas.js';
import type { Page } from '../src/shared/pagination.js';
import { expectError } from './helpers/assertions.js';
import { describeDb, statementsSentDuring } from './helpers/engines.js';
import { createOrganization, createPlatform, createRegister, createTenant } from './helpers/factories.js';
import { buildTestApp, ManualClock, type TestApp } from './helpers/test-app.js';

const withKey = (key: string) => ({ headers: { 'idempotency-key': key } });

async function countOrganizations(t: TestApp): Promise<number> {
  const rows = await t.database.executor().selectFrom('organizations').select('id').execute();
  return rows.length;
}

/**
 * Takes the write lock on stored idempotency keys from another connection, as another process would (SQLite: the
 * database's write lock; PostgreSQL: a table lock that lets reads through); resolves with its release.
 */
async function holdWriteLock(t: TestApp): Promise<() => Promise<void>> {
  if (t.scratch.location.kind === 'sqlite') {
    const other = new BetterSqlite3(t.scratch.location.path);
    other.exec('begin immediate');
    return () => {
      other.exec('rollback');
      other.close();
      return Promise.resolve();
    };
  }
  const client = new pg.Client({ connectionString: t.scratch.url });
  await client.connect();
  await client.query('begin');
  await client.query('lock table idempotency_keys in exclusive mode');
  return async () => {
    await client.query('rollback');
    await client.end();
  };
}

/** The state of a stored key as another connection sees it (only what is committed). */
async function readClaimFromOutside(t: TestApp, key: string): Promise<string | undefined> {
  if (t.scratch.location.kind === 'sqlite') {
    const other = new BetterSqlite3(t.scratch.location.path, { readonly: true });
    try {
      const row = other.prepare('select state from idempotency_keys where idempotency_key = ?').get(key) as
        { state: string } | undefined;
      return row?.state;
    } finally {
      other.close();
    }
  }
  const client = new pg.Client({ connectionString: t.scratch.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ state: string }>(
      'select state from idempotency_keys where idempotency_key = $1',
      [key],
    );
    return rows[0]?.state;
  } finally {
    await client.end();
  }
}

describeDb('idempotency', () => {
  let t: TestApp;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock();
    t = await buildTestApp({ clock, idempotencyLeaseMs: 30_000 });
  });
  afterEach(() => t.close());

  it('replays the stored response byte for byte, marked, without executing again', async () => {
    const { api } = await createPlatform(t);
    const body = { legal_name: 'Einmal GmbH', country: 'DE' };
    const first = await api.post<Organization>('/v1/organizations', body, withKey('create-org-1'));
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    clock.advance(5_000);
    const replay = await api.post<Organization>('/v1/organizations', body, withKey('create-org-1'));
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(replay.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
    expect(await countOrganizations(t)).toBe(1);
    // The key order of the body does not matter: the fingerprint is over canonical JSON.
    const reordered = await api.post(
      '/v1/organizations',
      { country: 'DE', legal_name: 'Einmal GmbH' },
      withKey('create-org-1'),
    );
    expect(reordered.text).toBe(first.text);
  });

  it('answers a retry of a completed request from a read: it needs no write while the store is locked', async () => {
    const { api } = await createPlatform(t);
    const body = { legal_name: 'Gelesen GmbH', country: 'DE' };
    const first = await api.post<Organization>('/v1/organizations', body, withKey('read-replay'));
    expect(first.status).toBe(201);
    const release = await holdWriteLock(t);
    let fresh: Promise<{ status: number }> | null = null;
    let freshAnswered = false;
    try {
      if (t.scratch.location.kind === 'postgres') {
        // A new key must claim (write), so it waits for the lock. (On SQLite a write waiting for another process's
        // lock blocks the whole event loop until the busy timeout; there, a replay that wrote would fail instead.)
        fresh = api.post('/v1/organizations', { legal_name: 'Neu GmbH', country: 'DE' }, withKey('read-replay-new'));
        void fresh.then(() => (freshAnswered = true));
      }
      const startedAt = performance.now();
      const replay = await api.post<Organization>('/v1/organizations', body, withKey('read-replay'));
      expect(replay.status).toBe(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.text).toBe(first.text);
      // A conflicting reuse of the key is told from the same read.
      expectError(
        await api.post('/v1/organizations', { legal_name: 'Anders GmbH', country: 'DE' }, withKey('read-replay')),
        409,
        'idempotency_key_conflict',
      );
      expect(performance.now() - startedAt).toBeLessThan(2_000);
      expect(freshAnswered).toBe(false);
    } finally {
      await release();
    }
    if (fresh !== null) expect((await fresh).status).toBe(201);
    expect(await countOrganizations(t)).toBe(fresh === null ? 1 : 2);
  });

  it('executes requests without a key every time', async () => {
    const { api } = await createPlatform(t);
    await api.post('/v1/organizations', { legal_name: 'A', country: 'DE' });
    await api.post('/v1/organizations', { legal_name: 'A', country: 'DE' });
    expect(await countOrganizations(t)).toBe(2);
  });

  it('answers 409 idempotency_key_conflict for the same key with another request', async () => {
    const { api, organization, register } = await createTenant(t);
    await api.post('/v1/organizations', { legal_name: 'A', country: 'DE' }, withKey('k'));
    const otherBody = expectError(
      await api.post('/v1/organizations', { legal_name: 'B', country: 'DE' }, withKey('k')),
      409,
      'idempotency_key_conflict',
    );
    expect(otherBody.param).toBe('Idempotency-Key');
    expect(otherBody.retryable).toBe(false);
    expectError(await api.post('/v1/auth/api-keys', { label: 'A' }, withKey('k')), 409, 'idempotency_key_conflict');
    // PATCH is covered too, and the organization is part of the fingerprint's scope.
    const orgApi = api.forOrganization(organization.id);
    const patched = await orgApi.patch<Register>(`/v1/registers/${register.id}`, { label: 'X' }, withKey('p'));
    expect(patched.status).toBe(200);
    expectError(
      await orgApi.patch(`/v1/registers/${register.id}`, { label: 'Y' }, withKey('p')),
      409,
      'idempotency_key_conflict',
    );
    expect((await orgApi.get<Register>(`/v1/registers/${register.id}`)).body.label).toBe('X');
  });

  it('scopes keys by platform and organization', async () => {
    const a = await createPlatform(t, 'A');
    const b = await createPlatform(t, 'B');
    const body = { legal_name: 'Same', country: 'DE' };
    const fromA = await a.api.post<Organization>('/v1/organizations', body, withKey('shared'));
    const fromB = await b.api.post<Organization>('/v1/organizations', body, withKey('shared'));
    expect(fromB.status).toBe(201);
    expect(fromB.headers['idempotent-replayed']).toBeUndefined();
    expect(fromB.body.id).not.toBe(fromA.body.id);

    const org1 = await createOrganization(a.api);
    const org2 = await createOrganization(a.api);
    const loc1 = await a.api
      .forOrganization(org1.id)
      .post(`/v1/organizations/${org1.id}/locations`, { name: 'L' }, withKey('loc'));
    const loc2 = await a.api
      .forOrganization(org2.id)
      .post(`/v1/organizations/${org2.id}/locations`, { name: 'L' }, withKey('loc'));
    expect(loc1.status).toBe(201);
    expect(loc2.status).toBe(201);
    expect(loc2.headers['idempotent-replayed']).toBeUndefined();
  });

  it('stores refusals (4xx) and replays them with their original request id', async () => {
    const { api } = await createPlatform(t);
    const first = expectError(
      await api.post('/v1/organizations', { legal_name: 'X', country: 'XX' }, withKey('bad')),
      422,
      'validation_error',
    );
    const replay = await api.post<ErrorBody>('/v1/organizations', { legal_name: 'X', country: 'XX' }, withKey('bad'));
    expect(replay.status).toBe(422);
    expect(replay.body).toEqual(first);
    expect(replay.headers['idempotent-replayed']).toBe('true');
  });

  it('does not store a 5xx: it had no effect, and a retry executes afresh', async () => {
    const { api, orgApi, register } = await createTenant(t);
    const apiKeys = t.container.apiKeys;
    const revoke = apiKeys.revokeRegisterKeys.bind(apiKeys);
    // Archiving updates the register, then revokes its keys; make the second step fail.
    apiKeys.revokeRegisterKeys = () => Promise.reject(new Error('disk on fire'));
    expectError(
      await orgApi.post(`/v1/registers/${register.id}/archive`, undefined, withKey('arch')),
      500,
      'internal_error',
    );
    // Nothing half-written: the register is still active.
    expect((await orgApi.get<Register>(`/v1/registers/${register.id}`)).body.state).toBe('active');
    const rows = await t.database
      .executor()
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('idempotency_key', '=', 'arch')
      .execute();
    expect(rows).toEqual([]);
    apiKeys.revokeRegisterKeys = revoke;
    const retry = await orgApi.post<Register>(`/v1/registers/${register.id}/archive`, undefined, withKey('arch'));
    expect(retry.status).toBe(200);
    expect(retry.body.state).toBe('archived');
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(api).toBeDefined();
  });

  it('answers 409 idempotency_request_in_progress while the first request runs', async () => {
    const { api, platformId } = await createPlatform(t);
    const body = { legal_name: 'Slow', country: 'DE' };
    const print = fingerprint({ method: 'POST', path: '/v1/organizations', organizationId: null, body });
    const claim = await t.container.idempotency.claim(`${platformId}/-`, 'busy', print);
    expect(claim.kind).toBe('claimed');
    const response = expectError(
      await api.post('/v1/organizations', body, withKey('busy')),
      409,
      'idempotency_request_in_progress',
    );
    expect(response.retryable).toBe(true);
    expect(await countOrganizations(t)).toBe(0);
  });

  it('commits a new claim by itself, at once: on PostgreSQL one statement without BEGIN and COMMIT', async () => {
    const { platformId } = await createPlatform(t);
    const print = fingerprint({ method: 'POST', path: '/v1/organizations', organizationId: null, body: {} });
    const { result: claim, sent } = await statementsSentDuring(() =>
      t.container.idempotency.claim(`${platformId}/-`, 'fresh', print),
    );
    expect(claim.kind).toBe('claimed');
    // Committed: another connection sees the claim (a duplicate would get 409, not wait).
    const stored = await readClaimFromOutside(t, 'fresh');
    expect(stored).toBe('in_progress');
    if (t.scratch.location.kind === 'postgres') {
      const words = sent.map((text) => /^(?:\/\*[^*]*\*\/\s*)?(\w+)/.exec(text)?.[1]?.toLowerCase());
      expect(words).toEqual(['select', 'insert']); // the read for a replay, then the claim itself
    }
    // Inside a transaction it refuses: it could not commit apart from it.
    await expect(t.database.transaction(() => t.database.standalone(() => Promise.resolve(1)))).rejects.toThrow(
      /inside a transaction/,
    );
  });

  it('lets a retry take over the key of a request that died, and then refuses the dead one', async () => {
    const { api, platformId } = await createPlatform(t);
    const body = { legal_name: 'Phoenix', country: 'DE' };
    const scope = `${platformId}/-`;
    const print = fingerprint({ method: 'POST', path: '/v1/organizations', organizationId: null, body });
    const dead = await t.container.idempotency.claim(scope, 'crash', print);
    if (dead.kind !== 'claimed') throw new Error('expected a claim');
    expectError(await api.post('/v1/organizations', body, withKey('crash')), 409, 'idempotency_request_in_progress');
    clock.advance(30_001);
    const retry = await api.post<Organization>('/v1/organizations', body, withKey('crash'));
    expect(retry.status).toBe(201);
    // The original holder, should it come back, cannot store its result any more.
    await expect(
      t.container.idempotency.complete(scope, 'crash', dead.leaseToken, {
        status: 201,
        contentType: 'application/json',
        body: '{}',
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    const replay = await api.post('/v1/organizations', body, withKey('crash'));
    expect(replay.text).toBe(retry.text);
    expect(await countOrganizations(t)).toBe(1);
  });

  it('creates exactly one resource from 50 parallel identical requests', async () => {
    const { api } = await createPlatform(t);
    const body = { legal_name: 'Fifty GmbH', country: 'DE' };
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => api.post('/v1/organizations', body, withKey('fifty'))),
    );
    const created = responses.filter((r) => r.status === 201);
    const busy = responses.filter((r) => r.status === 409);
    expect(created.length + busy.length).toBe(50);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const r of created) expect(r.text).toBe(created[0]?.text);
    for (const r of busy) expectError(r, 409, 'idempotency_request_in_progress');
    expect(await countOrganizations(t)).toBe(1);
    const after = await api.post('/v1/organizations', body, withKey('fifty'));
    expect(after.text).toBe(created[0]?.text);
    expect(after.headers['idempotent-replayed']).toBe('true');
  });

  it('keeps a key for the retention period, then purges it and the key is free again', async () => {
    const { api } = await createPlatform(t);
    const body = { legal_name: 'Old', country: 'DE' };
    await api.post('/v1/organizations', body, withKey('aging'));
    clock.advance(23 * 3_600_000);
    expect(await t.container.idempotency.purgeExpired()).toBe(0);
    expect((await api.post('/v1/organizations', body, withKey('aging'))).headers['idempotent-replayed']).toBe('true');
    clock.advance(3_600_000);
    expect(await t.container.idempotency.purgeExpired()).toBe(1);
    const fresh = await api.post('/v1/organizations', body, withKey('aging'));
    expect(fresh.status).toBe(201);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
    expect(await countOrganizations(t)).toBe(2);
  });

  it('reuses an expired key even before the purge ran', async () => {
    const { api } = await createPlatform(t);
    await api.post('/v1/organizations', { legal_name: 'A', country: 'DE' }, withKey('late'));
    clock.advance(25 * 3_600_000);
    const other = await api.post('/v1/organizations', { legal_name: 'B', country: 'DE' }, withKey('late'));
    expect(other.status).toBe(201);
    expect(await countOrganizations(t)).toBe(2);
  });

  it('replays a new API key but stores it only encrypted', async () => {
    const { api } = await createPlatform(t);
    const first = await api.post<ApiKeyView>('/v1/auth/api-keys', { label: 'rotating' }, withKey('rotate'));
    const replay = await api.post<ApiKeyView>('/v1/auth/api-keys', { label: 'rotating' }, withKey('rotate'));
    expect(replay.body.api_key).toBe(first.body.api_key);
    const secret = first.body.api_key ?? '';
    const rows = await t.database.executor().selectFrom('idempotency_keys').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(
      secret.slice(-20),
    );
    const listed = await api.get<Page<ApiKeyView>>('/v1/auth/api-keys');
    expect(listed.body.data.filter((k) => k.label === 'rotating')).toHaveLength(1);
  });

  it('makes bootstrap retry-safe: a lost response can be fetched again with the same key', async () => {
    const { setupToken } = await t.container.platforms.createPlatform('Retry');
    const first = await t.api.post<ApiKeyView>('/v1/auth/bootstrap', { setup_token: setupToken }, withKey('boot'));
    const again = await t.api.post<ApiKeyView>('/v1/auth/bootstrap', { setup_token: setupToken }, withKey('boot'));
    expect(again.status).toBe(201);
    expect(again.body.api_key).toBe(first.body.api_key);
    expectError(await t.api.post('/v1/auth/bootstrap', { setup_token: setupToken }), 401, 'unauthorized');
  });

  it('validates the Idempotency-Key header', async () => {
    const { api } = await createPlatform(t);
    for (const key of ['', 'x'.repeat(256), 'tab\there', 'ümlaut']) {
      const response = await api.post('/v1/organizations', { legal_name: 'A', country: 'DE' }, withKey(key));
      const body = expectError(response, 400, 'invalid_request');
      expect(body.param).toBe('Idempotency-Key');
    }
    expect(await countOrganizations(t)).toBe(0);
    const ok = await api.post('/v1/organizations', { legal_name: 'A', country: 'DE' }, withKey('x'.repeat(255)));
    expect(ok.status).toBe(201);
  });

  it('replays a register creation with its serial number instead of answering serial_number_taken', async () => {
    const { orgApi, location } = await createTenant(t);
    const body = { label: 'K', jurisdiction: 'DE', serial_number: 'ONCE' };
    const first = await orgApi.post(`/v1/locations/${location.id}/registers`, body, withKey('reg'));
    const replay = await orgApi.post(`/v1/locations/${location.id}/registers`, body, withKey('reg'));
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expectError(await orgApi.post(`/v1/locations/${location.id}/registers`, body), 409, 'serial_number_taken');
    expect(createRegister).toBeDefined();
  });
});
