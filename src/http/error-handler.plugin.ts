/**
 * Renders every error as the body of api.md §1.1, for thrown errors, unknown routes and framework failures alike.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, toErrorBody } from '../errors/app-error.js';
import { toAppError } from './http-error.js';

export const errorHandlerPlugin = fp(
  (app: FastifyInstance) => {
    app.setErrorHandler((error, request, reply) => {
      const { appError, unexpected } = toAppError(error);
      if (unexpected) request.log.error({ err: error }, 'request failed');
      void reply.code(appError.status).headers(appError.headers).send(toErrorBody(appError, request.id));
    });

    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      const error = new AppError('not_found', { message: `No route ${request.method} ${path}.` });
      void reply.code(404).send(toErrorBody(error, request.id));
    });
    return Promise.resolve();
  },
  { name: 'error-handler' },
);
