/**
 * The world a fuzz test throws requests at: a German organization with a register whose software TSE is active,
 * and one of everything a path can name (open and completed sales, an open refund and exchange, a void, a cash
 * movement, a drawer opening, a daily closing, a completed and a queued export, API keys, an Austrian receipt's URL
 * hash), plus another platform's resources and a sacrificial register for the endpoints that destroy what they touch.
 *
 * Fuzzed requests that happen to be valid consume things (complete the open sale, archive the sacrificial
 * register, revoke the victim key); {@link FuzzFixture.ensure} puts back whatever was consumed before the next
 * request, so every run sees the same kinds of resources.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { startJobRunner } from '../../src/jobs/worker.js';
import { createLogger } from '../../src/logger.js';
import type { Closing } from '../../src/modules/closings/closing.schemas.js';
import type { Export } from '../../src/modules/exports/export.schemas.js';
import type { Operation } from '../../src/modules/operations/operation.schemas.js';
import type { ApiKeyView } from '../../src/modules/api-keys/api-key.service.js';
import type { FiscalUnit } from '../../src/modules/fiscal-units/fiscal-unit.schemas.js';
import type { Register } from '../../src/modules/registers/register.schemas.js';
import { newId } from '../../src/shared/ids.js';
import type { ApiClient } from './api-client.js';
import { createAustrianRegister, rksv } from './austria.js';
import { createLocation, createOrganization, createPlatform, createRegister } from './factories.js';
import { GERMAN_IDENTITY, line } from './fiscal.js';
import type { RouteSpec } from './fuzz-schema.js';
import type { TestApp } from './test-app.js';

/** Who sends a request. */
export type Principal = 'org' | 'platform' | 'orgKey' | 'register' | 'none';

/** What fills a path parameter: the fixture's own resource, another of ours, another tenant's, or no resource. */
export type IdKind = 'primary' | 'secondary' | 'foreign' | 'unknown' | 'wrongPrefix' | 'garbage';

export interface IdChoice {
  readonly kind: IdKind;
  /** Picks among the candidates of `secondary`. */
  readonly index: number;
  /** The raw text used for `garbage`. */
  readonly garbage: string;
}

/** Routes whose success destroys the resource they name: they only ever get the sacrificial resources. */
export const DESTRUCTIVE_ROUTES: ReadonlySet<string> = new Set([
  'POST /v1/registers/{registerId}/archive',
  'POST /v1/registers/{registerId}/fiscal-units/replace',
  'POST /v1/fiscal-units/{fiscalUnitId}/decommission',
  'POST /v1/fiscal-units/{fiscalUnitId}/simulate-failure',
  'DELETE /v1/auth/api-keys/{keyId}',
]);

const PREFIX_BY_PARAM: Readonly<Record<string, string>> = {
  organizationId: 'org',
  locationId: 'loc',
  registerId: 'reg',
  fiscalUnitId: 'fu',
  operationId: 'op',
  closingId: 'cls',
  cashDrawerOpeningId: 'cdo',
  exportId: 'exp',
  keyId: 'key',
};

const silent = createLogger('silent');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SALE_LINES = [line('Br\u00F6tchen', 2, 45, '0.07'), line('Kaffee', 1, 250)];

interface Provisioned {
  readonly register: Register;
  readonly unit: FiscalUnit;
  readonly registerKey: string;
}

interface Ids {
  platformKey: string;
  orgKey: string;
  registerKey: string;
  organization: string;
  secondOrganization: string;
  location: string;
  register: string;
  unit: string;
  plainRegister: string;
  archivedRegister: string;
  sacrificialRegister: string;
  sacrificialUnit: string;
  victimKey: string;
  setupToken: string;
  /** The platform whose setup token is {@link Ids.setupToken}. */
  setupPlatform: string;
  /** Completed; the original of the open refund and exchange. */
  saleA: string;
  saleALines: [string, string];
  /** Completed; the target of the valid void body. */
  voidTarget: string;
  openSale: string;
  openRefund: string;
  openExchange: string;
  voidOperation: string;
  cashMovement: string;
  cashDrawerOpening: string;
  closing: string;
  completedExport: string;
  queuedExport: string;
  foreignOrganization: string;
  foreignLocation: string;
  foreignRegister: string;
  foreignUnit: string;
  foreignOperation: string;
  /** The URL hash of an Austrian register's Startbeleg (`GET /v1/rksv-receipts/{urlHash}`). */
  rksvUrlHash: string;
}

