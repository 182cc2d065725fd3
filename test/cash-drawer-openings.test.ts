import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CashDrawerOpening } from '../src/modules/cash-drawer-openings/cash-drawer-opening.schemas.js';
import type { Page } from '../src/shared/pagination.js';
import { expectError } from './helpers/assertions.js';
import { logOpening, sale } from './helpers/closings.js';
import { describeDb } from './helpers/engines.js';
import { createRegister } from './helpers/factories.js';
import { createFiscalRegister, journalOf, line, type FiscalRegisterFixture } from './helpers/fiscal.js';
import { buildTestApp, ManualClock, type TestApp } from './helpers/test-app.js';

const MINUTE = 60_000;

describeDb('cash drawer openings', () => {
  let t: TestApp;
  let fx: FiscalRegisterFixture;
  const clock = new ManualClock('2026-11-20T09:00:00.000Z');
  const path = () => `/v1/registers/${fx.register.id}/cash-drawer-openings`;

  beforeAll(async () => {
    t = await buildTestApp({ clock });
    fx = await createFiscalRegister(t);
  });
  afterAll(() => t.close());

  const list = async (query = '') => {
    const response = await fx.registerApi.get<Page<CashDrawerOpening>>(`${path()}?limit=200${query}`);
    expect(response.status, response.text).toBe(200);
    return response.body;
  };

  it('logs an opening: device time kept (in UTC), server time beside it, journaled without the note', async () => {
    const sold = await sale(fx.registerApi, fx.register.id, [line('Kaffee', 1, 250)]);
    const opening = await logOpening(fx.registerApi, fx.register.id, {
      occurred_at: '2026-11-20T09:59:30.250+02:00',
      operation_id: sold.id,
      cashier: { id: 'c-7', display_name: 'Anna' },
      reason: 'Wechselgeld',
      note: 'Schublade klemmt',
    });
    expect(opening).toEqual({
      occurred_at: '2026-11-20T07:59:30.250Z',
      id: expect.stringMatching(/^cdo_[0-7][0-9a-hjkmnp-tv-z]{25}$/) as unknown,
      object: 'cash_drawer_opening',
      register_id: fx.register.id,
      received_at: '2026-11-20T09:00:00.000Z',
      created_at: '2026-11-20T09:00:00.000Z',
      operation_id: sold.id,
      cashier: { id: 'c-7', display_name: 'Anna' },
      reason: 'Wechselgeld',
      note: 'Schublade klemmt',
      fiscal: null,
    });
    const fetched = await fx.registerApi.get<CashDrawerOpening>(`/v1/cash-drawer-openings/${opening.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(opening);

    const entry = (await journalOf(fx.orgApi, fx.register.id)).find((e) => e.subject_id === opening.id);
    expect(entry?.type).toBe('cash_drawer_opening.logged');
    const journaled = (entry?.payload as unknown as { data: { cash_drawer_opening: Record<string, unknown> } }).data
      .cash_drawer_opening;
    expect(journaled).toMatchObject({ id: opening.id, occurred_at: opening.occurred_at, reason: 'Wechselgeld' });
    expect(journaled).not.toHaveProperty('note');
    expect(JSON.stringify(entry)).not.toContain('Schublade klemmt');
  });

  it('refuses an occurred_at more than 5 minutes ahead of the server, and changes nothing', async () => {
    const before = await list();
    const journalBefore = (await journalOf(fx.orgApi, fx.register.id)).length;
    const ahead = new Date(clock.now().getTime() + 5 * MINUTE + 1000).toISOString();
    expectError(await fx.registerApi.post(path(), { occurred_at: ahead }), 422, 'occurred_at_in_future', 'occurred_at');
    expect((await list()).data).toEqual(before.data);
    expect(await journalOf(fx.orgApi, fx.register.id)).toHaveLength(journalBefore);
    // A register clock a little ahead is tolerated.
    const justAhead = new Date(clock.now().getTime() + 4 * MINUTE).toISOString();
    expect((await logOpening(fx.registerApi, fx.register.id, { occurred_at: justAhead })).occurred_at).toBe(justAhead);
  });

  it('validates the body with catalogue errors', async () => {
    expectError(await fx.registerApi.post(path(), {}), 400, 'invalid_request');
    expectError(await fx.registerApi.post(path(), { occurred_at: 'yesterday' }), 400, 'invalid_request');
    expectError(
      await fx.registerApi.post(path(), { occurred_at: '2026-02-30T10:00:00Z' }),
      400,
      'invalid_request',
      'occurred_at',
    );
    expectError(
      await fx.registerApi.post(path(), { occurred_at: clock.now().toISOString(), colour: 'red' }),
      400,
      'invalid_request',
    );
    expectError(
      await fx.registerApi.post(path(), { occurred_at: clock.now().toISOString(), operation_id: 'op_nope' }),
      422,
      'validation_error',
      'operation_id',
    );
  });

  it('operation_id must be an operation of the same register', async () => {
    const other = await createFiscalRegister(t, {
      orgApi: fx.orgApi,
      organizationId: fx.organizationId,
      locationId: fx.locationId,
    });
    const elsewhere = await sale(other.registerApi, other.register.id, [line('Tee', 1, 200)]);
    expectError(
      await fx.registerApi.post(path(), { occurred_at: clock.now().toISOString(), operation_id: elsewhere.id }),
      422,
      'validation_error',
      'operation_id',
    );
  });

  it('arrives late and out of order after an offline period; lists follow arrival, filter by from/to, page', async () => {
    const fresh = await createFiscalRegister(t, {
      orgApi: fx.orgApi,
      organizationId: fx.organizationId,
      locationId: fx.locationId,
    });
    const occurred = ['2026-11-19T18:00:00.000Z', '2026-11-19T12:00:00.000Z', '2026-11-19T15:00:00.000Z'];
    const logged: CashDrawerOpening[] = [];
    for (const occurredAt of occurred) {
      clock.advance(MINUTE);
      logged.push(await logOpening(fresh.registerApi, fresh.register.id, { occurred_at: occurredAt }));
    }
    const url = `/v1/registers/${fresh.register.id}/cash-drawer-openings`;
    const all = await fresh.registerApi.get<Page<CashDrawerOpening>>(url);
    expect(all.body.data.map((o) => o.occurred_at)).toEqual(occurred);
    expect(all.body.data.map((o) => o.received_at)).toEqual(logged.map((o) => o.received_at));

    const second = logged[1]?.created_at ?? '';
    const filtered = await fresh.registerApi.get<Page<CashDrawerOpening>>(
      `${url}?from=${encodeURIComponent(second)}&to=${encodeURIComponent(second)}`,
    );
    expect(filtered.body.data.map((o) => o.id)).toEqual([logged[1]?.id]);

    const first = await fresh.registerApi.get<Page<CashDrawerOpening>>(`${url}?limit=2&order=desc`);
    expect(first.body).toMatchObject({ has_more: true });
    const rest = await fresh.registerApi.get<Page<CashDrawerOpening>>(
      `${url}?limit=2&order=desc&cursor=${encodeURIComponent(first.body.next_cursor ?? '')}`,
    );
    expect([...first.body.data, ...rest.body.data].map((o) => o.id)).toEqual(logged.map((o) => o.id).reverse());
    expect(rest.body.has_more).toBe(false);
    expectError(await fresh.registerApi.get(`${url}?cursor=garbage`), 400, 'invalid_request', 'cursor');
  });

  it('an idempotent retry logs the opening once', async () => {
    const before = (await list()).data.length;
    const body = { occurred_at: clock.now().toISOString(), reason: 'Retry' };
    const options = { headers: { 'idempotency-key': 'drawer-1' } };
    const first = await fx.registerApi.post<CashDrawerOpening>(path(), body, options);
    const second = await fx.registerApi.post<CashDrawerOpening>(path(), body, options);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    expect((await list()).data).toHaveLength(before + 1);
  });

  it('Norway and Sweden need a reason for an opening without an operation', async () => {
    for (const jurisdiction of ['NO', 'SE']) {
      const register = await createRegister(fx.orgApi, fx.locationId, { jurisdiction, label: `Kasse ${jurisdiction}` });
      const url = `/v1/registers/${register.id}/cash-drawer-openings`;
      expectError(
        await fx.orgApi.post(url, { occurred_at: clock.now().toISOString() }),
        422,
        'reason_required',
        'reason',
      );
      const opened = await fx.orgApi.post<CashDrawerOpening>(url, {
        occurred_at: clock.now().toISOString(),
        reason: 'Float check',
      });
      expect(opened.status, opened.text).toBe(201);
      expect(opened.body).toMatchObject({ reason: 'Float check', operation_id: null, fiscal: null });
    }
    // Germany does not.
    expect((await logOpening(fx.registerApi, fx.register.id, { occurred_at: clock.now().toISOString() })).reason).toBe(
      null,
    );
  });

  it('an archived register refuses openings (409)', async () => {
    const register = await createRegister(fx.orgApi, fx.locationId, { label: 'Alt' });
    const archived = await fx.orgApi.post(`/v1/registers/${register.id}/archive`, {});
    expect(archived.status, archived.text).toBe(200);
    expectError(
      await fx.orgApi.post(`/v1/registers/${register.id}/cash-drawer-openings`, {
        occurred_at: clock.now().toISOString(),
      }),
      409,
      'register_archived',
    );
  });

  describe('tenancy', () => {
    it('other tenants and other registers’ keys never see an opening', async () => {
      const opening = await logOpening(fx.registerApi, fx.register.id, { occurred_at: clock.now().toISOString() });
      const sibling = await createFiscalRegister(t, {
        orgApi: fx.orgApi,
        organizationId: fx.organizationId,
        locationId: fx.locationId,
      });
      const stranger = await createFiscalRegister(t);
      expectError(await sibling.registerApi.get(`/v1/cash-drawer-openings/${opening.id}`), 404, 'not_found');
      expectError(await stranger.orgApi.get(`/v1/cash-drawer-openings/${opening.id}`), 404, 'not_found');
      expectError(await stranger.orgApi.get(path()), 404, 'not_found');
      expectError(await stranger.orgApi.post(path(), { occurred_at: clock.now().toISOString() }), 404, 'not_found');
      expectError(await sibling.registerApi.post(path(), { occurred_at: clock.now().toISOString() }), 403, 'forbidden');
      expectError(
        await fx.registerApi.get('/v1/cash-drawer-openings/cls_01jd7xq3m9e5rbq0c2kfvx8w4t'),
        404,
        'not_found',
      );
      // The organization's own key sees it.
      expect((await fx.orgApi.get(`/v1/cash-drawer-openings/${opening.id}`)).status).toBe(200);
    });
  });
});
