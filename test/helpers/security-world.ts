/**
 * The tenants of the security tests: a target organization with one of every resource, and the neighbours that
 * try to reach it (another platform, a sibling organization, sibling registers), each with its keys.
 */
import { expect } from 'vitest';
import { startJobRunner } from '../../src/jobs/worker.js';
import { createLogger } from '../../src/logger.js';
import type { ApiKeyView } from '../../src/modules/api-keys/api-key.service.js';
import type { CashDrawerOpening } from '../../src/modules/cash-drawer-openings/cash-drawer-opening.schemas.js';
import type { Closing } from '../../src/modules/closings/closing.schemas.js';
import type { Export } from '../../src/modules/exports/export.schemas.js';
import type { Operation } from '../../src/modules/operations/operation.schemas.js';
import type { ApiClient } from './api-client.js';
import { createLocation, createOrganization, createPlatform, type PlatformFixture } from './factories.js';
import { cashSale, createFiscalRegister, GERMAN_IDENTITY, line } from './fiscal.js';
import type { TestApp } from './test-app.js';

/** One of every resource, all in the target organization and, below it, the target register. */
export interface Target {
  readonly platformId: string;
  readonly organizationId: string;
  readonly locationId: string;
  readonly registerId: string;
  readonly fiscalUnitId: string;
  readonly sale: { readonly completed: Operation; readonly open: Operation };
  readonly refund: Operation;
  readonly exchange: Operation;
  readonly void: Operation;
  readonly cashMovement: Operation;
  readonly training: Operation;
  readonly closing: Closing;
  readonly cashDrawerOpening: CashDrawerOpening;
  readonly export: Export;
  /** A platform key of the target's platform that no test authenticates with (revocation is probed on it). */
  readonly platformKeyId: string;
  /** The target organization's own key. */
  readonly organizationKeyId: string;
}

/** A neighbour's key and the register it may legitimately write to (for requests naming the target in a body). */
export interface Principal {
  readonly name: string;
  readonly description: string;
  readonly kind: 'platform' | 'organization' | 'register';
  readonly api: ApiClient;
  /** A register of the principal's own organization with an active fiscal unit. */
  readonly ownRegisterId: string;
  /** True for a key of the target's platform (it owns the platform-level resources). */
  readonly samePlatform: boolean;
}

export interface SecurityWorld {
  readonly target: Target;
  /** The target platform's key acting for the target organization: the owner. */
  readonly owner: ApiClient;
  readonly principals: readonly Principal[];
}

const silent = createLogger('silent');

