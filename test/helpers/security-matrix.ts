/**
 * The tenant isolation matrix: every route of the OpenAPI document, classified by who may reach what through it,
 * and the requests that aim it at the target's resources. A route missing here fails the test that lists them,
 * so a new endpoint cannot go unchecked.
 */
import type { Operation } from '../../src/modules/operations/operation.schemas.js';
import type { Principal, Target } from './security-world.js';
import { line } from './fiscal.js';

/**
 * How a route decides whose data it touches (api.md §1.2, src/http/access.ts):
 * - `platform`: platform keys only, on the platform's own resources (a path id, or none: a list or a creation);
 * - `platform-organization`: platform keys only, the organization named by the path;
 * - `organization-path`: organization level, the organization named by the path; register keys refused;
 * - `organization`: organization level, a resource id in the path; register keys refused;
 * - `register-path`: the register named by the path; a register key only on its own;
 * - `register-resource`: a resource id below a register; a register key sees only its own register's;
 * - `register-body`: the register named in the body;
 * - `register-list`: a list over the organization's registers (a register key: its own).
 */
export type Scope =
  | 'platform'
  | 'platform-list'
  | 'platform-create'
  | 'platform-organization'
  | 'organization-path'
  | 'organization'
  | 'register-path'
  | 'register-resource'
  | 'register-body'
  | 'register-list';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteCase {
  readonly scope: Scope;
  /** For `{operationId}` routes: the target's operations to aim at. */
  readonly operations?: (target: Target) => readonly Operation[];
  /** A valid body, so that what refuses the request is the tenancy check and not the schema. */
  readonly body?: (target: Target) => unknown;
  /** A query string (without `?`). */
  readonly query?: (target: Target) => string;
}

