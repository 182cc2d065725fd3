import type { Insertable, Selectable } from 'kysely';
import type { Database } from '../db/database.js';
import type { JobsTable } from '../db/schema.js';

export type JobRow = Selectable<JobsTable>;

export interface Lease {
  readonly token: string;
  readonly expiresAt: string;
}

export function createJobQueueRepository(db: Pick<Database, 'executor' | 'capabilities'>) {
  const held = (id: string, leaseToken: string) =>
    db
      .executor()
      .updateTable('jobs')
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('lease_token', '=', leaseToken);

  return {
    async insert(row: Insertable<JobsTable>): Promise<void> {
      await db.executor().insertInto('jobs').values(row).execute();
    },

    async find(id: string): Promise<JobRow | undefined> {
      return db.executor().selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /**
     * The oldest job that is due: queued with `run_at` reached, or running with an expired lease (its worker died).
     * Call inside a transaction: where the engine has row locks the row stays locked until it commits, and rows
     * other claimers hold are skipped instead of waited for; SQLite's BEGIN IMMEDIATE serialises claimers anyway.
     */
    async findDue(now: string, kinds: readonly string[], skipIds: readonly string[]): Promise<JobRow | undefined> {
      let query = db
        .executor()
        .selectFrom('jobs')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', now)]),
            eb.and([eb('state', '=', 'running'), eb('lease_expires_at', '<=', now)]),
          ]),
        )
        .where('kind', 'in', kinds)
        .orderBy('run_at')
        .orderBy('id')
        .limit(1);
      if (skipIds.length > 0) query = query.where('id', 'not in', skipIds);
      if (db.capabilities.supportsRowLocks) query = query.forUpdate().skipLocked();
      return query.executeTakeFirst();
    },

    /** Starts an attempt on a row found by {@link findDue} in the same transaction. */
    async lease(id: string, lease: Lease, now: string): Promise<void> {
      await db
        .executor()
        .updateTable('jobs')
        .set((eb) => ({
          state: 'running',
          attempts: eb('attempts', '+', 1n),
          lease_token: lease.token,
          lease_expires_at: lease.expiresAt,
          updated_at: now,
        }))
        .where('id', '=', id)
        .execute();
    },

    /** Gives up on a job whose last attempt's worker vanished. */
    async markAbandoned(id: string, error: string, now: string): Promise<void> {
      await db
        .executor()
        .updateTable('jobs')
        .set({ state: 'failed', lease_token: null, lease_expires_at: null, last_error: error, updated_at: now })
        .where('id', '=', id)
        .execute();
    },

    /** False if the lease was lost. */
    async extendLease(id: string, leaseToken: string, expiresAt: string, now: string): Promise<boolean> {
      const result = await held(id, leaseToken)
        .set({ lease_expires_at: expiresAt, updated_at: now })
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    async complete(id: string, leaseToken: string, now: string): Promise<boolean> {
      const result = await held(id, leaseToken)
        .set({ state: 'completed', lease_token: null, lease_expires_at: null, completed_at: now, updated_at: now })
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    /** Puts the job back in the queue for `runAt`; false if the lease was lost. */
    async retryLater(id: string, leaseToken: string, runAt: string, error: string, now: string): Promise<boolean> {
      const result = await held(id, leaseToken)
        .set({
          state: 'queued',
          run_at: runAt,
          lease_token: null,
          lease_expires_at: null,
          last_error: error,
          updated_at: now,
        })
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    /** False if the lease was lost. */
    async fail(id: string, leaseToken: string, error: string, now: string): Promise<boolean> {
      const result = await held(id, leaseToken)
        .set({ state: 'failed', lease_token: null, lease_expires_at: null, last_error: error, updated_at: now })
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    /** Deletes finished jobs last touched before the given instants. */
    async purgeFinished(completedBefore: string, failedBefore: string): Promise<number> {
      const result = await db
        .executor()
        .deleteFrom('jobs')
        .where((eb) =>
          eb.or([
            eb.and([eb('state', '=', 'completed'), eb('updated_at', '<', completedBefore)]),
            eb.and([eb('state', '=', 'failed'), eb('updated_at', '<', failedBefore)]),
          ]),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type JobQueueRepository = ReturnType<typeof createJobQueueRepository>;
