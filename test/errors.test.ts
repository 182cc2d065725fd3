import { Writable } from 'node:stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createContainer } from '../src/container.js';
import { deriveKeys } from '../src/crypto/master-key.js';
import { createDatabase, type Database } from '../src/db/database.js';
import { expectError } from './helpers/assertions.js';
import { describeDb, engine } from './helpers/engines.js';
import { createPlatform, createTenant } from './helpers/factories.js';
import { parseLogLine } from './helpers/process.js';
import { buildTestApp, ManualClock, type TestApp } from './helpers/test-app.js';

const REQUEST_ID = /^req_[0-9a-f]{20}$/;

/** The test app's services rebuilt on another database. */
function rewire(t: TestApp, database: Database) {
  return createContainer({ ...t.container, database, keys: deriveKeys(t.masterKey) });
}

class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describeDb('errors', () => {
  let t: TestApp;
  let logs: LogCapture;
  beforeEach(async () => {
    logs = new LogCapture();
    t = await buildTestApp({ logStream: logs });
  });
  afterEach(() => t.close());

  it('puts a fresh X-Request-Id on every response, success and error alike', async () => {
    const ids = new Set<string>();
    for (const response of [
      await t.api.get('/healthz'),
      await t.api.get('/nope'),
      await t.api.get('/v1/organizations'),
    ]) {
      const id = String(response.headers['x-request-id']);
      expect(id).toMatch(REQUEST_ID);
      ids.add(id);
    }
    expect(ids.size).toBe(3);
  });

  it('answers malformed JSON with 400 invalid_json and creates nothing', async () => {
    const { api } = await createPlatform(t);
    for (const rawBody of [
      '{"legal_name": "X",',
      '{"legal_name": "X"} trailing',
      "{'single': 1}",
      '{"__proto__": {"admin": true}}',
    ]) {
      expectError(
        await api.post('/v1/organizations', undefined, { rawBody, headers: { 'content-type': 'application/json' } }),
        400,
        'invalid_json',
        null,
      );
    }
    expect((await api.get<{ data: unknown[] }>('/v1/organizations')).body.data).toEqual([]);
  });

  it('answers a non-JSON body with 415 and a body over 1 MiB with 413', async () => {
    const { api } = await createPlatform(t);
    expectError(
      await api.post('/v1/organizations', undefined, {
        rawBody: 'legal_name=X',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'unsupported_media_type',
    );
    expectError(
      await api.post('/v1/organizations', undefined, { rawBody: 'hello', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
    const huge = JSON.stringify({ legal_name: 'X', country: 'DE', metadata: { a: 'x'.repeat(1024 * 1024) } });
    expectError(
      await api.post('/v1/organizations', undefined, {
        rawBody: huge,
        headers: { 'content-type': 'application/json' },
      }),
      413,
      'payload_too_large',
    );
  });

  it('answers unknown routes and methods with a JSON 404', async () => {
    const { api } = await createPlatform(t);
    const route = expectError(await api.get('/v1/does-not-exist'), 404, 'not_found', null);
    expect(route.message).toBe('No route GET /v1/does-not-exist.');
    expectError(await api.request('PUT', '/v1/organizations', { legal_name: 'X' }), 404, 'not_found');
    expectError(await api.delete('/v1/organizations'), 404, 'not_found');
  });

  it('names the offending field of a schema violation in param', async () => {
    const { api, register, organization } = await createTenant(t);
    expectError(await api.get('/v1/organizations?limit=500'), 400, 'invalid_request', 'limit');
    expectError(await api.get('/v1/organizations?limit=abc'), 400, 'invalid_request', 'limit');
    expectError(await api.get('/v1/organizations?order=sideways'), 400, 'invalid_request', 'order');
    expectError(await api.get('/v1/organizations?colour=red'), 400, 'invalid_request', 'colour');
    const nested = expectError(
      await api.post('/v1/organizations', {
        legal_name: 'X',
        country: 'DE',
        address: { line1: 'a', city: 'b', postal_code: 'c', country: 'd' },
      }),
      400,
      'invalid_request',
      'address.country',
    );
    expect(nested.message).toContain('address.country');
    expectError(
      await api.post('/v1/organizations', { legal_name: 42, country: 'DE' }),
      400,
      'invalid_request',
      'legal_name',
    );
    const noBody = expectError(await api.post('/v1/organizations'), 400, 'invalid_request', null);
    expect(noBody.message).toBe('The request needs a JSON object as its body.');
    expectError(
      await api.forOrganization(organization.id).patch(`/v1/registers/${register.id}`, ['not', 'an', 'object']),
      400,
      'invalid_request',
    );
  });

  it('never leaks internals of an unexpected failure, and logs them', async () => {
    const { api } = await createPlatform(t);
    t.container.organizations.list = () => Promise.reject(new Error('SELECT secret FROM vault WHERE id = 1'));
    const body = expectError(await api.get('/v1/organizations'), 500, 'internal_error', null);
    expect(body.retryable).toBe(true);
    const text = JSON.stringify(body);
    expect(text).not.toContain('SELECT');
    expect(text).not.toContain('vault');
    expect(text).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(logs.text).toContain('SELECT secret FROM vault');
    expect(logs.text).toContain(body.request_id);
  });

  it('answers 503 service_unavailable when the database is gone, and /readyz says so', async () => {
    const { api } = await createPlatform(t);
    expect((await t.api.get('/readyz')).body).toEqual({ status: 'ok' });
    await t.database.destroy();
    const body = expectError(await api.get('/v1/organizations'), 503, 'service_unavailable');
    expect(body.retryable).toBe(true);
    expectError(await t.api.get('/readyz'), 503, 'service_unavailable');
    expect((await t.api.get('/healthz')).status).toBe(200);
  });

  if (engine === 'postgres') {
    it('answers 503 when PostgreSQL refuses connections', async () => {
      const { key } = await createPlatform(t);
      // The same application, wired to a PostgreSQL server that is down (nothing listens on port 1).
      const down = createDatabase({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:1/test' });
      const app = await buildApp(rewire(t, down));
      try {
        const response = await app.inject({
          method: 'GET',
          url: '/v1/organizations',
          headers: { authorization: `Bearer ${key}` },
        });
        const body = expectError(
          {
            status: response.statusCode,
            headers: response.headers,
            text: response.body,
            body: JSON.parse(response.body) as unknown,
            raw: response.rawPayload,
          },
          503,
          'service_unavailable',
        );
        expect(body.retryable).toBe(true);
        expect(response.body).not.toContain('ECONNREFUSED');
      } finally {
        await app.close();
        await down.destroy();
      }
    });
  }

  it('limits requests per key with 429 and Retry-After', async () => {
    const clock = new ManualClock();
    await t.close();
    t = await buildTestApp({ rateLimitPerSecond: 3, clock });
    const { api } = await createPlatform(t);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.get('/v1/organizations')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await api.get('/v1/organizations');
    expectError(limited, 429, 'rate_limited');
    expect(limited.headers['retry-after']).toBe('1');
    // Another key has its own budget.
    const other = await createPlatform(t, 'Other');
    expect((await other.api.get('/v1/organizations')).status).toBe(200);
    clock.advance(1000);
    expect((await api.get('/v1/organizations')).status).toBe(200);
  });

  it('never writes keys or tokens into the log', async () => {
    const { platform, setupToken } = await t.container.platforms.createPlatform('Logged');
    const boot = await t.api.post<{ api_key: string; id: string }>('/v1/auth/bootstrap', { setup_token: setupToken });
    const key = boot.body.api_key;
    await t.api.as(key).get('/v1/organizations');
    await t.api.get(`/v1/registers/reg_x`, { headers: { 'x-register-api-key': 'ofk_reg_test_' + 'A'.repeat(40) } });
    expect(logs.text.length).toBeGreaterThan(0);
    expect(logs.text).toContain('request completed');
    expect(logs.text).not.toContain(key);
    expect(logs.text).not.toContain(setupToken);
    expect(logs.text).not.toContain('A'.repeat(40));
    expect(platform.id).toMatch(/^plt_/);
    // The line of an authenticated request names who made it (by id, never by secret).
    const completed = logs.text
      .split('\n')
      .map(parseLogLine)
      .find((line) => line?.msg === 'request completed' && line.path === '/v1/organizations');
    expect(completed).toMatchObject({ platform_id: platform.id, key_id: boot.body.id, status_code: 200 });
    expect(completed?.request_id).toMatch(REQUEST_ID);
  });
});
