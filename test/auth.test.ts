import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ErrorBody } from '../src/errors/app-error.js';
import type { ApiKeyView } from '../src/modules/api-keys/api-key.service.js';
import type { Page } from '../src/shared/pagination.js';
import { describeDb } from './helpers/engines.js';
import { createPlatform, createTenant } from './helpers/factories.js';
import { buildTestApp, ManualClock, type TestApp } from './helpers/test-app.js';

/** Error bodies without the per-request id, to compare two answers. */
const withoutRequestId = (body: ErrorBody) => ({ ...body, request_id: undefined });

describeDb('auth: bootstrap and setup tokens', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(() => t.close());

  it('exchanges a setup token once for a platform key shown once', async () => {
    const { platform, setupToken } = await t.container.platforms.createPlatform('Acme POS');
    expect(setupToken).toMatch(/^ofk_setup_test_[0-9A-Za-z]{40}$/);

    const first = await t.api.post<ApiKeyView>('/v1/auth/bootstrap', { setup_token: setupToken, label: 'Production' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      object: 'platform_api_key',
      label: 'Production',
      environment: 'test',
      organization_id: null,
      revoked_at: null,
    });
    expect(first.body.id).toMatch(/^key_[0-7][0-9a-hjkmnp-tv-z]{25}$/);
    expect(first.body.api_key).toMatch(/^ofk_platform_test_[0-9A-Za-z]{40}$/);
    expect(first.body.masked_key).toBe(`ofk_platform_test_…${(first.body.api_key ?? '').slice(-4)}`);

    const second = await t.api.post<ErrorBody>('/v1/auth/bootstrap', { setup_token: setupToken });
    expect(second.status).toBe(401);
    expect(second.body.code).toBe('unauthorized');

    // The key works and belongs to the platform the token was issued for.
    const keys = await t.api.as(first.body.api_key ?? '').get<Page<ApiKeyView>>('/v1/auth/api-keys');
    expect(keys.status).toBe(200);
    expect(keys.body.data.map((k) => k.id)).toEqual([first.body.id]);
    expect(platform.id).toMatch(/^plt_/);
  });

  it('lets exactly one of many concurrent bootstraps win', async () => {
    const { setupToken } = await t.container.platforms.createPlatform('Race');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => t.api.post('/v1/auth/bootstrap', { setup_token: setupToken })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(9);
  });

  it('refuses an expired setup token with 401', async () => {
    const clock = new ManualClock();
    await t.close();
    t = await buildTestApp({ clock });
    const { setupToken } = await t.container.platforms.createPlatform('Late');
    clock.advance(7 * 24 * 3_600_000 + 1);
    const response = await t.api.post<ErrorBody>('/v1/auth/bootstrap', { setup_token: setupToken });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('unauthorized');
  });

  it('does not accept a setup token or garbage as a bootstrap token', async () => {
    const { key } = await createPlatform(t);
    for (const token of [key, 'ofk_setup_test_short', 'nonsense']) {
      const response = await t.api.post<ErrorBody>('/v1/auth/bootstrap', { setup_token: token });
      expect(response.status).toBe(401);
    }
  });

  it('prints the default platform setup token only on an empty database', async () => {
    const created = await t.container.platforms.ensureDefaultPlatform();
    expect(created?.setupToken).toMatch(/^ofk_setup_test_/);
    expect(created?.platform.name).toBe('Default platform');
    expect(await t.container.platforms.ensureDefaultPlatform()).toBeNull();
  });
});

