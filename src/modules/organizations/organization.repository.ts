import type { Database } from '../../db/database.js';
import { applyPage } from '../../db/pagination.js';
import type { OrganizationsTable } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type OrganizationRow = OrganizationsTable;
export type OrganizationChanges = Partial<Omit<OrganizationRow, 'id' | 'platform_id' | 'country' | 'created_at'>>;

export function createOrganizationRepository(db: Pick<Database, 'executor'>) {
  return {
    async insert(row: OrganizationRow): Promise<void> {
      await db.executor().insertInto('organizations').values(row).execute();
    },

    async find(platformId: string, id: string): Promise<OrganizationRow | undefined> {
      return db
        .executor()
        .selectFrom('organizations')
        .selectAll()
        .where('platform_id', '=', platformId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async list(platformId: string, page: PageRequest): Promise<OrganizationRow[]> {
      const query = db.executor().selectFrom('organizations').selectAll().where('platform_id', '=', platformId);
      return applyPage(query, 'organizations', page).execute();
    },

    async update(id: string, changes: OrganizationChanges): Promise<void> {
      await db.executor().updateTable('organizations').set(changes).where('id', '=', id).execute();
    },
  };
}

export type OrganizationRepository = ReturnType<typeof createOrganizationRepository>;
