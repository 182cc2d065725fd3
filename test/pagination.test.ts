import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ErrorBody } from '../src/errors/app-error.js';
import type { Organization } from '../src/modules/organizations/organization.schemas.js';
import type { Page } from '../src/shared/pagination.js';
import type { ApiClient } from './helpers/api-client.js';
import { describeDb } from './helpers/engines.js';
import { createOrganization, createPlatform } from './helpers/factories.js';
import { buildTestApp, ManualClock, type TestApp } from './helpers/test-app.js';

async function readAll(api: ApiClient, url: string, cursor?: string): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  const withCursor = (c: string) => `${url}${url.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(c)}`;
  let next: string | null = cursor === undefined ? url : withCursor(cursor);
  while (next !== null) {
    const response: { status: number; body: Page<Organization> } = await api.get<Page<Organization>>(next);
    expect(response.status).toBe(200);
    pages++;
    ids.push(...response.body.data.map((o) => o.id));
    const nextCursor = response.body.next_cursor;
    expect(nextCursor === null).toBe(!response.body.has_more);
    next = nextCursor === null ? null : withCursor(nextCursor);
  }
  return { ids, pages };
}

describeDb('pagination', () => {
  let t: TestApp;
  let api: ApiClient;
  const clock = new ManualClock('2026-03-01T08:00:00.000Z');
  const created: Organization[] = [];

  beforeAll(async () => {
    t = await buildTestApp({ clock });
    ({ api } = await createPlatform(t));
    // 23 organizations, one per minute, with runs of three in the same millisecond (ties broken by id).
    for (let i = 0; i < 23; i++) {
      created.push(await createOrganization(api, { legal_name: `Org ${String(i)}` }));
      if (i % 3 === 2) clock.advance(60_000);
    }
  });
  afterAll(() => t.close());

  it('walks every item exactly once, oldest first, across pages', async () => {
    const { ids, pages } = await readAll(api, '/v1/organizations?limit=5');
    expect(pages).toBe(5);
    expect(ids).toEqual(created.map((o) => o.id));
  });

  it('walks newest first with order=desc', async () => {
    const { ids } = await readAll(api, '/v1/organizations?limit=4&order=desc');
    expect(ids).toEqual(created.map((o) => o.id).reverse());
  });

  it('neither skips nor repeats when items are added while paging', async () => {
    const first = await api.get<Page<Organization>>('/v1/organizations?limit=10');
    const late = await createOrganization(api, { legal_name: 'Late' });
    const rest = await readAll(api, '/v1/organizations?limit=10', first.body.next_cursor ?? '');
    const all = [...first.body.data.map((o) => o.id), ...rest.ids];
    expect(all).toEqual([...created.map((o) => o.id), late.id]);
    created.push(late);
  });

  it('filters by created_at with inclusive from/to, also across pages', async () => {
    const from = '2026-03-01T08:02:00.000Z';
    const to = '2026-03-01T09:04:00.000+01:00';
    const expected = created
      .filter((o) => o.created_at >= from && o.created_at <= '2026-03-01T08:04:00.000Z')
      .map((o) => o.id);
    expect(expected).toHaveLength(9);
    const { ids } = await readAll(
      api,
      `/v1/organizations?limit=2&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
    );
    expect(ids).toEqual(expected);
  });

  it('returns the list envelope, with limit 1 to 200 and default 50', async () => {
    const page = await api.get<Page<Organization>>('/v1/organizations');
    expect(Object.keys(page.body).sort()).toEqual(['data', 'has_more', 'next_cursor', 'object']);
    expect(page.body.object).toBe('list');
    expect(page.body.data).toHaveLength(24);
    expect(page.body.has_more).toBe(false);
    expect((await api.get<Page<Organization>>('/v1/organizations?limit=200')).body.data).toHaveLength(24);
    for (const limit of ['0', '201', '-1', '1.5']) {
      const response = await api.get<ErrorBody>(`/v1/organizations?limit=${limit}`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: 'invalid_request', param: 'limit' });
    }
  });

  it('refuses bad bounds and foreign or forged cursors with 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      ['from=yesterday', 'from'],
      ['to=2026-13-01T00:00:00Z', 'to'],
      ['from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'from'],
      ['cursor=not-a-cursor', 'cursor'],
      [`cursor=${Buffer.from('{"c":"x","i":"y","o":"asc"}').toString('base64url')}`, 'cursor'],
    ];
    const asc = await api.get<Page<Organization>>('/v1/organizations?limit=1');
    cases.push([`order=desc&cursor=${encodeURIComponent(asc.body.next_cursor ?? '')}`, 'cursor']);
    for (const [query, param] of cases) {
      const response = await api.get<ErrorBody>(`/v1/organizations?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body).toMatchObject({ code: 'invalid_request', param });
    }
  });
});
