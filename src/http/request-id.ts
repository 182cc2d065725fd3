import { randomFillSync } from 'node:crypto';

// Random bytes drawn in blocks: one call to the system's generator per 400 request ids instead of one per request.
const POOL = Buffer.alloc(4000);
let offset = POOL.length;

/** `req_` + 20 lowercase hex characters, new for every request. */
export function newRequestId(): string {
  if (offset + 10 > POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const id = `req_${POOL.toString('hex', offset, offset + 10)}`;
  offset += 10;
  return id;
}
