/**
 * Authentication and tenancy (api.md §1.2), run before the body is read:
 *
 * 1. the key (Bearer, or `X-Register-Api-Key` for register keys) → 401 if it is not a live key of this server;
 * 2. the route's access level → 403 for a key of the wrong kind or another register;
 * 3. the organization acted for: a platform key names it in `OpenFiskal-Organization` (400 without it) or in the
 *    path, and it must be one of the platform's (404 otherwise); organization and register keys are bound to
 *    theirs (naming another is a 404, like any foreign id).
 * @module
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import fp from 'fastify-plugin';
import { AppError } from '../errors/app-error.js';
import type { ApiKeyService } from '../modules/api-keys/api-key.service.js';
import type { OrganizationService } from '../modules/organizations/organization.service.js';
import type { Principal } from '../shared/tenant.js';
import type { AccessLevel } from './access.js';

export interface AuthPluginDeps {
  readonly apiKeys: Pick<ApiKeyService, 'authenticate'>;
  readonly organizations: Pick<OrganizationService, 'belongsToPlatform'>;
}

const ORGANIZATION_HEADER = 'openfiskal-organization';

/** Fastify's logger type does not show pino's `setBindings`, which the server's logger has. */
function canBind(log: FastifyBaseLogger): log is FastifyBaseLogger & Pick<Logger, 'setBindings'> {
  return typeof (log as Partial<Pick<Logger, 'setBindings'>>).setBindings === 'function';
}

function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    // A malformed Authorization header is a missing key.
    return match?.[1] ?? '';
  }
  const registerKey = request.headers['x-register-api-key'];
  if (typeof registerKey === 'string') return registerKey.startsWith('ofk_reg_') ? registerKey.trim() : '';
  return undefined;
}

function singleHeader(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (Array.isArray(value)) {
    throw new AppError('invalid_request', { message: `Send ${name} once.`, param: 'OpenFiskal-Organization' });
  }
  return value;
}

function pathParam(request: FastifyRequest, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const params = request.params as Record<string, string | undefined>;
  return params[name];
}

export const authPlugin = fp(
  (app: FastifyInstance, deps: AuthPluginDeps) => {
    app.decorateRequest('principal', null);
    app.decorateRequest('tenant', null);

    // Default deny: every route states who may call it.
    app.addHook('onRoute', (route) => {
      if (route.config?.access !== undefined) return;
      if (route.url.startsWith('/docs')) {
        route.config = { ...route.config, access: 'public' };
        return;
      }
      throw new Error(`route ${route.method.toString()} ${route.url} declares no config.access`);
    });

    /**
     * The organization a request acts for. The path (routes under /v1/organizations/{id}) is checked first, so
     * that a foreign id there is a 404 whatever the header says; a header naming another organization than the
     * path is then a contradiction (400).
     */
    async function resolveOrganization(request: FastifyRequest, principal: Principal): Promise<string> {
      const config = request.routeOptions.config;
      const header = singleHeader(request, ORGANIZATION_HEADER);
      const fromPath = pathParam(request, config.organizationParam);
      const named = fromPath ?? header;
      const param = fromPath === undefined ? { param: 'OpenFiskal-Organization' } : {};
      let organizationId: string;
      if (principal.kind === 'platform') {
        if (named === undefined) {
          throw new AppError('organization_header_required', { param: 'OpenFiskal-Organization' });
        }
        if (!(await deps.organizations.belongsToPlatform(principal.platformId, named))) {
          throw new AppError('not_found', { message: `No such organization: ${named}`, ...param });
        }
        organizationId = named;
      } else {
        if (principal.organizationId === null) throw new AppError('forbidden');
        if (named !== undefined && named !== principal.organizationId) {
          throw new AppError('not_found', { message: `No such organization: ${named}`, ...param });
        }
        organizationId = principal.organizationId;
      }
      if (fromPath !== undefined && header !== undefined && header !== fromPath) {
        throw new AppError('invalid_request', {
          message: 'OpenFiskal-Organization names a different organization than the path.',
          param: 'OpenFiskal-Organization',
        });
      }
      return organizationId;
    }

    async function resolveTenant(request: FastifyRequest, principal: Principal): Promise<void> {
      const organizationId = await resolveOrganization(request, principal);
      request.tenant = { platformId: principal.platformId, organizationId, registerId: principal.registerId };
    }

    async function authorize(request: FastifyRequest, access: AccessLevel, principal: Principal): Promise<void> {
      switch (access) {
        case 'public':
          return;
        case 'platform':
          if (principal.kind !== 'platform') {
            throw new AppError('forbidden', { message: 'Only platform keys may call this endpoint.' });
          }
          // Platform endpoints under /v1/organizations/{id} (organization keys) also resolve that organization.
          if (request.routeOptions.config.organizationParam !== undefined) await resolveTenant(request, principal);
          return;
        case 'organization':
        case 'register': {
          if (principal.kind === 'register') {
            const registerId = pathParam(request, request.routeOptions.config.registerParam);
            if (access === 'organization' || (registerId !== undefined && registerId !== principal.registerId)) {
              throw new AppError('forbidden', { message: 'A register key may only act on its own register.' });
            }
          }
          await resolveTenant(request, principal);
          return;
        }
      }
    }

    app.addHook('onRequest', async (request) => {
      const access = request.routeOptions.config.access;
      // Unknown routes have no access rule; they answer 404 from the not-found handler.
      if (access === undefined || access === 'public') return;
      const principal = await deps.apiKeys.authenticate(presentedKey(request));
      request.principal = principal;
      await authorize(request, access, principal);
      const caller = { platform_id: principal.platformId, key_id: principal.keyId };
      // Added to the request's own logger (pino's), not a child of it: a second child per request made every line
      // it wrote (the request's completion at least) about twice as dear to format.
      if (canBind(request.log)) request.log.setBindings(caller);
      else request.log = request.log.child(caller);
    });
    return Promise.resolve();
  },
  { name: 'auth' },
);
