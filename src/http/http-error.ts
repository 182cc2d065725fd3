/**
 * Maps anything thrown while serving a request to an {@link AppError} of the catalogue. Framework and driver
 * errors never reach the client as they are: their messages can hold SQL, paths or stack traces.
 * @module
 */
import type { FastifyError } from 'fastify';
import { isDatabaseUnavailable } from '../db/errors.js';
import { AppError } from '../errors/app-error.js';
import { describeValidationError, paramOf } from './validation.js';

const HEADER_NAMES: Readonly<Record<string, string>> = {
  'idempotency-key': 'Idempotency-Key',
  'openfiskal-organization': 'OpenFiskal-Organization',
};

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && 'code' in error && typeof error.code === 'string';
}

/** Returns the catalogue error for `error`, and whether it is unexpected (to be logged with its stack). */
export function toAppError(error: unknown): { appError: AppError; unexpected: boolean } {
  if (error instanceof AppError) return { appError: error, unexpected: false };
  if (isFastifyError(error)) {
    if (error.validation !== undefined && error.validation.length > 0) {
      const [first] = error.validation;
      let param = first === undefined ? null : paramOf(first);
      if (error.validationContext === 'headers' && param !== null) param = HEADER_NAMES[param] ?? param;
      const message = first === undefined ? 'The request is invalid.' : describeValidationError(first, param);
      return {
        appError: new AppError('invalid_request', { message, ...(param === null ? {} : { param }) }),
        unexpected: false,
      };
    }
    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return { appError: new AppError('invalid_json'), unexpected: false };
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return { appError: new AppError('payload_too_large'), unexpected: false };
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return { appError: new AppError('unsupported_media_type'), unexpected: false };
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return {
          appError: new AppError('invalid_request', { message: 'Content-Length does not match the body.' }),
          unexpected: false,
        };
      case 'FST_ERR_BAD_URL':
        return { appError: new AppError('not_found', { message: 'The URL is malformed.' }), unexpected: false };
      default:
        break;
    }
  }
  if (isDatabaseUnavailable(error)) return { appError: new AppError('service_unavailable'), unexpected: true };
  return { appError: new AppError('internal_error'), unexpected: true };
}
