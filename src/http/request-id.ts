import { randomBytes } from 'node:crypto';

/** `req_` + 20 lowercase hex characters, new for every request. */
export function newRequestId(): string {
  return `req_${randomBytes(10).toString('hex')}`;
}
