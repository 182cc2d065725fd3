import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponse } from '../../http/schemas.js';
import { RksvReceiptParams, RksvReceiptQrCode } from './rksv-receipt.schemas.js';
import { RKSV_RECEIPTS_PATH, type RksvReceiptService } from './rksv-receipt.service.js';

export function rksvReceiptRoutes({ rksvReceipts }: { rksvReceipts: RksvReceiptService }): FastifyPluginAsyncTypebox {
  return (app) => {
    app.get(
      `${RKSV_RECEIPTS_PATH}/:urlHash`,
      {
        // Public: the customer holding the receipt opens its URL; the answer is the code printed on it.
        config: { access: 'public' },
        schema: {
          operationId: 'getRksvReceiptQrCode',
          tags: ['Receipts'],
          summary: 'The QR code text of an Austrian receipt, by its URL (no key)',
          description:
            'The URL form of the RKSV machine-readable code: an Austrian receipt may print `fiscal.verification.url` ' +
            '(set when the server has `OPENFISKAL_PUBLIC_URL`) instead of its code, and this answers GET with the ' +
            "code's QR text as `text/plain; charset=utf-8`. No key: it shows only what the receipt shows. A hash " +
            'that is not 11 Base64-URL characters is 400 `invalid_request`; one no receipt has, 404 `not_found`.',
          security: [],
          params: RksvReceiptParams,
          response: {
            200: RksvReceiptQrCode,
            400: { ...errorResponse(400), description: 'The hash is not 11 Base64-URL characters' },
            404: { ...errorResponse(404), description: 'No receipt has this hash' },
            500: errorResponse(500),
            503: errorResponse(503),
          },
        },
      },
      async (request, reply) => {
        const qr = await rksvReceipts.qrCode(request.params.urlHash);
        return reply.type('text/plain; charset=utf-8').send(qr);
      },
    );
    return Promise.resolve();
  };
}
