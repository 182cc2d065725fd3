import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery } from '../../http/schemas.js';
import { CLOSING_TYPES, Closing, ClosingSummarySchema, TriggerClosingBody } from './closing.schemas.js';
import type { ClosingService } from './closing.service.js';

const tags = ['Closings'];
const RegisterParams = Type.Object({ registerId: IdParam('`reg_…`') });
const ClosingParams = Type.Object({ closingId: IdParam('`cls_…`') });

export function closingRoutes({ closings }: { closings: ClosingService }): FastifyPluginAsyncTypebox {
  return (app) => {
    app.post(
      '/v1/registers/:registerId/closings',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'triggerClosing',
          tags,
          summary: 'Trigger a closing',
          description:
            'Cuts the period since the previous closing of the type, adds up the summary and has the fiscal unit ' +
            'sign it (DE: a TSE transaction; the daily closing is the DSFinV-K Kassenabschluss and creates its ' +
            'export). `daily`, `monthly` and `annual` refuse open operations unless `cancel_open_operations`. ' +
            'When the fiscal unit fails, the closing is answered `failed` and retried with backoff.',
          params: RegisterParams,
          body: TriggerClosingBody,
          response: { 201: Closing, ...errorResponses(403, 404, 409, 413, 415, 422, 502) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return closings.trigger(tenantOf(request), request.params.registerId, request.body);
      },
    );

    app.get(
      '/v1/registers/:registerId/closings',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'listClosings',
          tags,
          summary: "List a register's closings",
          params: RegisterParams,
          querystring: listQuery({ type: Type.Optional(Type.Enum([...CLOSING_TYPES], { type: 'string' })) }),
          response: { 200: listOf(Closing, 'ClosingList'), ...errorResponses(403, 404) },
        },
      },
      (request) => closings.list(tenantOf(request), request.params.registerId, request.query),
    );

    app.get(
      '/v1/closings/:closingId',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'getClosing',
          tags,
          summary: 'Retrieve a closing',
          params: ClosingParams,
          response: { 200: Closing, ...errorResponses(403, 404) },
        },
      },
      (request) => closings.get(tenantOf(request), request.params.closingId),
    );

    app.post(
      '/v1/closings/:closingId/retry',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'retryClosing',
          tags,
          summary: 'Retry a failed closing now',
          description: 'Answers the closing, `completed` or again `failed`; 409 `closing_not_failed` otherwise.',
          params: ClosingParams,
          body: Type.Union([Type.Object({}, { additionalProperties: false }), Type.Null()]),
          response: { 200: Closing, ...errorResponses(403, 404, 409, 413, 415) },
        },
      },
      (request) => closings.retry(tenantOf(request), request.params.closingId),
    );

    app.get(
      '/v1/closings/:closingId/summary/recompute',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'recomputeClosingSummary',
          tags,
          summary: "Recompute a closing's summary from its operations",
          description:
            'Adds the period up again operation by operation, bypassing the pre-aggregated totals; it must equal ' +
            'the stored `summary`. For audits; reads every operation of the period.',
          params: ClosingParams,
          response: { 200: ClosingSummarySchema, ...errorResponses(403, 404) },
        },
      },
      (request) => closings.recompute(tenantOf(request), request.params.closingId),
    );

    app.get(
      '/v1/closings/:closingId/pdf',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'getClosingPdf',
          tags,
          summary: 'The Z-report PDF (A4)',
          params: ClosingParams,
          response: {
            200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'application/pdf' }),
            ...errorResponses(403, 404),
          },
        },
      },
      async (request, reply) => {
        const pdf = await closings.pdf(tenantOf(request), request.params.closingId);
        return reply
          .type('application/pdf')
          .header('content-disposition', `inline; filename="${request.params.closingId}.pdf"`)
          .send(pdf);
      },
    );
    return Promise.resolve();
  };
}
