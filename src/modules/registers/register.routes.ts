import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery } from '../../http/schemas.js';
import { ArchiveRegisterBody, CreateRegisterBody, Register, UpdateRegisterBody } from './register.schemas.js';
import type { RegisterService } from './register.service.js';

const tags = ['Registers'];
const RegisterParams = Type.Object({ registerId: IdParam('`reg_…`') });
const LocationParams = Type.Object({ locationId: IdParam('`loc_…`') });

export function registerRoutes({ registers }: { registers: RegisterService }): FastifyPluginAsyncTypebox {
  return (app) => {
    app.post(
      '/v1/locations/:locationId/registers',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'createRegister',
          tags,
          summary: 'Create a register',
          params: LocationParams,
          body: CreateRegisterBody,
          response: { 201: Register, ...errorResponses(403, 404, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return registers.create(tenantOf(request), request.params.locationId, request.body);
      },
    );

    app.get(
      '/v1/locations/:locationId/registers',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'listRegisters',
          tags,
          summary: "List a location's registers",
          params: LocationParams,
          querystring: listQuery({}),
          response: { 200: listOf(Register, 'RegisterList'), ...errorResponses(403, 404) },
        },
      },
      (request) => registers.listByLocation(tenantOf(request), request.params.locationId, request.query),
    );

    app.get(
      '/v1/registers/:registerId',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'getRegister',
          tags,
          summary: 'Retrieve a register',
          description: 'Register keys may read their own register.',
          params: RegisterParams,
          response: { 200: Register, ...errorResponses(403, 404) },
        },
      },
      (request) => registers.get(tenantOf(request), request.params.registerId),
    );

    app.patch(
      '/v1/registers/:registerId',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'updateRegister',
          tags,
          summary: 'Update a register',
          params: RegisterParams,
          body: UpdateRegisterBody,
          response: { 200: Register, ...errorResponses(403, 404, 409, 413, 415, 422) },
        },
      },
      (request) => registers.update(tenantOf(request), request.params.registerId, request.body),
    );

    app.post(
      '/v1/registers/:registerId/archive',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'archiveRegister',
          tags,
          summary: 'Archive a register (terminal)',
          description: 'Revokes the register keys. A second archive answers 409 `register_archived`.',
          params: RegisterParams,
          body: ArchiveRegisterBody,
          response: { 200: Register, ...errorResponses(403, 404, 409, 413, 415) },
        },
      },
      (request) => registers.archive(tenantOf(request), request.params.registerId),
    );
    return Promise.resolve();
  };
}
