/**
 * The security review's checks (docs/security.md): tenant isolation over every route, secrets kept out of logs and
 * tables, the secrets file's permissions, and the browser-facing headers.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/crypto/api-key-secret.js';
import { deriveKeys, loadOrCreateMasterKey, SecretsFileError, SECRETS_FILE_NAME } from '../src/crypto/master-key.js';
import {
  API_CONTENT_SECURITY_POLICY,
  DOCS_CONTENT_SECURITY_POLICY,
  SWAGGER_UI_INLINE_STYLE,
} from '../src/http/security-headers.plugin.js';
import type { ApiKeyView } from '../src/modules/api-keys/api-key.service.js';
import type { ApiClient, ApiResponse } from './helpers/api-client.js';
import { createScratchDatabase, describeDb, type ScratchDatabase } from './helpers/engines.js';
import {
  expectation,
  PUBLIC_ROUTES,
  probesOf,
  ROUTE_CASES,
  targetIds,
  type Expectation,
  type Probe,
} from './helpers/security-matrix.js';
import {
  createLocation,
  createOrganization,
  createPlatform,
  createRegister,
  type PlatformFixture,
} from './helpers/factories.js';
import { expectError } from './helpers/assertions.js';
import { cashSale, createFiscalRegister, GERMAN_IDENTITY } from './helpers/fiscal.js';
import {
  ensureBuilt,
  httpCall,
  killAllChildren,
  startServer,
  stopServer,
  type HttpResponse,
} from './helpers/process.js';
import { diffSnapshots, everyCell, snapshot } from './helpers/security-snapshot.js';
import { buildSecurityWorld, type SecurityWorld } from './helpers/security-world.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
}

const send = (api: ApiClient, probe: Probe): Promise<ApiResponse<{ code?: string }>> =>
  api.request(probe.method, probe.url, probe.body);

/** What is wrong with an answer, or null. */
function verdict(response: ApiResponse<{ code?: string }>, expected: Expectation, foreign: string[]): string | null {
  const leaked = foreign.filter((id) => response.text.includes(id));
  if (leaked.length > 0) return `${response.status} reveals ${leaked.join(', ')}: ${response.text.slice(0, 300)}`;
  if (expected.kind === 'owner') return null;
  if (response.status !== expected.status) return `${response.status} ${response.text.slice(0, 300)}`;
  if (expected.kind === 'refused' && response.body.code !== expected.code) return `code ${String(response.body.code)}`;
  return null;
}

