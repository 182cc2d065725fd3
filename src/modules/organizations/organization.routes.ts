import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { platformOf, tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery } from '../../http/schemas.js';
import { CreateOrganizationBody, Organization, UpdateOrganizationBody } from './organization.schemas.js';
import type { OrganizationService } from './organization.service.js';

const tags = ['Organizations'];
const Params = Type.Object({ organizationId: IdParam('`org_…`') });

export function organizationRoutes({
  organizations,
}: {
  organizations: OrganizationService;
}): FastifyPluginAsyncTypebox {
  return (app) => {
    app.post(
      '/v1/organizations',
      {
        config: { access: 'platform' },
        schema: {
          operationId: 'createOrganization',
          tags,
          summary: 'Create an organization (a merchant)',
          body: CreateOrganizationBody,
          response: { 201: Organization, ...errorResponses(403, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return organizations.create(platformOf(request), request.body);
      },
    );

    app.get(
      '/v1/organizations',
      {
        config: { access: 'platform' },
        schema: {
          operationId: 'listOrganizations',
          tags,
          summary: "List the platform's organizations",
          querystring: listQuery({}),
          response: { 200: listOf(Organization, 'OrganizationList'), ...errorResponses(403) },
        },
      },
      (request) => organizations.list(platformOf(request), request.query),
    );

    app.get(
      '/v1/organizations/:organizationId',
      {
        config: { access: 'organization', organizationParam: 'organizationId' },
        schema: {
          operationId: 'getOrganization',
          tags,
          summary: 'Retrieve an organization',
          params: Params,
          response: { 200: Organization, ...errorResponses(403, 404) },
        },
      },
      (request) => organizations.get(tenantOf(request)),
    );

    app.patch(
      '/v1/organizations/:organizationId',
      {
        config: { access: 'organization', organizationParam: 'organizationId' },
        schema: {
          operationId: 'updateOrganization',
          tags,
          summary: 'Update an organization',
          description: 'Fields not sent stay as they are; `null` clears an optional field.',
          params: Params,
          body: UpdateOrganizationBody,
          response: { 200: Organization, ...errorResponses(403, 404, 409, 413, 415, 422) },
        },
      },
      (request) => organizations.update(tenantOf(request), request.body),
    );
    return Promise.resolve();
  };
}