/** A well-formed URL hash (11 Base64-URL characters) that no receipt has. */
const unknownUrlHash = () => randomBytes(8).toString('base64url');

export class FuzzFixture {
  /** Set when a request may have consumed part of the fixture (any success of a non-GET). */
  dirty = false;

  private constructor(
    readonly t: TestApp,
    readonly ids: Ids,
  ) {}

  static async create(t: TestApp): Promise<FuzzFixture> {
    const platform = await createPlatform(t, 'Fuzz platform');
    const organization = await createOrganization(platform.api, {
      legal_name: 'M\u00FCller & S\u00F6hne B\u00E4ckerei GmbH',
      fiscal_identity: GERMAN_IDENTITY,
      address: { line1: 'Hauptstra\u00DFe 1', city: 'Berlin', postal_code: '10115', country: 'DE' },
    });
    const secondOrganization = await createOrganization(platform.api, { legal_name: 'Zweite GmbH' });
    const orgApi = platform.api.forOrganization(organization.id);
    const orgKey = await created<ApiKeyView>(
      orgApi.post(`/v1/organizations/${organization.id}/api-keys`, { label: 'fuzz org key' }),
    );
    const location = await createLocation(orgApi, organization.id);
    const main = await provision(orgApi, location.id);
    const registerApi = orgApi.as(main.registerKey);
    const plainRegister = await createRegister(orgApi, location.id, { label: 'Ohne TSE' });
    const archivedRegister = await createRegister(orgApi, location.id, { label: 'Archiviert' });
    expect((await orgApi.post(`/v1/registers/${archivedRegister.id}/archive`, {})).status).toBe(200);
    const sacrificial = await provision(orgApi, location.id);

    // A completed day with a daily closing, whose DSFinV-K export the job runner completes (then it stops, so that
    // nothing changes the database behind the tests' back).
    const saleA = await completedSale(registerApi, main.register.id);
    const closing = await created<Closing>(
      registerApi.post(`/v1/registers/${main.register.id}/closings`, { type: 'daily' }),
    );
    const completedExport = (closing.fiscal as { dsfinvk_export_id?: string } | null)?.dsfinvk_export_id ?? '';
    const runner = startJobRunner({ ...t.container.jobRunner, pollMs: 20 }, silent);
    try {
      for (let i = 0; i < 500; i++) {
        const state = (await orgApi.get<Export>(`/v1/exports/${completedExport}`)).body.state;
        if (state === 'completed') break;
        expect(state).not.toBe('failed');
        await sleep(20);
      }
    } finally {
      await runner.stop();
    }

    const voided = await completedSale(registerApi, main.register.id);
    const voidOperation = await created<Operation>(
      registerApi.post(`/v1/registers/${main.register.id}/voids`, {
        original_operation_id: voided.id,
        reason: 'Falsch gebucht',
      }),
    );
    const cashMovement = await created<Operation>(
      registerApi.post(`/v1/registers/${main.register.id}/cash-movements`, {
        direction: 'in',
        kind: 'pay_in',
        amount: 5000,
      }),
    );
    const cashDrawerOpening = await created<{ id: string }>(
      registerApi.post(`/v1/registers/${main.register.id}/cash-drawer-openings`, {
        occurred_at: new Date().toISOString(),
        operation_id: saleA.id,
      }),
    );
    const queuedExport = await created<Export>(
      orgApi.post('/v1/exports', {
        type: 'tse_tar',
        register_id: main.register.id,
        from: '2026-01-01T00:00:00Z',
        to: '2026-12-31T23:59:59Z',
      }),
    );
    const victim = await created<ApiKeyView>(platform.api.post('/v1/auth/api-keys', { label: 'victim' }));
    const bootstrap = await t.container.platforms.createPlatform('Fuzz bootstrap');

    const foreignPlatform = await createPlatform(t, 'Foreign platform');
    const foreignOrganization = await createOrganization(foreignPlatform.api, { fiscal_identity: GERMAN_IDENTITY });
    const foreignApi = foreignPlatform.api.forOrganization(foreignOrganization.id);
    const foreignLocation = await createLocation(foreignApi, foreignOrganization.id);
    const foreign = await provision(foreignApi, foreignLocation.id);
    const foreignSale = await completedSale(foreignApi.as(foreign.registerKey), foreign.register.id);

    // An Austrian register of its own platform: its Startbeleg is a receipt anyone may fetch by URL hash.
    const austria = await createAustrianRegister(t);
    const startReceipt = rksv((austria.unit.fiscal_registration as { start_receipt: unknown }).start_receipt);

    const lineIds = (saleA.data.line_items ?? []).map((item) => item.id);
    const fixture = new FuzzFixture(t, {
      platformKey: platform.key,
      orgKey: orgKey.api_key ?? '',
      registerKey: main.registerKey,
      organization: organization.id,
      secondOrganization: secondOrganization.id,
      location: location.id,
      register: main.register.id,
      unit: main.unit.id,
      plainRegister: plainRegister.id,
      archivedRegister: archivedRegister.id,
      sacrificialRegister: sacrificial.register.id,
      sacrificialUnit: sacrificial.unit.id,
      victimKey: victim.id,
      setupToken: bootstrap.setupToken,
      setupPlatform: bootstrap.platform.id,
      saleA: saleA.id,
      saleALines: [lineIds[0] ?? '', lineIds[1] ?? ''],
      voidTarget: (await completedSale(registerApi, main.register.id)).id,
      openSale: '',
      openRefund: '',
      openExchange: '',
      voidOperation: voidOperation.id,
      cashMovement: cashMovement.id,
      cashDrawerOpening: cashDrawerOpening.id,
      closing: closing.id,
      completedExport,
      queuedExport: queuedExport.id,
      foreignOrganization: foreignOrganization.id,
      foreignLocation: foreignLocation.id,
      foreignRegister: foreign.register.id,
      foreignUnit: foreign.unit.id,
      foreignOperation: foreignSale.id,
      rksvUrlHash: startReceipt.url_hash,
    });
    await fixture.openRefundAndExchange();
    await fixture.openNewSale();
    return fixture;
  }