describeDb('auth: API keys', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(() => t.close());

  it('answers unknown, malformed, missing and revoked keys with the same 401 body', async () => {
    const { api, key } = await createPlatform(t);
    const created = await api.post<ApiKeyView>('/v1/auth/api-keys', { label: 'to revoke' });
    const revokedKey = created.body.api_key ?? '';
    expect((await api.delete(`/v1/auth/api-keys/${created.body.id}`)).status).toBe(200);

    const unknown = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
    const attempts = [
      await t.api.as(unknown).get<ErrorBody>('/v1/organizations'),
      await t.api.as('ofk_platform_test_tooShort').get<ErrorBody>('/v1/organizations'),
      await t.api.as('not-a-key-at-all').get<ErrorBody>('/v1/organizations'),
      await t.api.get<ErrorBody>('/v1/organizations'),
      await t.api.get<ErrorBody>('/v1/organizations', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
      await t.api.as(revokedKey).get<ErrorBody>('/v1/organizations'),
    ];
    for (const attempt of attempts) {
      expect(attempt.status).toBe(401);
      expect(withoutRequestId(attempt.body)).toEqual(withoutRequestId(attempts[0]?.body as ErrorBody));
      expect(attempt.body.request_id).toBe(attempt.headers['x-request-id']);
    }
    expect(attempts[0]?.body).toMatchObject({
      object: 'error',
      code: 'unauthorized',
      param: null,
      fiscal_errors: null,
      retryable: false,
    });
  });

  it('creates, lists masked, and revokes platform keys; a revoked key fails at once', async () => {
    const { api } = await createPlatform(t);
    const created = await api.post<ApiKeyView>('/v1/auth/api-keys', { label: 'CI', description: 'for the pipeline' });
    expect(created.status).toBe(201);
    const secret = created.body.api_key ?? '';
    expect(secret).toMatch(/^ofk_platform_test_/);

    const listed = await api.get<Page<ApiKeyView>>('/v1/auth/api-keys');
    const entry = listed.body.data.find((k) => k.id === created.body.id);
    expect(entry).toMatchObject({ api_key: null, label: 'CI', description: 'for the pipeline' });
    expect(entry?.masked_key).toBe(`ofk_platform_test_…${secret.slice(-4)}`);
    expect(listed.text).not.toContain(secret);

    const other = t.api.as(secret);
    expect((await other.get('/v1/organizations')).status).toBe(200);
    const revoked = await api.delete<ApiKeyView>(`/v1/auth/api-keys/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    expect((await other.get('/v1/organizations')).status).toBe(401);
    const listedAfter = await api.get<Page<ApiKeyView>>('/v1/auth/api-keys');
    expect(listedAfter.body.data.map((k) => k.id)).not.toContain(created.body.id);
  });

  it('keeps last_used_at, written at most once a minute', async () => {
    const clock = new ManualClock();
    await t.close();
    t = await buildTestApp({ clock });
    const { api } = await createPlatform(t);
    const created = await api.post<ApiKeyView>('/v1/auth/api-keys', { label: 'tracked' });
    expect(created.body.last_used_at).toBeNull();
    const tracked = t.api.as(created.body.api_key ?? '');
    const lastUsed = async () =>
      (await api.get<Page<ApiKeyView>>('/v1/auth/api-keys')).body.data.find((k) => k.id === created.body.id)
        ?.last_used_at;

    await tracked.get('/v1/organizations');
    const first = await lastUsed();
    expect(first).toBe(clock.now().toISOString());
    clock.advance(30_000);
    await tracked.get('/v1/organizations');
    expect(await lastUsed()).toBe(first);
    clock.advance(31_000);
    await tracked.get('/v1/organizations');
    expect(await lastUsed()).toBe(clock.now().toISOString());
  });

  it('stores only a hash of each key', async () => {
    const { key } = await createPlatform(t);
    const rows = await t.database.executor().selectFrom('api_keys').selectAll().execute();
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(key);
    expect(dump).not.toContain(key.slice(-36));
    for (const row of rows) expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a test key on a live server with 403', async () => {
    const { key } = await createPlatform(t);
    await t.close({ keepData: true });
    const live = await buildTestApp({ environment: 'live', scratch: t.scratch, masterKey: t.masterKey });
    try {
      const response = await live.api.as(key).get<ErrorBody>('/v1/organizations');
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('forbidden');
      // On a live server new keys are live keys.
      const { setupToken } = await live.container.platforms.createPlatform('Live platform');
      expect(setupToken).toMatch(/^ofk_setup_live_/);
    } finally {
      await live.close();
    }
    t = await buildTestApp();
  });

  it('lets organization keys be issued and listed only by the platform', async () => {
    const { api, organization, orgApi } = await createTenant(t);
    const created = await api.post<ApiKeyView>(`/v1/organizations/${organization.id}/api-keys`, {
      label: 'Shop backend',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'organization_api_key', organization_id: organization.id });
    expect(created.body.api_key).toMatch(/^ofk_org_test_[0-9A-Za-z]{40}$/);

    const listed = await orgApi.get<Page<ApiKeyView>>(`/v1/organizations/${organization.id}/api-keys`);
    expect(listed.body.data.map((k) => k.id)).toEqual([created.body.id]);
    expect(listed.body.data[0]?.api_key).toBeNull();

    const orgKey = t.api.as(created.body.api_key ?? '');
    const byOrgKey = await orgKey.post<ErrorBody>(`/v1/organizations/${organization.id}/api-keys`, { label: 'x' });
    expect(byOrgKey.status).toBe(403);
    expect(byOrgKey.body.code).toBe('forbidden');
  });
});

describeDb('auth: the cache of authenticated keys (OPENFISKAL_KEY_CACHE_MS)', () => {
  let t: TestApp | undefined;
  afterEach(() => t?.close());

  /** Revokes a key the way another server process on the same database would: not through this one. */
  const revokeBehindItsBack = (app: TestApp, keyId: string) =>
    app.database
      .executor()
      .updateTable('api_keys')
      .set({ revoked_at: new Date().toISOString() })
      .where('id', '=', keyId)
      .execute();

  /** A server with that cache time, a platform, and a second key of it that has been used once (so is cached). */
  async function keyInUse(keyCacheMs: number) {
    const app = await buildTestApp({ keyCacheMs });
    t = app;
    const { api } = await createPlatform(app);
    const created = await api.post<ApiKeyView>('/v1/auth/api-keys', { label: 'elsewhere' });
    const other = app.api.as(created.body.api_key ?? '');
    expect((await other.get('/v1/organizations')).status).toBe(200);
    return { app, api, keyId: created.body.id, other };
  }

  it('reuses a key for at most the cache time once another process revoked it', async () => {
    const { app, api, keyId, other } = await keyInUse(400);
    const revokedAt = performance.now();
    await revokeBehindItsBack(app, keyId);
    // Still the row read before the revocation…
    const meanwhile = await other.get('/v1/organizations');
    if (performance.now() - revokedAt < 300) expect(meanwhile.status).toBe(200);
    // …and refused once the cache time has passed.
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await other.get('/v1/organizations')).status).toBe(401);
    // A revocation through this server applies from the next request, cached or not.
    const second = await api.post<ApiKeyView>('/v1/auth/api-keys', { label: 'here' });
    const secondApi = app.api.as(second.body.api_key ?? '');
    expect((await secondApi.get('/v1/organizations')).status).toBe(200);
    expect((await api.delete(`/v1/auth/api-keys/${second.body.id}`)).status).toBe(200);
    expect((await secondApi.get('/v1/organizations')).status).toBe(401);
  });

  it('with 0, reads every key: a revocation by another process applies at once', async () => {
    const { app, keyId, other } = await keyInUse(0);
    await revokeBehindItsBack(app, keyId);
    expect((await other.get('/v1/organizations')).status).toBe(401);
  });

  it('never caches an unknown key: a key issued after a failed try works at once', async () => {
    t = await buildTestApp({ keyCacheMs: 60_000 });
    const { api, key } = await createPlatform(t);
    const unknown = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
    expect((await t.api.as(unknown).get('/v1/organizations')).status).toBe(401);
    const created = await api.post<ApiKeyView>('/v1/auth/api-keys', { label: 'new' });
    expect((await t.api.as(created.body.api_key ?? '').get('/v1/organizations')).status).toBe(200);
  });
});