/**
 * Routes anyone may call: they show no tenant's data, or (an Austrian receipt by the URL printed on it) only what the
 * holder of a receipt already has in hand.
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /v1/openapi.json',
  'POST /v1/auth/bootstrap',
  'GET /v1/rksv-receipts/{urlHash}',
]);

const sales = (t: Target) => [t.sale.completed, t.sale.open];
const everyOperation = (t: Target) => [
  t.sale.completed,
  t.sale.open,
  t.refund,
  t.exchange,
  t.void,
  t.cashMovement,
  t.training,
];
const reason = () => ({ reason: 'probe' });
const payments = (direction: 'inbound' | 'outbound') => () => ({
  payments: [{ method: 'cash', direction, amount: 100 }],
});
const firstLine = (t: Target) => t.sale.completed.data.line_items?.[0]?.id ?? '';
const metadata = () => ({ metadata: { probe: 'yes' } });

/** Keyed by `METHOD /path/{param}` as in the OpenAPI document. */
export const ROUTE_CASES: Readonly<Record<string, RouteCase>> = {
  // Keys and organizations: the platform's own.
  'POST /v1/auth/api-keys': { scope: 'platform-create', body: () => ({ label: 'probe' }) },
  'GET /v1/auth/api-keys': { scope: 'platform-list' },
  'DELETE /v1/auth/api-keys/{keyId}': { scope: 'platform' },
  'POST /v1/organizations': { scope: 'platform-create', body: () => ({ legal_name: 'Probe GmbH', country: 'DE' }) },
  'GET /v1/organizations': { scope: 'platform-list' },
  'POST /v1/organizations/{organizationId}/api-keys': { scope: 'platform-organization', body: () => ({ label: 'x' }) },
  'GET /v1/organizations/{organizationId}/api-keys': { scope: 'platform-organization' },

  'GET /v1/organizations/{organizationId}': { scope: 'organization-path' },
  'PATCH /v1/organizations/{organizationId}': { scope: 'organization-path', body: () => ({ legal_name: 'Hijacked' }) },
  'POST /v1/organizations/{organizationId}/locations': { scope: 'organization-path', body: () => ({ name: 'X' }) },
  'GET /v1/organizations/{organizationId}/locations': { scope: 'organization-path' },

  'GET /v1/locations/{locationId}': { scope: 'organization' },
  'PATCH /v1/locations/{locationId}': { scope: 'organization', body: () => ({ name: 'Hijacked' }) },
  'POST /v1/locations/{locationId}/registers': {
    scope: 'organization',
    body: () => ({ label: 'Intruder', jurisdiction: 'DE' }),
  },
  'GET /v1/locations/{locationId}/registers': { scope: 'organization' },
  'PATCH /v1/registers/{registerId}': { scope: 'organization', body: () => ({ label: 'Hijacked' }) },
  'POST /v1/registers/{registerId}/archive': { scope: 'organization', body: () => ({}) },
  'POST /v1/registers/{registerId}/fiscal-units': {
    scope: 'organization',
    body: () => ({ issue_register_credential: true }),
  },
  'POST /v1/registers/{registerId}/fiscal-units/replace': {
    scope: 'organization',
    body: () => ({ reason: 'probe', issue_register_credential: true }),
  },
  'POST /v1/fiscal-units/{fiscalUnitId}/recover': { scope: 'organization', body: () => ({}) },
  'POST /v1/fiscal-units/{fiscalUnitId}/decommission': { scope: 'organization', body: reason },
  'POST /v1/fiscal-units/{fiscalUnitId}/simulate-failure': { scope: 'organization', body: () => ({ mode: 'fail' }) },

  'GET /v1/registers/{registerId}': { scope: 'register-path' },
  'GET /v1/registers/{registerId}/journal': { scope: 'register-path' },
  'GET /v1/registers/{registerId}/journal/verify': { scope: 'register-path' },
  'GET /v1/registers/{registerId}/fiscal-units': { scope: 'register-path' },
  'POST /v1/registers/{registerId}/sales': { scope: 'register-path', body: () => ({ line_items: [line('X', 1, 1)] }) },
  'GET /v1/registers/{registerId}/sales': { scope: 'register-path' },
  'POST /v1/registers/{registerId}/refunds': {
    scope: 'register-path',
    body: (t) => ({ original_operation_id: t.sale.completed.id }),
  },
  'GET /v1/registers/{registerId}/refunds': { scope: 'register-path' },
  'POST /v1/registers/{registerId}/exchanges': {
    scope: 'register-path',
    body: (t) => ({
      original_operation_id: t.sale.completed.id,
      returned_line_items: [{ line_item_id: firstLine(t), quantity: 1 }],
      line_items: [line('X', 1, 1)],
    }),
  },
  'GET /v1/registers/{registerId}/exchanges': { scope: 'register-path' },
  'POST /v1/registers/{registerId}/voids': {
    scope: 'register-path',
    body: (t) => ({ original_operation_id: t.sale.completed.id, reason: 'probe' }),
  },
  'POST /v1/registers/{registerId}/cash-movements': {
    scope: 'register-path',
    body: () => ({ direction: 'out', kind: 'pay_out', amount: 100, reason: 'probe' }),
  },
  'GET /v1/registers/{registerId}/operations': { scope: 'register-path' },
  'POST /v1/registers/{registerId}/cash-drawer-openings': {
    scope: 'register-path',
    body: () => ({ occurred_at: new Date().toISOString(), reason: 'probe' }),
  },
  'GET /v1/registers/{registerId}/cash-drawer-openings': { scope: 'register-path' },
  'GET /v1/registers/{registerId}/outages': { scope: 'register-path' },
  'POST /v1/registers/{registerId}/null-receipts': { scope: 'register-path', body: () => ({}) },
  'POST /v1/registers/{registerId}/closings': { scope: 'register-path', body: () => ({ type: 'daily' }) },
  'GET /v1/registers/{registerId}/closings': { scope: 'register-path' },

  'GET /v1/fiscal-units/{fiscalUnitId}': { scope: 'register-resource' },
  'GET /v1/sales/{operationId}': { scope: 'register-resource', operations: sales },
  'PATCH /v1/sales/{operationId}': { scope: 'register-resource', operations: sales, body: metadata },
  'POST /v1/sales/{operationId}/complete': {
    scope: 'register-resource',
    operations: sales,
    body: payments('inbound'),
  },
  'POST /v1/sales/{operationId}/cancel': { scope: 'register-resource', operations: sales, body: reason },
  'GET /v1/refunds/{operationId}': { scope: 'register-resource', operations: (t) => [t.refund] },
  'PATCH /v1/refunds/{operationId}': { scope: 'register-resource', operations: (t) => [t.refund], body: metadata },
  'POST /v1/refunds/{operationId}/complete': {
    scope: 'register-resource',
    operations: (t) => [t.refund],
    body: payments('outbound'),
  },
  'POST /v1/refunds/{operationId}/cancel': { scope: 'register-resource', operations: (t) => [t.refund], body: reason },
  'GET /v1/exchanges/{operationId}': { scope: 'register-resource', operations: (t) => [t.exchange] },
  'PATCH /v1/exchanges/{operationId}': {
    scope: 'register-resource',
    operations: (t) => [t.exchange],
    body: metadata,
  },
  'POST /v1/exchanges/{operationId}/complete': {
    scope: 'register-resource',
    operations: (t) => [t.exchange],
    body: payments('inbound'),
  },
  'POST /v1/exchanges/{operationId}/cancel': {
    scope: 'register-resource',
    operations: (t) => [t.exchange],
    body: reason,
  },
  'GET /v1/voids/{operationId}': { scope: 'register-resource', operations: (t) => [t.void] },
  'GET /v1/cash-movements/{operationId}': { scope: 'register-resource', operations: (t) => [t.cashMovement] },
  'GET /v1/operations/{operationId}': { scope: 'register-resource', operations: everyOperation },
  'GET /v1/operations/{operationId}/receipt': { scope: 'register-resource', operations: everyOperation },
  'GET /v1/operations/{operationId}/receipt.pdf': { scope: 'register-resource', operations: everyOperation },
  'GET /v1/cash-drawer-openings/{cashDrawerOpeningId}': { scope: 'register-resource' },
  'GET /v1/closings/{closingId}': { scope: 'register-resource' },
  'POST /v1/closings/{closingId}/retry': { scope: 'register-resource', body: () => ({}) },
  'GET /v1/closings/{closingId}/summary/recompute': { scope: 'register-resource' },
  'GET /v1/closings/{closingId}/pdf': { scope: 'register-resource' },
  'GET /v1/exports/{exportId}': { scope: 'register-resource' },
  'GET /v1/exports/{exportId}/download': { scope: 'register-resource' },

  'POST /v1/exports': {
    scope: 'register-body',
    body: (t) => ({
      type: 'tse_tar',
      register_id: t.registerId,
      from: new Date(Date.now() - 86_400_000).toISOString(),
      to: new Date().toISOString(),
    }),
  },
  'GET /v1/exports': { scope: 'register-list' },
};