  /** A client of `principal` (through {@link ApiClient}, for setting things up). */
  client(principal: Principal): ApiClient {
    switch (principal) {
      case 'org':
        return this.t.api.as(this.ids.platformKey, this.ids.organization);
      case 'platform':
        return this.t.api.as(this.ids.platformKey);
      case 'orgKey':
        return this.t.api.as(this.ids.orgKey);
      case 'register':
        return this.t.api.as(this.ids.registerKey);
      case 'none':
        return this.t.api;
    }
  }

  /** The headers `principal` authenticates with. */
  headers(principal: Principal): Record<string, string> {
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
    switch (principal) {
      case 'org':
        return { ...bearer(this.ids.platformKey), 'openfiskal-organization': this.ids.organization };
      case 'platform':
        return bearer(this.ids.platformKey);
      case 'orgKey':
        return bearer(this.ids.orgKey);
      case 'register':
        return bearer(this.ids.registerKey);
      case 'none':
        return {};
    }
  }

  /** The id `choice` names for path parameter `param` of `route` (not yet URL-encoded). */
  idFor(route: RouteSpec, param: string, choice: IdChoice): string {
    const prefix = PREFIX_BY_PARAM[param] ?? 'x';
    const candidates = this.candidates(route, param);
    switch (choice.kind) {
      case 'primary':
        return candidates.primary;
      case 'secondary':
        return candidates.secondary[choice.index % Math.max(1, candidates.secondary.length)] ?? candidates.primary;
      case 'foreign':
        return candidates.foreign ?? newId(prefix as 'org');
      case 'unknown':
        return param === 'urlHash' ? unknownUrlHash() : newId(prefix as 'org');
      case 'wrongPrefix':
        return prefix === 'reg' ? this.ids.location : this.ids.register;
      case 'garbage':
        return choice.garbage;
    }
  }

