import type { Insertable, Selectable } from 'kysely';
import type { Database } from '../../db/database.js';
import { applyPage } from '../../db/pagination.js';
import type { CashDrawerOpeningsTable } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type CashDrawerOpeningRow = Selectable<CashDrawerOpeningsTable>;

export function createCashDrawerOpeningRepository(db: Pick<Database, 'executor'>) {
  return {
    async insert(row: Insertable<CashDrawerOpeningsTable>): Promise<void> {
      await db.executor().insertInto('cash_drawer_openings').values(row).execute();
    },

    async find(organizationId: string, id: string): Promise<CashDrawerOpeningRow | undefined> {
      return db
        .executor()
        .selectFrom('cash_drawer_openings')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async list(registerId: string, page: PageRequest): Promise<CashDrawerOpeningRow[]> {
      const query = db.executor().selectFrom('cash_drawer_openings').selectAll().where('register_id', '=', registerId);
      return applyPage(query, 'cash_drawer_openings', page).execute();
    },

    /** The register an operation of the organization belongs to, or undefined. */
    async operationRegister(organizationId: string, operationId: string): Promise<string | undefined> {
      const row = await db
        .executor()
        .selectFrom('operations')
        .select('register_id')
        .where('organization_id', '=', organizationId)
        .where('id', '=', operationId)
        .executeTakeFirst();
      return row?.register_id;
    },
  };
}

export type CashDrawerOpeningRepository = ReturnType<typeof createCashDrawerOpeningRepository>;