/** What a principal must get: a refusal (status and code), or its own data only (`own`), or nothing to test. */
export type Expectation =
  | { readonly kind: 'refused'; readonly status: 400 | 403 | 404; readonly code: string }
  | { readonly kind: 'own'; readonly status: 200 | 201 }
  | { readonly kind: 'owner' };

const notFound = { kind: 'refused', status: 404, code: 'not_found' } as const;
const forbidden = { kind: 'refused', status: 403, code: 'forbidden' } as const;
/** A platform key acting for one organization while the path names another of its own: a contradiction. */
const contradiction = { kind: 'refused', status: 400, code: 'invalid_request' } as const;

/**
 * The answer api.md §1.2 requires: 404 for another tenant's id (never revealing it exists), 403 for a key of the
 * wrong kind (an organization or register key on platform endpoints, a register key on organization endpoints or
 * on another register's path), and for lists and creations without a foreign id, the caller's own data.
 */
export function expectation(scope: Scope, principal: Principal): Expectation {
  switch (scope) {
    case 'platform':
    case 'platform-list':
    case 'platform-create':
      if (principal.kind !== 'platform') return forbidden;
      // The target's own platform owns these: nothing to refuse.
      if (principal.samePlatform) return { kind: 'owner' };
      if (scope === 'platform') return notFound;
      return { kind: 'own', status: scope === 'platform-list' ? 200 : 201 };
    case 'platform-organization':
      if (principal.kind !== 'platform') return forbidden;
      return principal.samePlatform ? contradiction : notFound;
    case 'organization-path':
      if (principal.kind === 'register') return forbidden;
      return principal.samePlatform && principal.kind === 'platform' ? contradiction : notFound;
    case 'organization':
    case 'register-path':
    case 'register-body':
      return principal.kind === 'register' ? forbidden : notFound;
    case 'register-resource':
      return notFound;
    case 'register-list':
      return { kind: 'own', status: 200 };
  }
}

export interface Probe {
  readonly method: Method;
  readonly url: string;
  readonly body?: unknown;
}

/** The requests of one route aimed at the target: its path filled with the target's ids (one per operation). */
export function probesOf(route: string, routeCase: RouteCase, target: Target): Probe[] {
  const [method, template] = route.split(' ') as [Method, string];
  const ids: Record<string, string> = {
    organizationId: target.organizationId,
    locationId: target.locationId,
    registerId: target.registerId,
    fiscalUnitId: target.fiscalUnitId,
    cashDrawerOpeningId: target.cashDrawerOpening.id,
    closingId: target.closing.id,
    exportId: target.export.id,
    keyId: target.platformKeyId,
  };
  const operations = routeCase.operations?.(target) ?? [undefined];
  return operations.map((operation) => {
    const path = template.replace(/\{(\w+)\}/g, (_match, name: string) => {
      const value = name === 'operationId' ? operation?.id : ids[name];
      if (value === undefined) throw new Error(`${route}: no target id for {${name}}`);
      return value;
    });
    const query = routeCase.query?.(target);
    const url = query === undefined ? path : `${path}?${query}`;
    const body = routeCase.body?.(target);
    return body === undefined ? { method, url } : { method, url, body };
  });
}

/** Every id of the target: none may show up in an answer to a neighbour, unless the request itself named it. */
export function targetIds(target: Target): string[] {
  return [
    target.platformId,
    target.organizationId,
    target.locationId,
    target.registerId,
    target.fiscalUnitId,
    ...everyOperation(target).map((operation) => operation.id),
    target.closing.id,
    target.cashDrawerOpening.id,
    target.export.id,
    target.platformKeyId,
    target.organizationKeyId,
  ];
}
