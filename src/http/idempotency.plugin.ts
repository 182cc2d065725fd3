/**
 * Wraps the handler of every POST and PATCH route: with an `Idempotency-Key` header the request is claimed, run
 * in one transaction together with storing its response, and replayed byte for byte on a retry (see the
 * idempotency service for the guarantees). Without the header nothing changes.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';
import type { UnitOfWork } from '../db/database.js';
import { AppError, toErrorBody } from '../errors/app-error.js';
import {
  fingerprint,
  LeaseLostError,
  type IdempotencyService,
  type StoredResponse,
} from '../modules/idempotency/idempotency.service.js';
import { toAppError } from './http-error.js';

export interface IdempotencyPluginDeps {
  readonly idempotency: Pick<IdempotencyService, 'claim' | 'complete' | 'release'>;
  readonly unitOfWork: UnitOfWork;
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const KEY_SHAPE = /^[\x20-\x7E]{1,255}$/;

function readKey(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY_SHAPE.test(value)) {
    throw new AppError('invalid_request', {
      message: 'Idempotency-Key must be 1 to 255 printable ASCII characters, sent once.',
      param: 'Idempotency-Key',
    });
  }
  return value;
}

function asText(serialized: string | Buffer | ArrayBuffer): string {
  if (typeof serialized === 'string') return serialized;
  return Buffer.from(serialized instanceof ArrayBuffer ? new Uint8Array(serialized) : serialized).toString('utf8');
}

function send(reply: FastifyReply, response: StoredResponse, replayed: boolean): FastifyReply {
  if (replayed) void reply.header('idempotent-replayed', 'true');
  return reply.code(response.status).type(response.contentType).send(response.body);
}

export const idempotencyPlugin = fp(
  (app: FastifyInstance, { idempotency, unitOfWork }: IdempotencyPluginDeps) => {
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      if (!methods.some((method) => method === 'POST' || method === 'PATCH')) return;
      const handler: RouteHandlerMethod = route.handler;

      route.handler = async function idempotentHandler(this: FastifyInstance, request, reply) {
        const key = readKey(request);
        if (key === undefined) return handler.call(this, request, reply);

        const organizationId = request.tenant?.organizationId ?? null;
        const scope =
          request.principal === null ? 'anonymous' : `${request.principal.platformId}/${organizationId ?? '-'}`;
        const claim = await idempotency.claim(
          scope,
          key,
          fingerprint({ method: request.method, path: request.url, organizationId, body: request.body }),
        );
        switch (claim.kind) {
          case 'replay':
            return send(reply, claim.response, true);
          case 'conflict':
            throw new AppError('idempotency_key_conflict', { param: 'Idempotency-Key' });
          case 'in_progress':
            throw new AppError('idempotency_request_in_progress', { param: 'Idempotency-Key' });
          case 'claimed':
            break;
        }

        let response: StoredResponse;
        try {
          response = await unitOfWork.transaction(async () => {
            const payload: unknown = await handler.call(this, request, reply);
            const stored: StoredResponse = {
              status: reply.statusCode,
              contentType: JSON_CONTENT_TYPE,
              body: asText(reply.serialize(payload)),
            };
            await idempotency.complete(scope, key, claim.leaseToken, stored);
            return stored;
          });
        } catch (error) {
          if (error instanceof LeaseLostError) throw error;
          const { appError } = toAppError(error);
          if (appError.status >= 500) {
            // Nothing was committed; forget the claim so that a retry executes afresh.
            await idempotency.release(scope, key, claim.leaseToken).catch((releaseError: unknown) => {
              request.log.warn({ err: releaseError }, 'could not release idempotency claim; it expires with its lease');
            });
            throw error;
          }
          // A refusal (4xx) changed nothing; store it so that a retry gets the same answer.
          const refused: StoredResponse = {
            status: appError.status,
            contentType: JSON_CONTENT_TYPE,
            body: JSON.stringify(toErrorBody(appError, request.id)),
          };
          await unitOfWork.transaction(() => idempotency.complete(scope, key, claim.leaseToken, refused));
          void reply.headers(appError.headers);
          return send(reply, refused, false);
        }
        return send(reply, response, false);
      };
    });
    return Promise.resolve();
  },
  { name: 'idempotency' },
);
