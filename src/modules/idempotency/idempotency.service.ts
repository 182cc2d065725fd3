/**
 * Idempotency (api.md §1.3). A request with an `Idempotency-Key` first *claims* the key in a short transaction of
 * its own, so that a concurrent duplicate sees the claim at once and gets 409 `idempotency_request_in_progress`
 * instead of waiting (a retry of a request that completed is answered from a read, without that transaction). The
 * response is then stored by {@link IdempotencyService.complete} **inside the request's own transaction**: the
 * effect and the stored response commit together, so a crash can never leave an executed request without its
 * stored response (which would let a retry execute it twice).
 *
 * A claim carries a lease. If its holder dies, the lease runs out and a retry takes the key over with a new lease
 * token; should the old holder still finish, its `complete` no longer matches the token and its transaction rolls
 * back. Stored responses are encrypted: they can contain secrets shown once (new API keys).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, seal } from '../../crypto/secret-box.js';
import type { UnitOfWork } from '../../db/database.js';
import { AppError } from '../../errors/app-error.js';
import { canonicalJson } from '../../shared/canonical-json.js';
import type { Clock } from '../../shared/clock.js';
import { addHours, toUtcString } from '../../shared/time.js';
import type { IdempotencyRecord, IdempotencyRepository, NewClaim } from './idempotency.repository.js';

export interface StoredResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export type Claim =
  | { readonly kind: 'claimed'; readonly leaseToken: string }
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  | { readonly kind: 'conflict' }
  | { readonly kind: 'in_progress' };

export interface RequestFingerprint {
  readonly method: string;
  readonly path: string;
  readonly organizationId: string | null;
  readonly body: unknown;
}

export interface IdempotencyServiceDeps {
  readonly repository: IdempotencyRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly encryptionKey: Buffer;
  readonly ttlHours: number;
  /** How long a claim is held before a retry may take it over (longer than any request can run). */
  readonly leaseMs?: number;
}

export const DEFAULT_LEASE_MS = 60_000;

/** Thrown when the claim was taken over while this request ran; its transaction must roll back. */
export class LeaseLostError extends AppError {
  constructor() {
    super('idempotency_request_in_progress', {
      message: 'This Idempotency-Key was taken over by a retry while the request ran; its result is not kept.',
    });
  }
}

/** SHA-256 over method, path, organization and the SHA-256 of the canonical body. */
export function fingerprint(request: RequestFingerprint): string {
  const bodyHash = createHash('sha256')
    .update(canonicalJson(request.body ?? null))
    .digest('hex');
  return createHash('sha256')
    .update([request.method.toUpperCase(), request.path, request.organizationId ?? '-', bodyHash].join('\n'))
    .digest('hex');
}

export function createIdempotencyService(deps: IdempotencyServiceDeps) {
  const { repository, unitOfWork, clock, encryptionKey, ttlHours } = deps;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const associatedData = (scope: string, key: string) => `${scope}\n${key}`;

  /** The stored answer of a completed entry, or null while it is in progress. */
  function replayOf(entry: IdempotencyRecord, scope: string, key: string): Claim | null {
    if (entry.state !== 'completed' || entry.response === null || entry.responseStatus === null) return null;
    const stored = JSON.parse(open(encryptionKey, entry.response, associatedData(scope, key))) as {
      content_type: string;
      body: string;
    };
    return {
      kind: 'replay',
      response: { status: entry.responseStatus, contentType: stored.content_type, body: stored.body },
    };
  }

  function newLease(now: Date) {
    return { token: randomBytes(16).toString('hex'), expiresAt: toUtcString(new Date(now.getTime() + leaseMs)) };
  }

  return {
    /** Claims the key for this request, or says how to answer instead (replay, conflict, in progress). */
    async claim(scope: string, key: string, requestFingerprint: string): Promise<Claim> {
      // A retry of a request that completed is answered from a read, without a write transaction: a completed,
      // unexpired entry never changes, and a read sees only what is committed (and on disk).
      const stored = await repository.find(scope, key);
      if (stored !== undefined && stored.expiresAt > toUtcString(clock.now())) {
        if (stored.fingerprint !== requestFingerprint) return { kind: 'conflict' };
        const replay = replayOf(stored, scope, key);
        if (replay !== null) return replay;
      }
      const now = clock.now();
      const lease = newLease(now);
      const claim: NewClaim = {
        scope,
        idempotencyKey: key,
        fingerprint: requestFingerprint,
        leaseToken: lease.token,
        leaseExpiresAt: lease.expiresAt,
        createdAt: toUtcString(now),
        expiresAt: toUtcString(addHours(now, ttlHours)),
      };
      // A new key, the common case: the insert alone, committed at once so that a concurrent duplicate sees it (on
      // PostgreSQL one round trip, not three).
      if (await unitOfWork.standalone(() => repository.insertClaim(claim))) {
        return { kind: 'claimed', leaseToken: lease.token };
      }
      // The key is taken: decide against the entry as it is now, in one transaction.
      return unitOfWork.transaction(async (): Promise<Claim> => {
        const nowText = toUtcString(clock.now());
        const existing = await repository.find(scope, key);
        if (existing === undefined) return { kind: 'in_progress' }; // released between our insert and read
        if (existing.expiresAt <= nowText) {
          return (await repository.reclaimExpired(claim, nowText))
            ? { kind: 'claimed', leaseToken: lease.token }
            : { kind: 'in_progress' };
        }
        if (existing.fingerprint !== requestFingerprint) return { kind: 'conflict' };
        const replay = replayOf(existing, scope, key);
        if (replay !== null) return replay;
        if (
          existing.leaseExpiresAt <= nowText &&
          (await repository.takeOverStaleLease(scope, key, existing.leaseToken, lease, nowText))
        ) {
          return { kind: 'claimed', leaseToken: lease.token };
        }
        return { kind: 'in_progress' };
      });
    },

    /**
     * Stores the response of a claimed request. Call it inside the request's transaction; throws
     * {@link LeaseLostError} (rolling that transaction back) if the claim was taken over meanwhile.
     */
    async complete(scope: string, key: string, leaseToken: string, response: StoredResponse): Promise<void> {
      const sealed = seal(
        encryptionKey,
        JSON.stringify({ content_type: response.contentType, body: response.body }),
        associatedData(scope, key),
      );
      if (!(await repository.complete(scope, key, leaseToken, response.status, sealed))) throw new LeaseLostError();
    },

    /** Drops a claim whose request failed with 5xx: it had no effect, so a retry executes afresh. */
    release(scope: string, key: string, leaseToken: string): Promise<void> {
      return repository.release(scope, key, leaseToken);
    },

    /** Deletes records past their retention (run by the worker). */
    purgeExpired(): Promise<number> {
      return repository.purgeExpired(toUtcString(clock.now()));
    },
  };
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>;
