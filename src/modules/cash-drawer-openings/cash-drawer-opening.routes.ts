import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery } from '../../http/schemas.js';
import { CashDrawerOpening, LogCashDrawerOpeningBody } from './cash-drawer-opening.schemas.js';
import type { CashDrawerOpeningService } from './cash-drawer-opening.service.js';

const tags = ['Cash drawer openings'];
const RegisterParams = Type.Object({ registerId: IdParam('`reg_…`') });
const OpeningParams = Type.Object({ cashDrawerOpeningId: IdParam('`cdo_…`') });

export function cashDrawerOpeningRoutes({
  cashDrawerOpenings,
}: {
  cashDrawerOpenings: CashDrawerOpeningService;
}): FastifyPluginAsyncTypebox {
  return (app) => {
    app.post(
      '/v1/registers/:registerId/cash-drawer-openings',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'logCashDrawerOpening',
          tags,
          summary: 'Log a cash drawer opening',
          description:
            'Call it the instant the drawer opens. `occurred_at` is kept as sent (normalised to UTC); ' +
            '`received_at` is when the server got it. NO and SE need `reason` when `operation_id` is null.',
          params: RegisterParams,
          body: LogCashDrawerOpeningBody,
          response: { 201: CashDrawerOpening, ...errorResponses(403, 404, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return cashDrawerOpenings.log(tenantOf(request), request.params.registerId, request.body);
      },
    );

    app.get(
      '/v1/registers/:registerId/cash-drawer-openings',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'listCashDrawerOpenings',
          tags,
          summary: "List a register's cash drawer openings",
          description: '`from`/`to` bound `created_at` (arrival), inclusive.',
          params: RegisterParams,
          querystring: listQuery({}),
          response: { 200: listOf(CashDrawerOpening, 'CashDrawerOpeningList'), ...errorResponses(403, 404) },
        },
      },
      (request) => cashDrawerOpenings.list(tenantOf(request), request.params.registerId, request.query),
    );

    app.get(
      '/v1/cash-drawer-openings/:cashDrawerOpeningId',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'getCashDrawerOpening',
          tags,
          summary: 'Retrieve a cash drawer opening',
          params: OpeningParams,
          response: { 200: CashDrawerOpening, ...errorResponses(403, 404) },
        },
      },
      (request) => cashDrawerOpenings.get(tenantOf(request), request.params.cashDrawerOpeningId),
    );
    return Promise.resolve();
  };
}
