import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery } from '../../http/schemas.js';
import { CreateLocationBody, Location, UpdateLocationBody } from './location.schemas.js';
import type { LocationService } from './location.service.js';

const tags = ['Locations'];
const LocationParams = Type.Object({ locationId: IdParam('`loc_…`') });
const OrganizationParams = Type.Object({ organizationId: IdParam('`org_…`') });

export function locationRoutes({ locations }: { locations: LocationService }): FastifyPluginAsyncTypebox {
  return (app) => {
    app.post(
      '/v1/organizations/:organizationId/locations',
      {
        config: { access: 'organization', organizationParam: 'organizationId' },
        schema: {
          operationId: 'createLocation',
          tags,
          summary: 'Create a location',
          params: OrganizationParams,
          body: CreateLocationBody,
          response: { 201: Location, ...errorResponses(403, 404, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return locations.create(tenantOf(request), request.body);
      },
    );

    app.get(
      '/v1/organizations/:organizationId/locations',
      {
        config: { access: 'organization', organizationParam: 'organizationId' },
        schema: {
          operationId: 'listLocations',
          tags,
          summary: "List an organization's locations",
          params: OrganizationParams,
          querystring: listQuery({}),
          response: { 200: listOf(Location, 'LocationList'), ...errorResponses(403, 404) },
        },
      },
      (request) => locations.list(tenantOf(request), request.query),
    );

    app.get(
      '/v1/locations/:locationId',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'getLocation',
          tags,
          summary: 'Retrieve a location',
          params: LocationParams,
          response: { 200: Location, ...errorResponses(403, 404) },
        },
      },
      (request) => locations.get(tenantOf(request), request.params.locationId),
    );

    app.patch(
      '/v1/locations/:locationId',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'updateLocation',
          tags,
          summary: 'Update a location',
          params: LocationParams,
          body: UpdateLocationBody,
          response: { 200: Location, ...errorResponses(403, 404, 409, 413, 415, 422) },
        },
      },
      (request) => locations.update(tenantOf(request), request.params.locationId, request.body),
    );
    return Promise.resolve();
  };
}