  private candidates(route: RouteSpec, param: string): { primary: string; secondary: string[]; foreign?: string } {
    const ids = this.ids;
    const destructive = DESTRUCTIVE_ROUTES.has(route.key);
    const operations = [ids.saleA, ids.openSale, ids.openRefund, ids.openExchange, ids.voidOperation, ids.cashMovement];
    switch (param) {
      case 'organizationId':
        return { primary: ids.organization, secondary: [ids.secondOrganization], foreign: ids.foreignOrganization };
      case 'locationId':
        return { primary: ids.location, secondary: [], foreign: ids.foreignLocation };
      case 'registerId':
        return destructive
          ? { primary: ids.sacrificialRegister, secondary: [ids.archivedRegister], foreign: ids.foreignRegister }
          : {
              primary: ids.register,
              secondary: [ids.plainRegister, ids.archivedRegister],
              foreign: ids.foreignRegister,
            };
      case 'fiscalUnitId':
        return destructive
          ? { primary: ids.sacrificialUnit, secondary: [], foreign: ids.foreignUnit }
          : { primary: ids.unit, secondary: [], foreign: ids.foreignUnit };
      case 'operationId': {
        // `/v1/<resource>/{operationId}…`: the operation of that type.
        const byResource: Readonly<Record<string, string>> = {
          sales: ids.openSale,
          refunds: ids.openRefund,
          exchanges: ids.openExchange,
          voids: ids.voidOperation,
          'cash-movements': ids.cashMovement,
        };
        const primary = byResource[route.path.split('/')[2] ?? ''] ?? ids.saleA;
        return { primary, secondary: operations, foreign: ids.foreignOperation };
      }
      case 'closingId':
        return { primary: ids.closing, secondary: [] };
      case 'cashDrawerOpeningId':
        return { primary: ids.cashDrawerOpening, secondary: [] };
      case 'exportId':
        return { primary: ids.completedExport, secondary: [ids.queuedExport] };
      case 'keyId':
        return { primary: ids.victimKey, secondary: [] };
      case 'urlHash':
        // Public, so no tenant's: "foreign" is a well-formed hash of no receipt.
        return { primary: ids.rksvUrlHash, secondary: [], foreign: unknownUrlHash() };
      default:
        return { primary: newId('x' as 'org'), secondary: [] };
    }
  }

