/** Assertions shared by the API tests. */
import { expect } from 'vitest';
import type { ErrorBody } from '../../src/errors/app-error.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors/codes.js';
import type { ApiResponse } from './api-client.js';

const REQUEST_ID = /^req_[0-9a-f]{20}$/;

/**
 * Asserts an error answer of api.md §1.1: the status and code, the exact set of fields, `retryable` as the catalogue
 * says, a request id equal to the `X-Request-Id` header, JSON content, and `param` when given. Returns the body.
 */
export function expectError(
  response: ApiResponse<unknown>,
  status: number,
  code: ErrorCode,
  param?: string | null,
): ErrorBody {
  expect(response.status, response.text).toBe(status);
  const body = response.body as ErrorBody;
  expect(Object.keys(body).sort()).toEqual([
    'code',
    'fiscal_errors',
    'message',
    'object',
    'param',
    'request_id',
    'retryable',
  ]);
  expect(body).toMatchObject({ object: 'error', code, fiscal_errors: null });
  expect(body.retryable).toBe(ERROR_CATALOGUE[code].retryable);
  expect(body.message.length).toBeGreaterThan(0);
  expect(body.request_id).toMatch(REQUEST_ID);
  if (response.headers['idempotent-replayed'] === undefined) {
    expect(response.headers['x-request-id']).toBe(body.request_id);
  }
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  if (param !== undefined) expect(body.param).toBe(param);
  return body;
}
