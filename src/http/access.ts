/**
 * Who may call a route, declared on the route itself (`config.access`). A route without a declaration refuses to
 * register, so no endpoint is ever open by omission.
 *
 * - `public`: no key (health, docs, bootstrap).
 * - `platform`: platform keys only (key management, creating and listing organizations); with
 *   `organizationParam` the organization in the path is resolved as well.
 * - `organization`: platform keys acting for an organization (header or path), or that organization's keys.
 * - `register`: as `organization`, and also register keys, but only for their own register.
 * @module
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error.js';
import type { PlatformScope, Principal, Tenant } from '../shared/tenant.js';

export type AccessLevel = 'public' | 'platform' | 'organization' | 'register';

export interface RouteAccess {
  readonly access: AccessLevel;
  /** Path parameter naming the organization (routes under /v1/organizations/{organizationId}). */
  readonly organizationParam?: string;
  /** Path parameter naming the register, checked against a register key's register. */
  readonly registerParam?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessLevel;
    organizationParam?: string;
    registerParam?: string;
  }
  interface FastifyRequest {
    principal: Principal | null;
    tenant: Tenant | null;
  }
}

/** The platform of an authenticated request (platform-level routes). */
export function platformOf(request: FastifyRequest): PlatformScope {
  if (request.principal === null) throw new AppError('unauthorized');
  return { platformId: request.principal.platformId };
}

/** The resolved organization of an authenticated organization- or register-level request. */
export function tenantOf(request: FastifyRequest): Tenant {
  if (request.tenant === null) throw new AppError('unauthorized');
  return request.tenant;
}
