/**
 * JSON request bodies: strict parsing with prototype-pollution protection (Fastify's parser), but an empty body
 * counts as no body, so that `POST …/archive` with `Content-Type: application/json` and nothing else works.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors/app-error.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Text never holds NUL (U+0000): PostgreSQL cannot store it in text, and data must move between the engines
 * unchanged, so both refuse it alike.
 */
function nulRefused(param: string | null): AppError {
  return new AppError('invalid_request', {
    message: 'Text may not contain the NUL character (U+0000).',
    ...(param === null ? {} : { param }),
  });
}

/** The JSON path of the first string (or key) in `value` holding NUL, or null. */
function nulPath(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = nulPath(item, `${path}[${String(index)}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const here = path === '' ? key : `${path}.${key}`;
      if (key.includes('\u0000')) return here;
      const found = nulPath(item, here);
      if (found !== null) return found;
    }
  }
  return null;
}

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
          if (error !== null) {
            done(new AppError('invalid_json'), undefined);
            return;
          }
          // JSON can only carry NUL escaped; look for the field only when the escape is there at all.
          const nulAt = text.includes('\\u0000') ? nulPath(value, '') : null;
          if (nulAt !== null) done(nulRefused(nulAt === '' ? null : nulAt), undefined);
          else done(null, value);
        });
      },
    );
    // Query strings (decoded) are checked the same way before validation. Path ids need not be: an id with NUL
    // never has an id's shape, so it is a 404 before any query.
    app.addHook('preValidation', (request, _reply, done) => {
      const query = request.query;
      if (typeof query === 'object' && query !== null) {
        for (const [name, value] of Object.entries(query as Record<string, unknown>)) {
          if (nulPath(value, name) !== null) {
            done(nulRefused(name));
            return;
          }
        }
      }
      done();
    });
    return Promise.resolve();
  },
  { name: 'json-body' },
);
