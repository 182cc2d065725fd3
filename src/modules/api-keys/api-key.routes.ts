import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { platformOf, tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery } from '../../http/schemas.js';
import { ApiKey, BootstrapBody, CreateKeyBody } from './api-key.schemas.js';
import type { ApiKeyService } from './api-key.service.js';

export interface ApiKeyRoutesDeps {
  readonly apiKeys: ApiKeyService;
}

const tags = ['Auth'];
const ApiKeyList = listOf(ApiKey, 'ApiKeyList');

export function apiKeyRoutes({ apiKeys }: ApiKeyRoutesDeps): FastifyPluginAsyncTypebox {
  return (app) => {
    app.post(
      '/v1/auth/bootstrap',
      {
        config: { access: 'public' },
        schema: {
          operationId: 'bootstrap',
          tags,
          summary: 'Exchange the setup token for the first platform key',
          description: 'Unauthenticated. The setup token works once; a consumed or expired token gets 401.',
          security: [],
          body: BootstrapBody,
          response: { 201: ApiKey, ...errorResponses(403, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return apiKeys.bootstrap(request.body);
      },
    );

    app.post(
      '/v1/auth/api-keys',
      {
        config: { access: 'platform' },
        schema: {
          operationId: 'createPlatformApiKey',
          tags,
          summary: 'Create a platform key',
          description: 'For rotation: create the new key, switch over, then revoke the old one.',
          body: CreateKeyBody,
          response: { 201: ApiKey, ...errorResponses(403, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return apiKeys.createPlatformKey(platformOf(request), request.body);
      },
    );

    app.get(
      '/v1/auth/api-keys',
      {
        config: { access: 'platform' },
        schema: {
          operationId: 'listPlatformApiKeys',
          tags,
          summary: "List the platform's active platform keys (masked)",
          querystring: listQuery({}),
          response: { 200: ApiKeyList, ...errorResponses(403) },
        },
      },
      (request) => apiKeys.listPlatformKeys(platformOf(request), request.query),
    );

    app.delete(
      '/v1/auth/api-keys/:keyId',
      {
        config: { access: 'platform' },
        schema: {
          operationId: 'revokeApiKey',
          tags,
          summary: 'Revoke a key of the platform',
          description: 'Platform, organization or register key. It fails with 401 from its next use. Idempotent.',
          params: Type.Object({ keyId: IdParam('`key_…`') }),
          response: { 200: ApiKey, ...errorResponses(403, 404) },
        },
      },
      (request) => apiKeys.revokeKey(platformOf(request), request.params.keyId),
    );

    app.post(
      '/v1/organizations/:organizationId/api-keys',
      {
        config: { access: 'platform', organizationParam: 'organizationId' },
        schema: {
          operationId: 'createOrganizationApiKey',
          tags,
          summary: 'Create an organization key',
          description: 'Platform keys only. The new key acts for this organization alone.',
          params: Type.Object({ organizationId: IdParam('`org_…`') }),
          body: CreateKeyBody,
          response: { 201: ApiKey, ...errorResponses(403, 404, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return apiKeys.createOrganizationKey(tenantOf(request), request.body);
      },
    );

    app.get(
      '/v1/organizations/:organizationId/api-keys',
      {
        config: { access: 'platform', organizationParam: 'organizationId' },
        schema: {
          operationId: 'listOrganizationApiKeys',
          tags,
          summary: "List the organization's active keys (masked)",
          description: 'Platform keys only.',
          params: Type.Object({ organizationId: IdParam('`org_…`') }),
          querystring: listQuery({}),
          response: { 200: ApiKeyList, ...errorResponses(403, 404) },
        },
      },
      (request) => apiKeys.listOrganizationKeys(tenantOf(request), request.query),
    );
    return Promise.resolve();
  };
}
