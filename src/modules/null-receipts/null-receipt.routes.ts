import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam } from '../../http/schemas.js';
import { IssueNullReceiptBody, NullReceipt } from './null-receipt.schemas.js';
import type { NullReceiptService } from './null-receipt.service.js';

const tags = ['Receipts'];
const RegisterParams = Type.Object({ registerId: IdParam('`reg_…`') });

export function nullReceiptRoutes({ nullReceipts }: { nullReceipts: NullReceiptService }): FastifyPluginAsyncTypebox {
  return (app) => {
    app.post(
      '/v1/registers/:registerId/null-receipts',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'issueNullReceipt',
          tags,
          summary: 'Issue a null receipt',
          description:
            "A receipt with zero amounts that the register's fiscal unit signs, outside any operation (AT: the " +
            'Nullbeleg of the RKSV, e.g. to check the signature creation unit). Only AT registers have one; others ' +
            'answer 422 `regime_not_supported`. Send an `Idempotency-Key` to retry safely: a replay issues no ' +
            'second receipt.',
          params: RegisterParams,
          body: IssueNullReceiptBody,
          response: { 201: NullReceipt, ...errorResponses(403, 404, 409, 413, 415, 422, 502) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return nullReceipts.issue(tenantOf(request), request.params.registerId, request.body);
      },
    );
    return Promise.resolve();
  };
}