  /** A body the endpoint accepts for the primary resources (undefined: none written; synthesize one). */
  validBody(route: RouteSpec): unknown {
    const ids = this.ids;
    const cashier = { id: 'k-1', display_name: 'Anna' };
    const address = {
      line1: 'Hauptstra\u00DFe 1',
      line2: 'Hinterhaus',
      city: 'Berlin',
      state: 'BE',
      postal_code: '10115',
      country: 'DE',
    };
    const saleLine = {
      description: 'Kaffee',
      quantity: 2,
      unit: 'piece',
      unit_price_gross: 250,
      tax: { rate: '0.19', category: 'standard' },
      line_discounts: [{ type: 'amount', amount: 10, label: 'Treue', source: 'app' }],
      product_ref: 'SKU-1',
    };
    const customer = { name: 'Erika Mustermann', email: 'erika@example.com', customer_ref: 'C-1' };
    const payment = (direction: string, amount: number) => ({
      method: 'cash',
      direction,
      amount,
      currency: 'EUR',
      reference: 'Bon 1',
    });
    switch (route.key) {
      case 'POST /v1/auth/bootstrap':
        return { setup_token: ids.setupToken, label: 'fuzz' };
      case 'POST /v1/auth/api-keys':
      case 'POST /v1/organizations/{organizationId}/api-keys':
        return { label: 'fuzz key', description: 'made by the fuzz test' };
      case 'POST /v1/organizations':
        return {
          legal_name: 'Fuzz GmbH',
          country: 'DE',
          tax_id: 'DE123',
          trade_name: 'Fuzz',
          address,
          fiscal_identity: GERMAN_IDENTITY,
          metadata: { source: 'fuzz' },
        };
      case 'PATCH /v1/organizations/{organizationId}':
        return { legal_name: 'Fuzz GmbH', trade_name: 'Fuzz', tax_id: 'DE123', address, metadata: { source: 'fuzz' } };
      case 'POST /v1/organizations/{organizationId}/locations':
      case 'PATCH /v1/locations/{locationId}':
        return { name: 'Filiale', address, timezone: 'Europe/Berlin', metadata: { source: 'fuzz' } };
      case 'POST /v1/locations/{locationId}/registers':
        return { label: 'Kasse', jurisdiction: 'DE', currency: 'EUR', metadata: { source: 'fuzz' } };
      case 'PATCH /v1/registers/{registerId}':
        return { label: 'Kasse', closing_schedule: { daily_at: '23:30' }, metadata: { source: 'fuzz' } };
      case 'POST /v1/registers/{registerId}/fiscal-units':
        return { provider: 'software_tse', issue_register_credential: false };
      case 'POST /v1/registers/{registerId}/fiscal-units/replace':
      case 'POST /v1/fiscal-units/{fiscalUnitId}/decommission':
        return { reason: 'Ger\u00E4t defekt' };
      case 'POST /v1/fiscal-units/{fiscalUnitId}/simulate-failure':
        return { mode: 'none' };
      case 'POST /v1/registers/{registerId}/sales':
        return {
          external_id: 'ext-1',
          cashier,
          line_items: [saleLine],
          cart_discounts: [{ type: 'percentage', rate: '0.1', label: 'Aktion' }],
          customer,
          training: false,
          metadata: { source: 'fuzz' },
        };
      case 'PATCH /v1/sales/{operationId}':
        return { line_items: [saleLine], cart_discounts: [], customer, metadata: { source: 'fuzz' } };
      case 'POST /v1/sales/{operationId}/complete':
        // The open sale is one coffee (250).
        return { payments: [{ ...payment('inbound', 300), cash: { amount_tendered: 300 } }, payment('outbound', 50)] };
      case 'POST /v1/refunds/{operationId}/complete':
        return { payments: [payment('outbound', 45)] };
      case 'POST /v1/exchanges/{operationId}/complete':
        return { payments: [payment('outbound', 0)] };
      case 'POST /v1/sales/{operationId}/cancel':
      case 'POST /v1/refunds/{operationId}/cancel':
      case 'POST /v1/exchanges/{operationId}/cancel':
        return { reason: 'Kunde weg' };
      case 'POST /v1/registers/{registerId}/refunds':
        return {
          original_operation_id: ids.saleA,
          external_id: 'ext-r',
          cashier,
          line_items: [{ line_item_id: ids.saleALines[0], quantity: 1 }],
          metadata: { source: 'fuzz' },
        };
      case 'PATCH /v1/refunds/{operationId}':
        return { line_items: [{ line_item_id: ids.saleALines[0], quantity: 1 }], metadata: { source: 'fuzz' } };
      case 'POST /v1/registers/{registerId}/exchanges':
      case 'PATCH /v1/exchanges/{operationId}':
        return {
          ...(route.method === 'POST' ? { original_operation_id: ids.saleA, cashier, external_id: 'ext-x' } : {}),
          returned_line_items: [{ line_item_id: ids.saleALines[0], quantity: 1 }],
          line_items: [{ ...saleLine, quantity: 1, unit_price_gross: 45, line_discounts: [] }],
        };
      case 'POST /v1/registers/{registerId}/voids':
        return {
          original_operation_id: ids.voidTarget,
          reason: 'Falsch gebucht',
          external_id: 'ext-v',
          cashier,
          metadata: { source: 'fuzz' },
        };
      case 'POST /v1/registers/{registerId}/cash-movements':
        return {
          direction: 'in',
          kind: 'pay_in',
          amount: 100,
          currency: 'EUR',
          reason: 'Wechselgeld',
          external_id: 'ext-c',
          cashier,
          metadata: { source: 'fuzz' },
        };
      case 'POST /v1/registers/{registerId}/null-receipts':
        return { metadata: { source: 'fuzz' } };
      case 'POST /v1/registers/{registerId}/cash-drawer-openings':
        return {
          occurred_at: new Date().toISOString(),
          operation_id: ids.saleA,
          cashier,
          reason: 'Wechselgeld',
          note: 'intern',
        };
      case 'POST /v1/registers/{registerId}/closings':
        return { type: 'shift', cancel_open_operations: false };
      case 'POST /v1/registers/{registerId}/archive':
      case 'POST /v1/fiscal-units/{fiscalUnitId}/recover':
      case 'POST /v1/closings/{closingId}/retry':
        return {};
      case 'POST /v1/exports':
        return { type: 'dsfinvk', register_id: ids.register, from: '2026-01-01T00:00:00Z', to: '2026-01-31T23:59:59Z' };
      default:
        return undefined;
    }
  }