describeDb('security: tenant isolation on every route', () => {
  let t: TestApp;
  let world: SecurityWorld;
  let routes: string[];

  beforeAll(async () => {
    t = await buildTestApp();
    world = await buildSecurityWorld(t);
    const document = (await t.api.get<OpenApiDocument>('/v1/openapi.json')).body;
    routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
  });
  afterAll(() => t.close());

  it('classifies every route of the OpenAPI document, and only those', () => {
    const unclassified = routes.filter((route) => !PUBLIC_ROUTES.has(route) && ROUTE_CASES[route] === undefined);
    expect(unclassified, 'new routes: add them to ROUTE_CASES in test/helpers/security-matrix.ts').toEqual([]);
    const stale = [...PUBLIC_ROUTES, ...Object.keys(ROUTE_CASES)].filter((route) => !routes.includes(route));
    expect(stale, 'classified routes the server no longer has').toEqual([]);
  });

  it('refuses every neighbour on every route aimed at the target, and changes nothing', async () => {
    const failures: string[] = [];
    const ids = targetIds(world.target);
    let requests = 0;
    let cells = 0;
    // Nothing else writes meanwhile, so one route's "after" is the next one's "before".
    let before = await snapshot(t.database);
    for (const route of routes) {
      const routeCase = ROUTE_CASES[route];
      if (routeCase === undefined) continue;
      const probes = probesOf(route, routeCase, world.target);
      let mayAdd = false;
      for (const principal of world.principals) {
        const expected = expectation(routeCase.scope, principal);
        if (expected.kind === 'owner') continue;
        cells += 1;
        mayAdd ||= expected.kind === 'own' && expected.status === 201;
        for (const probe of probes) {
          requests += 1;
          const named = JSON.stringify(probe);
          const foreign = expected.kind === 'own' ? ids : ids.filter((id) => !named.includes(id));
          const problem = verdict(await send(principal.api, probe), expected, foreign);
          const wanted =
            expected.kind === 'own' ? `${expected.status} own data` : `${expected.status} ${expected.code}`;
          if (problem !== null) {
            failures.push(`${probe.method} ${probe.url} by ${principal.name}: want ${wanted}, got ${problem}`);
          }
        }
      }
      const after = await snapshot(t.database);
      for (const diff of diffSnapshots(before, after)) {
        // A neighbour may create its own things (platform B its organization), never touch the target's.
        const touched = diff.added.filter((row) => ids.some((id) => row.includes(id)));
        if (diff.removed.length > 0 || !mayAdd || touched.length > 0) {
          failures.push(
            `${route} changed ${diff.table}: -${JSON.stringify(diff.removed)} +${JSON.stringify(diff.added)}`,
          );
        }
      }
      before = after;
    }
    console.log(`tenant isolation matrix: ${cells} route × principal cells, ${requests} requests`);
    expect(failures).toEqual([]);
  });

  it('refuses a neighbour that names the target in a body from its own register', async () => {
    const { target } = world;
    const failures: string[] = [];
    const before = await snapshot(t.database);
    const original = target.sale.completed;
    const line = original.data.line_items?.[0]?.id ?? '';
    for (const principal of world.principals) {
      // The sibling register key of the target organization is the known bug below.
      if (principal.name === 'sibling register key') continue;
      const own = principal.ownRegisterId;
      const probes: Array<Probe & { want: [number, string] }> = [
        {
          method: 'POST',
          url: `/v1/registers/${own}/refunds`,
          body: { original_operation_id: original.id },
          want: [404, 'not_found'],
        },
        {
          method: 'POST',
          url: `/v1/registers/${own}/exchanges`,
          body: {
            original_operation_id: original.id,
            returned_line_items: [{ line_item_id: line, quantity: 1 }],
            line_items: [
              { description: 'X', quantity: 1, unit_price_gross: 1, tax: { rate: '0.19', category: 'standard' } },
            ],
          },
          want: [404, 'not_found'],
        },
        {
          method: 'POST',
          url: `/v1/registers/${own}/voids`,
          body: { original_operation_id: original.id, reason: 'probe' },
          want: [404, 'not_found'],
        },
        // The same answer as for an operation that does not exist.
        {
          method: 'POST',
          url: `/v1/registers/${own}/cash-drawer-openings`,
          body: { occurred_at: new Date().toISOString(), operation_id: original.id },
          want: [422, 'validation_error'],
        },
      ];
      for (const probe of probes) {
        const response = await send(principal.api, probe);
        if (response.status !== probe.want[0] || response.body.code !== probe.want[1]) {
          failures.push(
            `${probe.method} ${probe.url} by ${principal.name}: ${response.status} ${response.text.slice(0, 200)}`,
          );
        }
      }
      // A list filtered by the target's register shows nothing (a register key may not filter by another's: 403).
      const listed = await principal.api.get(`/v1/exports?register_id=${target.registerId}`);
      const want = principal.kind === 'register' ? 403 : 200;
      if (listed.status !== want || listed.text.includes(target.export.id)) {
        failures.push(
          `GET /v1/exports?register_id=… by ${principal.name}: ${listed.status} ${listed.text.slice(0, 200)}`,
        );
      }
    }
    expect(failures).toEqual([]);
    expect(diffSnapshots(before, await snapshot(t.database))).toEqual([]);
  });

  it("never replays the target's stored answer to a neighbour that reuses its Idempotency-Key", async () => {
    // The one request two platforms can send byte for byte the same: a new platform key.
    const headers = { headers: { 'idempotency-key': 'shared-by-accident' } };
    const platformA = world.owner.forOrganization(undefined);
    const mine = await platformA.post<ApiKeyView>('/v1/auth/api-keys', { label: 'same' }, headers);
    const neighbour = world.principals.find((p) => p.kind === 'platform' && !p.samePlatform);
    if (neighbour === undefined) throw new Error('no other platform');
    const theirs = await neighbour.api.post<ApiKeyView>('/v1/auth/api-keys', { label: 'same' }, headers);
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.body.api_key).not.toBe(mine.body.api_key);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  // api.md §1.2: a register key reads only what it wrote, so another register's operation is not an original it may
  // name (404); an organization key may refund at another register of the organization but not void there.
  it("refuses a register key that names another register's operation as the original (404)", async () => {
    const { target } = world;
    const sibling = world.principals.find((p) => p.name === 'sibling register key');
    if (sibling === undefined) throw new Error('no sibling register key');
    const original = target.sale.completed;
    const before = await snapshot(t.database);
    const refund = await sibling.api.post(`/v1/registers/${sibling.ownRegisterId}/refunds`, {
      original_operation_id: original.id,
    });
    const voided = await sibling.api.post(`/v1/registers/${sibling.ownRegisterId}/voids`, {
      original_operation_id: target.training.id,
      reason: 'probe',
    });
    expect([refund.status, voided.status]).toEqual([404, 404]);
    expect(diffSnapshots(before, await snapshot(t.database))).toEqual([]);
  });

  // Last: it changes the target. Without it a probe aimed at a wrong id would pass the matrix for the wrong reason.
  it("lets the target's owner through on the same requests: every probe names a real resource", async () => {
    const failures: string[] = [];
    let before = await snapshot(t.database);
    for (const route of routes) {
      const routeCase = ROUTE_CASES[route];
      if (routeCase === undefined) continue;
      for (const probe of probesOf(route, routeCase, world.target)) {
        const response = await send(world.owner, probe);
        // 409 and 422 are fine (the resource exists, its state forbids the request); a refusal is not.
        if ([400, 401, 403, 404].includes(response.status)) {
          failures.push(`${probe.method} ${probe.url}: ${response.status} ${response.text.slice(0, 200)}`);
        }
        if (probe.method === 'GET') continue;
        // Proves the snapshot sees writes (recovering an active unit is a no-op); reads are left out for speed.
        const after = await snapshot(t.database);
        const changed = diffSnapshots(before, after).length > 0;
        before = after;
        if (response.status < 300 && !changed && !route.endsWith('/recover')) {
          failures.push(`${probe.method} ${probe.url} answered ${response.status} but changed nothing`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

/** Every pino line written, as text. */
class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== ''),
    );
    done();
  }
}

/** A secret and the parts of it a careless log line might hold: the random part, and each half of it. */
function secretForms(secret: string): string[] {
  const random = /^ofk_[a-z]+_(?:test|live)_(\w+)$/.exec(secret)?.[1];
  if (random === undefined) return [secret];
  const half = Math.floor(random.length / 2);
  return [secret, random, random.slice(0, half), random.slice(half)];
}

/** The master key and every key derived from it, in the encodings they could be printed in. */
function masterKeyForms(masterKey: Buffer): string[] {
  const keys = deriveKeys(masterKey);
  return [masterKey, keys.apiKeyPepper, keys.responseEncryptionKey, keys.signingKeyEncryptionKey].flatMap((key) => [
    key.toString('base64'),
    key.toString('base64url'),
    key.toString('hex'),
  ]);
}

describeDb('security: secrets never in logs or tables', () => {
  let t: TestApp;
  const logs = new LogCapture();
  /** Every secret the server showed, and every credential presented to it (wrong ones included). */
  const secrets: string[] = [];

  beforeAll(async () => {
    t = await buildTestApp({ logStream: logs });
    // The most talkative level: whatever is logged anywhere is logged now.
    t.container.logger.level = 'trace';
    t.app.log.level = 'trace';

    const { setupToken } = await t.container.platforms.createPlatform('Logged platform');
    const boot = await t.api.post<ApiKeyView>('/v1/auth/bootstrap', { setup_token: setupToken, label: 'first' });
    expect(boot.status, boot.text).toBe(201);
    const platformKey = boot.body.api_key ?? '';
    expect((await t.api.post('/v1/auth/bootstrap', { setup_token: setupToken })).status).toBe(401);
    const platform = t.api.as(platformKey);
    // Stored for replay (encrypted): the secret must not be readable in the table either.
    const idempotent = { headers: { 'idempotency-key': 'create-key-1' } };
    const second = await platform.post<ApiKeyView>('/v1/auth/api-keys', { label: 'second' }, idempotent);
    const replay = await platform.post<ApiKeyView>('/v1/auth/api-keys', { label: 'second' }, idempotent);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.api_key).toBe(second.body.api_key);

    const organization = await createOrganization(platform, {
      legal_name: 'Log GmbH',
      fiscal_identity: GERMAN_IDENTITY,
    });
    const orgApi = platform.forOrganization(organization.id);
    const orgKey = await platform.post<ApiKeyView>(`/v1/organizations/${organization.id}/api-keys`, { label: 'o' });
    const location = await createLocation(orgApi, organization.id);
    const register = await createRegister(orgApi, location.id);
    const provisioned = await orgApi.post<{ register_api_key: string }>(
      `/v1/registers/${register.id}/fiscal-units`,
      { issue_register_credential: true },
      { headers: { 'idempotency-key': 'provision-1' } },
    );
    expect(provisioned.status, provisioned.text).toBe(201);
    const replaced = await orgApi.post<{ register_api_key: string }>(
      `/v1/registers/${register.id}/fiscal-units/replace`,
      { reason: 'Gerätetausch', issue_register_credential: true },
    );
    expect(replaced.status, replaced.text).toBe(200);
    const registerKey = replaced.body.register_api_key;
    await cashSale(t.api.as(registerKey), register.id);
    const byHeader = await t.api.get(`/v1/registers/${register.id}/sales`, {
      headers: { 'x-register-api-key': registerKey },
    });
    expect(byHeader.status).toBe(200);

    // Wrong credentials: a mistyped key, a revoked one, keys in the wrong header, junk, a key in the query string.
    const mistyped = platformKey.slice(0, -1) + (platformKey.endsWith('a') ? 'b' : 'a');
    const revoked = second.body.api_key ?? '';
    expect((await platform.delete(`/v1/auth/api-keys/${second.body.id}`)).status).toBe(200);
    const basic = Buffer.from(`admin:${platformKey}`).toString('base64');
    for (const [headers, want] of [
      [{ authorization: `Bearer ${mistyped}` }, 401],
      [{ authorization: `Bearer ${revoked}` }, 401],
      [{ authorization: `Basic ${basic}` }, 401],
      [{ authorization: `Bearer ${provisioned.body.register_api_key}` }, 403],
      [{ 'x-register-api-key': platformKey }, 401],
      [{ authorization: `Bearer ${registerKey}`, 'openfiskal-organization': 'org_x' }, 403],
    ] as const) {
      const response = await t.api.get('/v1/organizations', { headers });
      expect(response.status, JSON.stringify(headers)).toBe(want);
    }
    await t.api.get(`/v1/organizations?api_key=${platformKey}`);
    await t.api.post('/v1/auth/bootstrap', { setup_token: mistyped.replace('platform', 'setup') });

    secrets.push(
      setupToken,
      platformKey,
      second.body.api_key ?? '',
      orgKey.body.api_key ?? '',
      provisioned.body.register_api_key,
      registerKey,
      mistyped,
      basic,
    );
    expect(secrets.every((secret) => secret.length >= 40)).toBe(true);
  });
  afterAll(() => t.close());

  it('writes no secret into any log line, at level trace', () => {
    expect(logs.lines.length).toBeGreaterThan(20);
    expect(logs.lines.some((line) => line.includes('"status_code":401'))).toBe(true);
    const forms = [...secrets.flatMap(secretForms), ...masterKeyForms(t.masterKey)];
    const leaks = logs.lines.flatMap((line) =>
      forms.filter((form) => line.includes(form)).map((form) => ({ form, line })),
    );
    expect(leaks).toEqual([]);
  });

  it('stores keys only as peppered hashes: no secret in any cell of any table', async () => {
    const snap = await snapshot(t.database);
    const forms = [...secrets.flatMap(secretForms), ...masterKeyForms(t.masterKey)];
    const found = everyCell(snap).flatMap(({ table, row }) =>
      forms.filter((form) => row.includes(form)).map((form) => `${table}: ${form}`),
    );
    expect(found).toEqual([]);
    // The hash is an HMAC under the derived pepper, not a plain digest an attacker could compute from a guess.
    const rows = await t.database.executor().selectFrom('api_keys').select('secret_hash').execute();
    const hashes = new Set(rows.map((row) => row.secret_hash));
    const pepper = deriveKeys(t.masterKey).apiKeyPepper;
    // The first six were issued by the server; the rest are wrong credentials.
    for (const secret of secrets.slice(0, 6)) {
      expect(hashes.has(hashApiKey(pepper, secret)), secret.slice(0, 16)).toBe(true);
      expect(hashes.has(createHash('sha256').update(secret).digest('hex'))).toBe(false);
    }
    // The stored idempotent responses hold ciphertext only.
    const stored = await t.database.executor().selectFrom('idempotency_keys').select('response').execute();
    expect(stored.length).toBeGreaterThan(0);
  });
});

describe('security: the secrets file', () => {
  const roots: string[] = [];
  const scratchDir = () => {
    const root = mkdtempSync(join(tmpdir(), 'openfiskal-secrets-'));
    roots.push(root);
    return root;
  };
  const modeOf = (path: string) => statSync(path).mode & 0o777;
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('creates a missing data directory 0700 and secrets.json 0600, and refuses a file others can read', () => {
    const root = scratchDir();
    const dataDir = join(root, 'var', 'openfiskal');
    const key = loadOrCreateMasterKey(dataDir, null);
    expect(modeOf(join(root, 'var'))).toBe(0o700);
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(join(dataDir, SECRETS_FILE_NAME))).toBe(0o600);
    expect(loadOrCreateMasterKey(dataDir, null).equals(key)).toBe(true);
    chmodSync(join(dataDir, SECRETS_FILE_NAME), 0o640);
    expect(() => loadOrCreateMasterKey(dataDir, null)).toThrow(SecretsFileError);
  });

  // An existing data directory (a mounted volume, `mkdir data` under umask 022) would leave the SQLite file, its WAL
  // and the export files readable by every local user; the server tightens it to 0700.
  it('tightens, or refuses, an existing data directory that other users can enter', () => {
    const dataDir = scratchDir();
    chmodSync(dataDir, 0o755);
    let refused = false;
    try {
      loadOrCreateMasterKey(dataDir, null);
    } catch (error) {
      refused = error instanceof SecretsFileError;
    }
    expect(refused || modeOf(dataDir) === 0o700).toBe(true);
  });
});

describeDb('security: response headers', () => {
  let t: TestApp;
  let platform: PlatformFixture;
  beforeAll(async () => {
    t = await buildTestApp();
    platform = await createPlatform(t);
  });
  afterAll(() => t.close());

  const expectHardened = (response: ApiResponse<unknown>, where: string) => {
    expect(response.headers['x-content-type-options'], where).toBe('nosniff');
    expect(response.headers['referrer-policy'], where).toBe('no-referrer');
    expect(response.headers['x-frame-options'], where).toBe('DENY');
    expect(response.headers['cross-origin-opener-policy'], where).toBe('same-origin');
  };

  it('hardens every API answer, errors included; /v1 answers are never cached', async () => {
    const { setupToken } = await t.container.platforms.createPlatform('Headers');
    const organization = await createOrganization(platform.api, { fiscal_identity: GERMAN_IDENTITY });
    const orgApi = platform.api.forOrganization(organization.id);
    const register = await createRegister(orgApi, (await createLocation(orgApi, organization.id)).id);
    const answers: Array<[string, ApiResponse<unknown>]> = [
      ['bootstrap', await t.api.post('/v1/auth/bootstrap', { setup_token: setupToken })],
      ['key creation', await platform.api.post('/v1/auth/api-keys', { label: 'k' })],
      [
        'organization key creation',
        await platform.api.post(`/v1/organizations/${organization.id}/api-keys`, { label: 'k' }),
      ],
      [
        'provisioning',
        await orgApi.post(`/v1/registers/${register.id}/fiscal-units`, { issue_register_credential: true }),
      ],
      ['a list', await platform.api.get('/v1/organizations')],
      ['401', await t.api.get('/v1/organizations')],
      ['404', await t.api.get('/v1/nowhere')],
      ['400', await t.api.post('/v1/auth/bootstrap', { setup_token: 1 })],
    ];
    for (const [where, response] of answers) {
      expectHardened(response, where);
      expect(response.headers['cache-control'], where).toBe('no-store');
      expect(response.headers['content-security-policy'], where).toBe(API_CONTENT_SECURITY_POLICY);
    }
    expect(answers.slice(0, 4).map(([, response]) => response.status)).toEqual([201, 201, 201, 201]);
    const health = await t.api.get('/healthz');
    expectHardened(health, '/healthz');
    expect(health.headers['content-security-policy']).toBe(API_CONTENT_SECURITY_POLICY);
    expectHardened(await t.api.get('/metrics'), '/metrics');
  });

  it('serves /docs under a Content-Security-Policy that its page and assets fit', async () => {
    const page = await t.api.get('/docs/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expectHardened(page, '/docs/');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toBe(DOCS_CONTENT_SECURITY_POLICY);
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name = '', ...sources] = d.trim().split(/\s+/);
        return [name, sources] as const;
      }),
    );
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    for (const [name, sources] of directives) {
      for (const source of sources) {
        // Only keywords, hashes and data: images: no host, no scheme wildcard, nothing unsafe.
        expect(source, `${name} ${source}`).toMatch(/^('self'|'none'|'sha256-[A-Za-z0-9+/]+=*'|data:)$/);
      }
    }

    // The page itself has nothing inline for the policy to block: scripts and styles are files under /docs.
    const html = page.text;
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '');
    expect(assets.length).toBeGreaterThanOrEqual(5);
    for (const asset of assets) {
      const url = new URL(asset, 'http://server/docs/').pathname;
      expect(url.startsWith('/docs/static/'), asset).toBe(true);
      const response = await t.api.get(url);
      expect(response.status, url).toBe(200);
      expectHardened(response, url);
      expect(response.headers['content-security-policy'], url).toBe(DOCS_CONTENT_SECURITY_POLICY);
    }
    // What the page fetches at run time: its initializer (no inline script) and the document, same origin.
    const initializer = await t.api.get('/docs/static/swagger-initializer.js');
    expect(initializer.text).toContain("resolveUrl('./json')");
    const spec = await t.api.get<{ info: { title: string } }>('/docs/json');
    expect(spec.body.info.title).toBe('OpenFiskal server API');
    expectHardened(spec, '/docs/json');

    // The one inline style the bundles render is the one allowed by hash: a Swagger UI upgrade that adds or
    // changes one fails here, before it fails in a browser.
    const preset = await t.api.get('/docs/static/swagger-ui-standalone-preset.js');
    const bundle = await t.api.get('/docs/static/swagger-ui-bundle.js');
    const styles = [preset.text, bundle.text].flatMap((code) => [
      ...code.matchAll(/createElement\("style",null,"([^"]*)"\)/g),
    ]);
    expect(styles.map((match) => match[1])).toEqual([SWAGGER_UI_INLINE_STYLE]);
  });
});

