import { STATUS_CODES } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, isErrorCode } from './codes.js';

const ENTRIES = Object.entries(ERROR_CATALOGUE);

describe('ERROR_CATALOGUE', () => {
  it.each(ENTRIES)(
    '%s is retryable exactly when its status is 429 or 5xx, or it is a request in progress',
    (code, definition) => {
      const expected =
        definition.status === 429 || definition.status >= 500 || code === 'idempotency_request_in_progress';
      expect(definition.retryable).toBe(expected);
    },
  );

  it.each(ENTRIES)('%s is a snake_case code', (code) => {
    expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it.each(ENTRIES)('%s has a known 4xx or 5xx status', (_, definition) => {
    expect(Number.isInteger(definition.status)).toBe(true);
    expect(definition.status >= 400 && definition.status <= 599).toBe(true);
    expect(STATUS_CODES[definition.status]).toBeTypeOf('string');
  });

  it.each(ENTRIES)('%s has a message and a description of when it happens', (_, definition) => {
    expect([definition.message.trim().length > 0, definition.when.trim().length > 0]).toEqual([true, true]);
  });

  it('marks the idempotency request in progress as the only retryable 4xx besides 429', () => {
    const retryable4xx = ENTRIES.filter(([, d]) => d.retryable && d.status < 500).map(([code]) => code);
    expect(retryable4xx.sort()).toEqual(['idempotency_request_in_progress', 'rate_limited']);
  });
});

describe(isErrorCode.name, () => {
  it('accepts every catalogue code', () => {
    expect(ENTRIES.every(([code]) => isErrorCode(code))).toBe(true);
  });

  it.each(['NOT_FOUND', 'not-found', '', 'toString', '__proto__', 'hasOwnProperty'])('refuses %j', (value) => {
    expect(isErrorCode(value)).toBe(false);
  });
});