  /** Notes an answer: a success of anything but a read may have consumed part of the fixture. */
  noteAnswer(method: string, status: number): void {
    if (method !== 'GET' && status < 400) this.dirty = true;
  }

  /** Puts back whatever successful requests consumed, so that every resource kind exists in its expected state. */
  async ensure(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const ids = this.ids;
    const db = this.t.database.executor();
    const orgApi = this.client('org');
    const registerApi = this.client('register');
    // A successful PATCH may have changed the fiscal identity that provisioning needs.
    const organization = await db
      .selectFrom('organizations')
      .select('fiscal_identity')
      .where('id', '=', ids.organization)
      .executeTakeFirstOrThrow();
    if (organization.fiscal_identity !== JSON.stringify(GERMAN_IDENTITY)) {
      const patched = await orgApi.patch(`/v1/organizations/${ids.organization}`, { fiscal_identity: GERMAN_IDENTITY });
      expect(patched.status, patched.text).toBe(200);
    }

    const units = await db
      .selectFrom('fiscal_units')
      .select(['id', 'state', 'simulated_failure'])
      .where('id', 'in', [ids.unit, ids.sacrificialUnit])
      .execute();
    for (const unit of units) {
      if (unit.simulated_failure !== 'none' && unit.state !== 'decommissioned') {
        expect((await orgApi.post(`/v1/fiscal-units/${unit.id}/simulate-failure`, { mode: 'none' })).status).toBe(200);
      }
    }
    const sacrificial = await db
      .selectFrom('registers')
      .select(['state', 'active_fiscal_unit_id'])
      .where('id', '=', ids.sacrificialRegister)
      .executeTakeFirstOrThrow();
    if (sacrificial.state !== 'active' || sacrificial.active_fiscal_unit_id !== ids.sacrificialUnit) {
      const replacement = await provision(orgApi, ids.location);
      ids.sacrificialRegister = replacement.register.id;
      ids.sacrificialUnit = replacement.unit.id;
    }
    const victim = await db
      .selectFrom('api_keys')
      .select('revoked_at')
      .where('id', '=', ids.victimKey)
      .executeTakeFirst();
    if (victim?.revoked_at !== null) {
      ids.victimKey = (
        await created<ApiKeyView>(this.client('platform').post('/v1/auth/api-keys', { label: 'victim' }))
      ).id;
    }
    const consumed = await db
      .selectFrom('api_keys')
      .select('id')
      .where('platform_id', '=', ids.setupPlatform)
      .where('kind', '=', 'setup')
      .where('revoked_at', 'is not', null)
      .executeTakeFirst();
    if (consumed !== undefined) {
      const bootstrap = await this.t.container.platforms.createPlatform('Fuzz bootstrap');
      ids.setupToken = bootstrap.setupToken;
      ids.setupPlatform = bootstrap.platform.id;
    }

    // Fuzzed sales that succeed stay open; far below any open-operations limit, a daily closing cancels them all.
    const open = await db
      .selectFrom('operations')
      .select((eb) => eb.fn.countAll<string | number | bigint>().as('count'))
      .where('register_id', '=', ids.register)
      .where('state', '=', 'open')
      .executeTakeFirstOrThrow();
    if (Number(open.count) > 100) {
      await created(registerApi.post(`/v1/registers/${ids.register}/closings`, { cancel_open_operations: true }));
    }

    const operations = await db
      .selectFrom('operations')
      .select(['id', 'state', 'voided_by'])
      .where('id', 'in', [ids.saleA, ids.voidTarget, ids.openSale, ids.openRefund, ids.openExchange])
      .execute();
    const byId = new Map(operations.map((operation) => [operation.id, operation]));
    const isOpen = (id: string) => byId.get(id)?.state === 'open';
    if (byId.get(ids.voidTarget)?.voided_by !== null) {
      ids.voidTarget = (await completedSale(registerApi, ids.register)).id;
    }
    if (byId.get(ids.saleA)?.voided_by !== null || !isOpen(ids.openRefund) || !isOpen(ids.openExchange)) {
      for (const id of [ids.openRefund, ids.openExchange]) {
        if (!isOpen(id)) continue;
        const kind = id === ids.openRefund ? 'refunds' : 'exchanges';
        expect((await registerApi.post(`/v1/${kind}/${id}/cancel`, { reason: 'fuzz reset' })).status).toBe(200);
      }
      const sale = await completedSale(registerApi, ids.register);
      const lineIds = (sale.data.line_items ?? []).map((item) => item.id);
      ids.saleA = sale.id;
      ids.saleALines = [lineIds[0] ?? '', lineIds[1] ?? ''];
      await this.openRefundAndExchange();
    }
    if (!isOpen(ids.openSale)) await this.openNewSale();
  }