describeDb('security: the server process', () => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    await ensureBuilt();
    scratch = await createScratchDatabase();
  }, 150_000);
  afterAll(async () => {
    killAllChildren();
    await scratch.drop();
  });

  // server-process.test.ts checks the first start's token line, its absence from the JSON logs and from a second
  // start, and the file mode. Here: at level trace, through the bootstrap that uses it and a day's requests, the
  // token shows once in all output, nothing else secret ever does, and the data directory it created is private.
  it('prints the setup token once, at the first start, and no other secret, at level trace', async () => {
    const dataDir = join(scratch.dataDir, 'state', 'openfiskal');
    const env = {
      DATABASE_URL: scratch.url,
      OPENFISKAL_DATA_DIR: dataDir,
      OPENFISKAL_RATE_LIMIT: '0',
      LOG_LEVEL: 'trace',
    };
    const first = await startServer(env);
    const call = async (method: 'GET' | 'POST', path: string, key: string, json?: unknown, headers = {}) => {
      const response = await httpCall(first.port, method, path, {
        headers: { authorization: `Bearer ${key}`, ...headers },
        ...(json === undefined ? {} : { json }),
      });
      return response as HttpResponse & { body: Record<string, unknown> };
    };
    const token = /^Setup token: (ofk_setup_test_\w+)$/.exec(await first.waitForLine(/^Setup token: /))?.[1] ?? '';
    const boot = await httpCall(first.port, 'POST', '/v1/auth/bootstrap', { json: { setup_token: token } });
    expect(boot.status, boot.text).toBe(201);
    const platformKey = (boot.body as { api_key: string }).api_key;
    const organization = await call('POST', '/v1/organizations', platformKey, {
      legal_name: 'Prozess GmbH',
      country: 'DE',
      fiscal_identity: GERMAN_IDENTITY,
    });
    const organizationId = String(organization.body.id);
    const acting = { 'openfiskal-organization': organizationId };
    const orgKey = await call('POST', `/v1/organizations/${organizationId}/api-keys`, platformKey, { label: 'o' });
    const location = await call('POST', `/v1/organizations/${organizationId}/locations`, platformKey, { name: 'L' });
    const register = await call(
      'POST',
      `/v1/locations/${String(location.body.id)}/registers`,
      platformKey,
      {
        label: 'Kasse',
        jurisdiction: 'DE',
      },
      acting,
    );
    const registerId = String(register.body.id);
    const provisioned = await call(
      'POST',
      `/v1/registers/${registerId}/fiscal-units`,
      platformKey,
      {
        issue_register_credential: true,
      },
      acting,
    );
    expect(provisioned.status, provisioned.text).toBe(201);
    const registerKey = String(provisioned.body.register_api_key);
    const sale = await call('POST', `/v1/registers/${registerId}/sales`, registerKey, {
      line_items: [
        { description: 'Kaffee', quantity: 1, unit_price_gross: 250, tax: { rate: '0.19', category: 'standard' } },
      ],
    });
    expect(sale.status, sale.text).toBe(201);
    const completed = await call('POST', `/v1/sales/${String(sale.body.id)}/complete`, registerKey, {
      payments: [{ method: 'cash', direction: 'inbound', amount: 250 }],
    });
    expect(completed.status, completed.text).toBe(200);
    const mistyped = platformKey.slice(0, -1) + (platformKey.endsWith('a') ? 'b' : 'a');
    expect((await call('GET', '/v1/organizations', mistyped)).status).toBe(401);
    expect((await call('GET', '/v1/organizations', registerKey)).status).toBe(403);
    expect((await stopServer(first)).code, first.output()).toBe(0);

    const secretsFile = join(dataDir, SECRETS_FILE_NAME);
    const masterKey = Buffer.from(
      (JSON.parse(readFileSync(secretsFile, 'utf8')) as { master_key: string }).master_key,
      'base64',
    );
    const output = [...first.stdout, ...first.stderr];
    expect(first.logs().some((log) => log.path === '/v1/auth/bootstrap' && log.status_code === 201)).toBe(true);
    expect(output.filter((line) => line.includes(token.slice(-20)))).toEqual([`Setup token: ${token}`]);
    const secrets = [platformKey, String(orgKey.body.api_key), registerKey, mistyped].flatMap(secretForms);
    const forms = [...secrets, ...masterKeyForms(masterKey)];
    expect(
      output.flatMap((line) => forms.filter((form) => line.includes(form)).map((form) => `${form}: ${line}`)),
    ).toEqual([]);
    // The data directory the server created is its own.
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
  }, 60_000);
});

describeDb('security: originals across registers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('an organization key refunds at another register of the organization, but voids only on the original’s', async () => {
    const first = await createFiscalRegister(t);
    const second = await createFiscalRegister(t, {
      orgApi: first.orgApi,
      organizationId: first.organizationId,
      locationId: first.locationId,
    });
    const sale = await cashSale(first.registerApi, first.register.id);
    const refund = await first.orgApi.post(`/v1/registers/${second.register.id}/refunds`, {
      original_operation_id: sale.id,
    });
    expect(refund.status, refund.text).toBe(201);
    await first.orgApi.post(`/v1/refunds/${String(refund.body.id)}/cancel`, { reason: 'probe' });
    const voided = await first.orgApi.post(`/v1/registers/${second.register.id}/voids`, {
      original_operation_id: sale.id,
      reason: 'probe',
    });
    expectError(voided, 422, 'validation_error', 'original_operation_id');
  });
});
