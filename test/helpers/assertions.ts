/** Assertions shared by the API tests. */
import { expect } from 'vitest';
import type { ErrorBody } from '../../src/errors/app-error.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors/codes.js';
import type { ApiResponse } from './api-client.js';

const REQUEST_ID = /^req_[0-9a-f]{20}$/;

/** The §1.1 envelope every error shares: status, code, the exact set of fields, request id = `X-Request-Id`. */
function expectErrorEnvelope(response: ApiResponse<unknown>, status: number, code: ErrorCode): ErrorBody {
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
  expect(body).toMatchObject({ object: 'error', code });
  expect(body.request_id).toMatch(REQUEST_ID);
  // A replayed answer carries the first request's id in its body.
  if (response.headers['idempotent-replayed'] === undefined) {
    expect(response.headers['x-request-id']).toBe(body.request_id);
  }
  return body;
}

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
  const body = expectErrorEnvelope(response, status, code);
  expect(body.fiscal_errors).toBeNull();
  expect(body.retryable).toBe(ERROR_CATALOGUE[code].retryable);
  expect(body.message.length).toBeGreaterThan(0);
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  if (param !== undefined) expect(body.param).toBe(param);
  return body;
}

/**
 * A signing-device error (502 `fiscalization_failed` / 503 `fiscal_unit_unavailable`): the §1.1 envelope with
 * `retryable: true` and `fiscal_errors` naming the device failure for the jurisdiction.
 */
export function expectDeviceError(
  response: ApiResponse<unknown>,
  status: 502 | 503,
  code: 'fiscalization_failed' | 'fiscal_unit_unavailable',
  jurisdiction = 'DE',
): ErrorBody {
  const body = expectErrorEnvelope(response, status, code);
  expect(body).toMatchObject({ retryable: true, param: null });
  expect(body.fiscal_errors).not.toBeNull();
  expect(body.fiscal_errors?.length).toBeGreaterThan(0);
  for (const detail of body.fiscal_errors ?? []) {
    expect(detail.jurisdiction).toBe(jurisdiction);
    expect(detail.code.length).toBeGreaterThan(0);
    expect(detail.message.length).toBeGreaterThan(0);
  }
  return body;
}
