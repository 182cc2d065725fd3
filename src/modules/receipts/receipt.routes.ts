import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam } from '../../http/schemas.js';
import { Receipt } from './receipt.schemas.js';
import type { ReceiptService } from './receipt.service.js';

const tags = ['Receipts'];
const OperationParams = Type.Object({ operationId: IdParam('`op_…`') });

export function receiptRoutes({ receipts }: { receipts: ReceiptService }): FastifyPluginAsyncTypebox {
  return (app) => {
    app.get(
      '/v1/operations/:operationId/receipt',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'getReceipt',
          tags,
          summary: 'The canonical JSON receipt of a completed operation',
          params: OperationParams,
          response: { 200: Receipt, ...errorResponses(403, 404, 409) },
        },
      },
      (request) => receipts.get(tenantOf(request), request.params.operationId),
    );

    app.get(
      '/v1/operations/:operationId/receipt.pdf',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'getReceiptPdf',
          tags,
          summary: 'The 80 mm receipt PDF',
          description: 'Every field the jurisdiction requires, and the QR code.',
          params: OperationParams,
          response: {
            200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'application/pdf' }),
            ...errorResponses(403, 404, 409),
          },
        },
      },
      async (request, reply) => {
        const pdf = await receipts.pdf(tenantOf(request), request.params.operationId);
        return reply
          .type('application/pdf')
          .header('content-disposition', `inline; filename="${request.params.operationId}.pdf"`)
          .send(pdf);
      },
    );
    return Promise.resolve();
  };
}
