import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery } from '../../http/schemas.js';
import { Outage, OutageListFilters } from './outage.schemas.js';
import type { OutageService } from './outage.service.js';

const tags = ['Fiscal units'];
const RegisterParams = Type.Object({ registerId: IdParam('`reg_…`') });

export function outageRoutes({ outages }: { outages: OutageService }): FastifyPluginAsyncTypebox {
  return (app) => {
    app.get(
      '/v1/registers/:registerId/outages',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'listOutages',
          tags,
          summary: "List the outages of a register's fiscal units",
          description:
            'An outage lasts from the first signing its fiscal unit failed to the first signing after it ' +
            '(`ended_at` null while it lasts). `report_required` says whether it lasted long enough that the ' +
            'jurisdiction requires it to be reported to the tax office (AT: more than 48 hours, through ' +
            'FinanzOnline, and again when the unit works again); the server does not report it itself. ' +
            '`from`/`to` bound `created_at` (the start of the outage), inclusive.',
          params: RegisterParams,
          querystring: listQuery(OutageListFilters),
          response: { 200: listOf(Outage, 'OutageList'), ...errorResponses(403, 404) },
        },
      },
      (request) => outages.list(tenantOf(request), request.params.registerId, request.query),
    );
    return Promise.resolve();
  };
}
