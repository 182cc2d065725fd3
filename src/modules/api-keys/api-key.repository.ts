import type { Database } from '../../db/database.js';
import { prepareQuery } from '../../db/prepared.js';
import { applyPage } from '../../db/pagination.js';
import type { ApiKeysTable } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type ApiKeyRow = ApiKeysTable;

export function createApiKeyRepository(db: Pick<Database, 'executor'>) {
  const findByHash = prepareQuery(db, (q, p: { secretHash: string }) =>
    q.selectFrom('api_keys').selectAll().where('secret_hash', '=', p.secretHash),
  );

  return {
    async insert(row: ApiKeyRow): Promise<void> {
      await db.executor().insertInto('api_keys').values(row).execute();
    },

    async findBySecretHash(secretHash: string): Promise<ApiKeyRow | undefined> {
      return findByHash.first({ secretHash });
    },

    async findById(platformId: string, id: string): Promise<ApiKeyRow | undefined> {
      return db
        .executor()
        .selectFrom('api_keys')
        .selectAll()
        .where('platform_id', '=', platformId)
        .where('id', '=', id)
        .where('kind', '!=', 'setup')
        .executeTakeFirst();
    },

    /** Marks a setup token used; false if it was already used or has expired (the first caller wins). */
    async consumeSetupToken(id: string, now: string): Promise<boolean> {
      const result = await db
        .executor()
        .updateTable('api_keys')
        .set({ revoked_at: now, last_used_at: now })
        .where('id', '=', id)
        .where('kind', '=', 'setup')
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    async touch(id: string, now: string): Promise<void> {
      await db.executor().updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
    },

    async list(
      filter: { platformId: string; kind: ApiKeyRow['kind']; organizationId?: string },
      page: PageRequest,
    ): Promise<ApiKeyRow[]> {
      let query = db
        .executor()
        .selectFrom('api_keys')
        .selectAll()
        .where('platform_id', '=', filter.platformId)
        .where('kind', '=', filter.kind)
        .where('revoked_at', 'is', null);
      if (filter.organizationId !== undefined) query = query.where('organization_id', '=', filter.organizationId);
      return applyPage(query, 'api_keys', page).execute();
    },

    async revoke(id: string, now: string): Promise<void> {
      await db
        .executor()
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
    },

    async revokeRegisterKeys(registerId: string, now: string): Promise<number> {
      const result = await db
        .executor()
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('register_id', '=', registerId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}

export type ApiKeyRepository = ReturnType<typeof createApiKeyRepository>;
