import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatOpenApiDocument } from '../src/openapi-document.js';
import { describeDb } from './helpers/engines.js';
import { createPlatform, type PlatformFixture } from './helpers/factories.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

interface OpenApiOperation {
  operationId?: string;
  tags?: string[];
  security?: unknown[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, unknown> };
}

describeDb('system endpoints', () => {
  let t: TestApp;
  let p: PlatformFixture;
  beforeAll(async () => {
    t = await buildTestApp();
    p = await createPlatform(t);
  });
  afterAll(() => t.close());

  it('answers /healthz and /readyz without a key', async () => {
    const health = await t.api.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await t.api.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok' });
  });

  it('exposes request counts, a latency histogram and process metrics by route and status', async () => {
    await p.api.get('/v1/organizations');
    await p.api.get('/v1/organizations');
    await t.api.get('/v1/organizations');
    const response = await t.api.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.text;
    expect(text).toContain('http_requests_total{method="GET",route="/v1/organizations",status_code="200"} 2');
    expect(text).toContain('http_requests_total{method="GET",route="/v1/organizations",status_code="401"} 1');
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/v1\/organizations",status_code="200"\} \d/,
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{method="GET",route="/v1/organizations",status_code="200"} 2',
    );
    for (const metric of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text).toContain(`# TYPE ${metric}`);
    }
  });

  it('publishes OpenAPI 3.1 with operationId, tags, schemas and error responses for every route', async () => {
    const response = await t.api.get<OpenApiDocument>('/v1/openapi.json');
    expect(response.status).toBe(200);
    const doc = response.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.schemas.Error).toBeDefined();
    const operationIds = new Set<string>();
    const routes: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        routes.push(`${method.toUpperCase()} ${path}`);
        const where = `${method} ${path}`;
        expect(operation.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
        expect(operationIds.has(operation.operationId ?? ''), `duplicate operationId at ${where}`).toBe(false);
        operationIds.add(operation.operationId ?? '');
        expect(operation.tags?.length, where).toBeGreaterThan(0);
        const success = Object.entries(operation.responses ?? {}).filter(([status]) => status.startsWith('2'));
        expect(success.length, where).toBe(1);
        expect(Object.values(success[0]?.[1].content ?? {})[0]?.schema, where).toBeDefined();
        if (method === 'post' || method === 'patch') {
          expect(operation.requestBody?.content?.['application/json']?.schema, where).toBeDefined();
        }
        const authenticated = operation.security === undefined || operation.security.length > 0;
        if (authenticated) {
          for (const status of ['400', '401', '429', '500', '503']) {
            const schema = operation.responses?.[status]?.content?.['application/json']?.schema;
            expect(schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
          }
        }
      }
    }
    // Every registered route is documented (the docs UI's own routes are hidden).
    const registered = [
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /v1/openapi.json',
      'POST /v1/auth/bootstrap',
      'POST /v1/auth/api-keys',
      'GET /v1/auth/api-keys',
      'DELETE /v1/auth/api-keys/{keyId}',
      'POST /v1/organizations/{organizationId}/api-keys',
      'GET /v1/organizations/{organizationId}/api-keys',
      'POST /v1/organizations',
      'GET /v1/organizations',
      'GET /v1/organizations/{organizationId}',
      'PATCH /v1/organizations/{organizationId}',
      'POST /v1/organizations/{organizationId}/locations',
      'GET /v1/organizations/{organizationId}/locations',
      'GET /v1/locations/{locationId}',
      'PATCH /v1/locations/{locationId}',
      'POST /v1/locations/{locationId}/registers',
      'GET /v1/locations/{locationId}/registers',
      'GET /v1/registers/{registerId}',
      'PATCH /v1/registers/{registerId}',
      'POST /v1/registers/{registerId}/archive',
      'GET /v1/registers/{registerId}/journal',
      'GET /v1/registers/{registerId}/journal/verify',
      'POST /v1/exports',
      'GET /v1/exports',
      'GET /v1/exports/{exportId}',
      'GET /v1/exports/{exportId}/download',
      'POST /v1/registers/{registerId}/sales',
      'GET /v1/registers/{registerId}/sales',
      'GET /v1/sales/{operationId}',
      'PATCH /v1/sales/{operationId}',
      'POST /v1/sales/{operationId}/complete',
      'POST /v1/sales/{operationId}/cancel',
      'POST /v1/registers/{registerId}/refunds',
      'GET /v1/registers/{registerId}/refunds',
      'GET /v1/refunds/{operationId}',
      'PATCH /v1/refunds/{operationId}',
      'POST /v1/refunds/{operationId}/complete',
      'POST /v1/refunds/{operationId}/cancel',
      'POST /v1/registers/{registerId}/exchanges',
      'GET /v1/registers/{registerId}/exchanges',
      'GET /v1/exchanges/{operationId}',
      'PATCH /v1/exchanges/{operationId}',
      'POST /v1/exchanges/{operationId}/complete',
      'POST /v1/exchanges/{operationId}/cancel',
      'POST /v1/registers/{registerId}/voids',
      'GET /v1/voids/{operationId}',
      'POST /v1/registers/{registerId}/cash-movements',
      'GET /v1/cash-movements/{operationId}',
      'GET /v1/operations/{operationId}',
      'GET /v1/registers/{registerId}/operations',
      'GET /v1/operations/{operationId}/receipt',
      'GET /v1/operations/{operationId}/receipt.pdf',
      'GET /v1/rksv-receipts/{urlHash}',
      'POST /v1/registers/{registerId}/fiscal-units',
      'GET /v1/registers/{registerId}/fiscal-units',
      'POST /v1/registers/{registerId}/fiscal-units/replace',
      'GET /v1/fiscal-units/{fiscalUnitId}',
      'POST /v1/fiscal-units/{fiscalUnitId}/recover',
      'POST /v1/fiscal-units/{fiscalUnitId}/decommission',
      'POST /v1/fiscal-units/{fiscalUnitId}/simulate-failure',
      'POST /v1/registers/{registerId}/cash-drawer-openings',
      'GET /v1/registers/{registerId}/cash-drawer-openings',
      'GET /v1/registers/{registerId}/outages',
      'POST /v1/registers/{registerId}/null-receipts',
      'GET /v1/cash-drawer-openings/{cashDrawerOpeningId}',
      'POST /v1/registers/{registerId}/closings',
      'GET /v1/registers/{registerId}/closings',
      'GET /v1/closings/{closingId}',
      'POST /v1/closings/{closingId}/retry',
      'GET /v1/closings/{closingId}/summary/recompute',
      'GET /v1/closings/{closingId}/pdf',
    ];
    expect(routes.sort()).toEqual(registered.sort());
  });

  it('matches the committed openapi/openapi.json (run `npm run openapi` after changing a schema)', async () => {
    const served = (await t.api.get('/v1/openapi.json')).body;
    const committed = readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8');
    expect(formatOpenApiDocument(served)).toBe(committed);
  });

  it('serves the interactive reference at /docs', async () => {
    const page = await t.api.get('/docs/');
    const html = page.status === 302 ? await t.api.get(String(page.headers.location)) : page;
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.text).toContain('swagger-ui');
    const spec = await t.api.get<OpenApiDocument>('/docs/json');
    expect(spec.body.info.title).toBe('OpenFiskal server API');
  });
});

describeDb('route schemas', () => {
  it('compile, every one of them (they compile at first use or in the background after listen)', async () => {
    const t = await buildTestApp();
    try {
      const compilation = t.app.schemaCompilation;
      // Building the app compiled nothing: that is what keeps start-up under a second.
      expect(compilation.pending).toBeGreaterThan(50);
      const errors: unknown[] = [];
      await compilation.compileRest((error) => errors.push(error));
      expect(errors).toEqual([]);
      expect(compilation.pending).toBe(0);
    } finally {
      await t.close();
    }
  });
});
