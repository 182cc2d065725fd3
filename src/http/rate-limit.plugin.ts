/**
 * Per-key rate limit (token bucket, in process): `limit` requests per second sustained, bursts up to `limit`.
 * Over the limit → 429 `rate_limited` with `Retry-After` in seconds. With several server processes each counts
 * on its own.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors/app-error.js';
import type { Clock } from '../shared/clock.js';

export interface RateLimitPluginOptions {
  /** Requests per second per key; 0 disables the limit. */
  readonly perSecond: number;
  readonly clock: Clock;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const IDLE_BUCKET_MS = 60_000;

export const rateLimitPlugin = fp(
  (app: FastifyInstance, { perSecond, clock }: RateLimitPluginOptions) => {
    if (perSecond === 0) return Promise.resolve();
    const buckets = new Map<string, Bucket>();
    let lastSweep = clock.now().getTime();

    app.addHook('onRequest', (request, _reply, done) => {
      const keyId = request.principal?.keyId;
      if (keyId === undefined) {
        done();
        return;
      }
      const now = clock.now().getTime();
      if (now - lastSweep > IDLE_BUCKET_MS) {
        for (const [id, bucket] of buckets) if (now - bucket.updatedAt > IDLE_BUCKET_MS) buckets.delete(id);
        lastSweep = now;
      }
      const bucket = buckets.get(keyId) ?? { tokens: perSecond, updatedAt: now };
      bucket.tokens = Math.min(perSecond, bucket.tokens + ((now - bucket.updatedAt) / 1000) * perSecond);
      bucket.updatedAt = now;
      buckets.set(keyId, bucket);
      if (bucket.tokens < 1) {
        const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
        done(new AppError('rate_limited', { headers: { 'retry-after': String(retryAfter) } }));
        return;
      }
      bucket.tokens -= 1;
      done();
    });
    return Promise.resolve();
  },
  { name: 'rate-limit', dependencies: ['auth'] },
);
