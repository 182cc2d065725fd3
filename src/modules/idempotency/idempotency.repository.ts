import type { Database } from '../../db/database.js';
import { prepareQuery } from '../../db/prepared.js';
import type { IdempotencyKeysTable } from '../../db/schema.js';

export interface IdempotencyRecord {
  readonly scope: string;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
  readonly state: IdempotencyKeysTable['state'];
  readonly leaseToken: string;
  readonly leaseExpiresAt: string;
  readonly responseStatus: number | null;
  readonly response: string | null;
  readonly expiresAt: string;
}

export interface NewClaim {
  readonly scope: string;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
  readonly leaseToken: string;
  readonly leaseExpiresAt: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export function createIdempotencyRepository(db: Pick<Database, 'executor'>) {
  const findEntry = prepareQuery(db, (q, p: { scope: string; key: string }) =>
    q.selectFrom('idempotency_keys').selectAll().where('scope', '=', p.scope).where('idempotency_key', '=', p.key),
  );
  const byKey = (scope: string, key: string) =>
    db.executor().updateTable('idempotency_keys').where('scope', '=', scope).where('idempotency_key', '=', key);

  return {
    /** Inserts a claim; false if the key exists already (then read it). */
    async insertClaim(claim: NewClaim): Promise<boolean> {
      const result = await db
        .executor()
        .insertInto('idempotency_keys')
        .values({
          scope: claim.scope,
          idempotency_key: claim.idempotencyKey,
          fingerprint: claim.fingerprint,
          state: 'in_progress',
          lease_token: claim.leaseToken,
          lease_expires_at: claim.leaseExpiresAt,
          response_status: null,
          response: null,
          created_at: claim.createdAt,
          expires_at: claim.expiresAt,
        })
        .onConflict((oc) => oc.columns(['scope', 'idempotency_key']).doNothing())
        .executeTakeFirst();
      return result.numInsertedOrUpdatedRows === 1n;
    },

    async find(scope: string, key: string): Promise<IdempotencyRecord | undefined> {
      const row = await findEntry.first({ scope, key });
      if (row === undefined) return undefined;
      return {
        scope: row.scope,
        idempotencyKey: row.idempotency_key,
        fingerprint: row.fingerprint,
        state: row.state,
        leaseToken: row.lease_token,
        leaseExpiresAt: row.lease_expires_at,
        responseStatus: row.response_status === null ? null : Number(row.response_status),
        response: row.response,
        expiresAt: row.expires_at,
      };
    },

    /** Starts over on an expired record (not yet purged); false if it is not expired or changed meanwhile. */
    async reclaimExpired(claim: NewClaim, now: string): Promise<boolean> {
      const result = await byKey(claim.scope, claim.idempotencyKey)
        .set({
          fingerprint: claim.fingerprint,
          state: 'in_progress',
          lease_token: claim.leaseToken,
          lease_expires_at: claim.leaseExpiresAt,
          response_status: null,
          response: null,
          created_at: claim.createdAt,
          expires_at: claim.expiresAt,
        })
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    /** Takes over an in-progress claim whose lease ran out (its holder crashed); false if someone else did. */
    async takeOverStaleLease(
      scope: string,
      key: string,
      staleToken: string,
      lease: { token: string; expiresAt: string },
      now: string,
    ): Promise<boolean> {
      const result = await byKey(scope, key)
        .set({ lease_token: lease.token, lease_expires_at: lease.expiresAt })
        .where('state', '=', 'in_progress')
        .where('lease_token', '=', staleToken)
        .where('lease_expires_at', '<=', now)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    /** Stores the response; false if the lease was lost (another request took the key over). */
    async complete(scope: string, key: string, leaseToken: string, status: number, response: string): Promise<boolean> {
      const result = await byKey(scope, key)
        .set({ state: 'completed', response_status: status, response })
        .where('state', '=', 'in_progress')
        .where('lease_token', '=', leaseToken)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    /** Forgets an in-progress claim (the request failed with 5xx, so a retry must execute afresh). */
    async release(scope: string, key: string, leaseToken: string): Promise<void> {
      await db
        .executor()
        .deleteFrom('idempotency_keys')
        .where('scope', '=', scope)
        .where('idempotency_key', '=', key)
        .where('state', '=', 'in_progress')
        .where('lease_token', '=', leaseToken)
        .execute();
    },

    async purgeExpired(now: string): Promise<number> {
      const result = await db
        .executor()
        .deleteFrom('idempotency_keys')
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type IdempotencyRepository = ReturnType<typeof createIdempotencyRepository>;