async function organizationKey(platform: ApiClient, organizationId: string): Promise<ApiKeyView> {
  const created = await platform.post<ApiKeyView>(`/v1/organizations/${organizationId}/api-keys`, { label: 'shop' });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

/** A German organization with a location and one fiscal register (with its register key). */
async function germanOrganization(t: TestApp, platform: PlatformFixture, name: string) {
  const organization = await createOrganization(platform.api, {
    legal_name: name,
    fiscal_identity: GERMAN_IDENTITY,
    address: { line1: 'Hauptstraße 1', city: 'Berlin', postal_code: '10115', country: 'DE' },
  });
  const orgApi = platform.api.forOrganization(organization.id);
  const location = await createLocation(orgApi, organization.id);
  const register = await createFiscalRegister(t, { orgApi, organizationId: organization.id, locationId: location.id });
  return { organization, orgApi, location, register };
}

async function created<T>(response: Promise<{ status: number; text: string; body: T }>, status = 201): Promise<T> {
  const answer = await response;
  expect(answer.status, answer.text).toBe(status);
  return answer.body;
}

/**
 * Builds the world on `t`: platform A with the target organization (registers 1 and 2) and a sibling organization,
 * platform B with an organization of its own. Exports are run to completion, then the job runner is stopped so
 * that nothing changes the database behind the tests' back.
 */
export async function buildSecurityWorld(t: TestApp): Promise<SecurityWorld> {
  const platformA = await createPlatform(t, 'Platform A');
  const platformB = await createPlatform(t, 'Platform B');

  const a1 = await germanOrganization(t, platformA, 'Ziel GmbH');
  const sibling = await createFiscalRegister(t, {
    orgApi: a1.orgApi,
    organizationId: a1.organization.id,
    locationId: a1.location.id,
  });
  const a2 = await germanOrganization(t, platformA, 'Schwester GmbH');
  const b1 = await germanOrganization(t, platformB, 'Fremd GmbH');
  const a2Key = await organizationKey(platformA.api, a2.organization.id);
  const b1Key = await organizationKey(platformB.api, b1.organization.id);
  const a1Key = await organizationKey(platformA.api, a1.organization.id);
  const spareKey = await created(platformA.api.post<ApiKeyView>('/v1/auth/api-keys', { label: 'spare' }));

  // The target register's day: completed operations of every type, a drawer opening, a closing, an export …
  const till = a1.register.registerApi;
  const registerId = a1.register.register.id;
  const completedSale = await cashSale(till, registerId);
  const voided = await cashSale(till, registerId, [line('Kuchen', 1, 300, '0.07')]);
  const voidOperation = await created(
    till.post<Operation>(`/v1/registers/${registerId}/voids`, { original_operation_id: voided.id, reason: 'Fehlbon' }),
  );
  const cashMovement = await created(
    till.post<Operation>(`/v1/registers/${registerId}/cash-movements`, {
      direction: 'in',
      kind: 'pay_in',
      amount: 5000,
      reason: 'Wechselgeld',
    }),
  );
  const trainingStart = await created(
    till.post<Operation>(`/v1/registers/${registerId}/sales`, { training: true, line_items: [line('Übung', 1, 100)] }),
  );
  const training = await created(
    till.post<Operation>(`/v1/sales/${trainingStart.id}/complete`, {
      payments: [{ method: 'cash', direction: 'inbound', amount: 100 }],
    }),
    200,
  );
  const cashDrawerOpening = await created(
    till.post<CashDrawerOpening>(`/v1/registers/${registerId}/cash-drawer-openings`, {
      occurred_at: new Date().toISOString(),
      operation_id: completedSale.id,
    }),
  );
  const closing = await created(a1.orgApi.post<Closing>(`/v1/registers/${registerId}/closings`, { type: 'daily' }));
  const exportJob = await created(
    a1.orgApi.post<Export>('/v1/exports', {
      type: 'tse_tar',
      register_id: registerId,
      from: new Date(Date.now() - 86_400_000).toISOString(),
      to: new Date(Date.now() + 60_000).toISOString(),
    }),
    202,
  );
  const runner = startJobRunner({ ...t.container.jobRunner, pollMs: 10 }, silent);
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const queued = await t.database
        .executor()
        .selectFrom('exports')
        .select('id')
        .where('state', 'in', ['queued', 'running'])
        .execute();
      if (queued.length === 0) break;
      if (Date.now() > deadline) throw new Error(`exports still running: ${JSON.stringify(queued)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await runner.stop();
  }

  // … and, after the closing, operations still open.
  const [rolls, coffee] = completedSale.data.line_items ?? [];
  const openSale = await created(
    till.post<Operation>(`/v1/registers/${registerId}/sales`, { line_items: [line('Brezel', 1, 80, '0.07')] }),
  );
  const refund = await created(
    till.post<Operation>(`/v1/registers/${registerId}/refunds`, {
      original_operation_id: completedSale.id,
      line_items: [{ line_item_id: rolls?.id, quantity: 1 }],
    }),
  );
  const exchange = await created(
    till.post<Operation>(`/v1/registers/${registerId}/exchanges`, {
      original_operation_id: completedSale.id,
      returned_line_items: [{ line_item_id: coffee?.id, quantity: 1 }],
      line_items: [line('Tee', 1, 250)],
    }),
  );

  const principals: Principal[] = [
    {
      name: 'other platform',
      description: "platform B's key acting for its own organization",
      kind: 'platform',
      api: platformB.api.forOrganization(b1.organization.id),
      ownRegisterId: b1.register.register.id,
      samePlatform: false,
    },
    {
      name: "other platform's organization key",
      description: "the key of platform B's organization",
      kind: 'organization',
      api: t.api.as(b1Key.api_key ?? ''),
      ownRegisterId: b1.register.register.id,
      samePlatform: false,
    },
    {
      name: 'sibling organization key',
      description: "the key of the target platform's other organization",
      kind: 'organization',
      api: t.api.as(a2Key.api_key ?? ''),
      ownRegisterId: a2.register.register.id,
      samePlatform: true,
    },
    {
      name: 'platform acting for the sibling',
      description: "the target platform's key with OpenFiskal-Organization naming the other organization",
      kind: 'platform',
      api: platformA.api.forOrganization(a2.organization.id),
      ownRegisterId: a2.register.register.id,
      samePlatform: true,
    },
    {
      name: 'sibling register key',
      description: 'the register key of another register of the target organization',
      kind: 'register',
      api: sibling.registerApi,
      ownRegisterId: sibling.register.id,
      samePlatform: true,
    },
    {
      name: "sibling organization's register key",
      description: "the register key of a register of the platform's other organization",
      kind: 'register',
      api: a2.register.registerApi,
      ownRegisterId: a2.register.register.id,
      samePlatform: true,
    },
  ];

  return {
    target: {
      platformId: platformA.platformId,
      organizationId: a1.organization.id,
      locationId: a1.location.id,
      registerId,
      fiscalUnitId: a1.register.unit.id,
      sale: { completed: completedSale, open: openSale },
      refund,
      exchange,
      void: voidOperation,
      cashMovement,
      training,
      closing,
      cashDrawerOpening,
      export: exportJob,
      platformKeyId: spareKey.id,
      organizationKeyId: a1Key.id,
    },
    owner: a1.orgApi,
    principals,
  };
}
