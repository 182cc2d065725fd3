import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Database } from '../../db/database.js';
import { AppError } from '../../errors/app-error.js';
import { errorResponse } from '../../http/schemas.js';

const Status = Type.Object({ status: Type.Literal('ok') });

export interface HealthRoutesDeps {
  readonly database: Pick<Database, 'ping'>;
}

export function healthRoutes({ database }: HealthRoutesDeps): FastifyPluginAsyncTypebox {
  return (app) => {
    app.get(
      '/healthz',
      {
        config: { access: 'public' },
        schema: {
          operationId: 'getHealth',
          tags: ['System'],
          summary: 'Liveness: the process answers',
          security: [],
          response: { 200: Status },
        },
      },
      () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        config: { access: 'public' },
        schema: {
          operationId: 'getReadiness',
          tags: ['System'],
          summary: 'Readiness: the database answers',
          security: [],
          response: { 200: Status, 503: errorResponse(503) },
        },
      },
      async () => {
        try {
          await database.ping();
        } catch {
          throw new AppError('service_unavailable', { message: 'The database does not answer.' });
        }
        return { status: 'ok' as const };
      },
    );
    return Promise.resolve();
  };
}
