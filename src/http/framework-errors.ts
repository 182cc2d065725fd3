/**
 * What Fastify and Node answer on their own, before a route or our error handler runs — a malformed %-escape, a
 * path parameter over the router's limit, malformed HTTP, oversized headers, a request that never finishes — as
 * catalogue errors (api.md §1.1) like every other answer.
 * @module
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toErrorBody } from '../errors/app-error.js';
import { newRequestId } from './request-id.js';

/** Fastify's `frameworkErrors`: a malformed URL is a bad request; an id too long for the router is no such id. */
export function frameworkErrors(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  const appError =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError('not_found', { message: 'No such resource: the id is too long.' })
      : new AppError('invalid_request', { message: 'The URL is not valid (a malformed %-escape?).' });
  void reply.code(appError.status).header('x-request-id', request.id).send(toErrorBody(appError, request.id));
}

/** Node's `clientError` (the request could not be parsed or did not arrive in time): answer, then close. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // Nothing to answer on a dead socket, or when the client ended the connection in the middle of a request (it may
  // already have its answer, e.g. a 401 sent before the body): just close.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  const hungUp = error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE';
  if (!socket.writable || hungUp || current?.headersSent === true) {
    socket.destroy();
    return;
  }
  const appError =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError('request_timeout')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError('invalid_request', { message: 'The request headers are too large.' })
        : new AppError('invalid_request', { message: 'The request is not valid HTTP.' });
  const requestId = newRequestId();
  const body = JSON.stringify(toErrorBody(appError, requestId));
  socket.end(
    `HTTP/1.1 ${String(appError.status)} ${appError.status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${String(Buffer.byteLength(body))}\r\n` +
      `x-request-id: ${requestId}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}
