/**
 * JSON request bodies: strict parsing with prototype-pollution protection (Fastify's parser), but an empty body
 * counts as no body, so that `POST …/archive` with `Content-Type: application/json` and nothing else works.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors/app-error.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export const jsonBodyPlugin = fp(
  (app: FastifyInstance) => {
    const parse = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.removeContentTypeParser('text/plain');
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: MAX_BODY_BYTES },
      (request, body, done) => {
        const text = typeof body === 'string' ? body : body.toString('utf8');
        if (text.trim() === '') {
          done(null, undefined);
          return;
        }
        void parse(request, text, (error: Error | null, value?: unknown) => {
          if (error !== null) done(new AppError('invalid_json'), undefined);
          else done(null, value);
        });
      },
    );
    return Promise.resolve();
  },
  { name: 'json-body' },
);
