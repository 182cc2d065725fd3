import type { Database } from '../../db/database.js';
import { applyPage } from '../../db/pagination.js';
import type { RegistersTable } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type RegisterRow = RegistersTable;
export type RegisterChanges = Partial<
  Pick<RegisterRow, 'label' | 'serial_number' | 'metadata' | 'state' | 'archived_at' | 'updated_at'>
>;

export function createRegisterRepository(db: Pick<Database, 'executor'>) {
  return {
    async insert(row: RegisterRow): Promise<void> {
      await db.executor().insertInto('registers').values(row).execute();
    },

    async find(organizationId: string, id: string): Promise<RegisterRow | undefined> {
      return db
        .executor()
        .selectFrom('registers')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async serialNumberInUse(organizationId: string, serialNumber: string, exceptId: string | null): Promise<boolean> {
      let query = db
        .executor()
        .selectFrom('registers')
        .select('id')
        .where('organization_id', '=', organizationId)
        .where('serial_number', '=', serialNumber);
      if (exceptId !== null) query = query.where('id', '!=', exceptId);
      return (await query.executeTakeFirst()) !== undefined;
    },

    async listByLocation(organizationId: string, locationId: string, page: PageRequest): Promise<RegisterRow[]> {
      const query = db
        .executor()
        .selectFrom('registers')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('location_id', '=', locationId);
      return applyPage(query, 'registers', page).execute();
    },

    async update(id: string, changes: RegisterChanges): Promise<void> {
      await db.executor().updateTable('registers').set(changes).where('id', '=', id).execute();
    },
  };
}

export type RegisterRepository = ReturnType<typeof createRegisterRepository>;