  private async openRefundAndExchange(): Promise<void> {
    const registerApi = this.client('register');
    const ids = this.ids;
    ids.openRefund = (
      await created<Operation>(
        registerApi.post(`/v1/registers/${ids.register}/refunds`, {
          original_operation_id: ids.saleA,
          line_items: [{ line_item_id: ids.saleALines[0], quantity: 1 }],
        }),
      )
    ).id;
    ids.openExchange = (
      await created<Operation>(
        registerApi.post(`/v1/registers/${ids.register}/exchanges`, {
          original_operation_id: ids.saleA,
          returned_line_items: [{ line_item_id: ids.saleALines[1], quantity: 1 }],
          line_items: [line('Tee', 1, 250)],
        }),
      )
    ).id;
  }

  private async openNewSale(): Promise<void> {
    this.ids.openSale = (
      await created<Operation>(
        this.client('register').post(`/v1/registers/${this.ids.register}/sales`, {
          line_items: [line('Kaffee', 1, 250)],
        }),
      )
    ).id;
  }
}

async function created<T>(pending: Promise<{ status: number; text: string; body: T }>): Promise<T> {
  const response = await pending;
  expect(response.status, response.text).toBeLessThan(300);
  return response.body;
}

/** A DE register with an active software TSE, and its register key. */
async function provision(orgApi: ApiClient, locationId: string): Promise<Provisioned> {
  const register = await createRegister(orgApi, locationId);
  const response = await orgApi.post<{ fiscal_unit: FiscalUnit; register: Register; register_api_key: string }>(
    `/v1/registers/${register.id}/fiscal-units`,
    { issue_register_credential: true },
  );
  expect(response.status, response.text).toBe(201);
  return {
    register: response.body.register,
    unit: response.body.fiscal_unit,
    registerKey: response.body.register_api_key,
  };
}

async function completedSale(api: ApiClient, registerId: string): Promise<Operation> {
  const started = await created<Operation>(api.post(`/v1/registers/${registerId}/sales`, { line_items: SALE_LINES }));
  const total = started.data.totals?.total_gross ?? 0;
  return created<Operation>(
    api.post(`/v1/sales/${started.id}/complete`, {
      payments: [{ method: 'cash', direction: 'inbound', amount: total }],
    }),
  );
}
