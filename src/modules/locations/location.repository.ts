import type { Database } from '../../db/database.js';
import { prepareQuery } from '../../db/prepared.js';
import { applyPage } from '../../db/pagination.js';
import type { LocationsTable } from '../../db/schema.js';
import type { PageRequest } from '../../shared/pagination.js';

export type LocationRow = LocationsTable;
export type LocationChanges = Partial<
  Pick<LocationRow, 'name' | 'address' | 'timezone' | 'fiscal_identity' | 'metadata' | 'updated_at'>
>;

export function createLocationRepository(db: Pick<Database, 'executor'>) {
  const findInOrganization = prepareQuery(db, (q, p: { organizationId: string; id: string }) =>
    q.selectFrom('locations').selectAll().where('organization_id', '=', p.organizationId).where('id', '=', p.id),
  );

  return {
    async insert(row: LocationRow): Promise<void> {
      await db.executor().insertInto('locations').values(row).execute();
    },

    async find(organizationId: string, id: string): Promise<LocationRow | undefined> {
      return findInOrganization.first({ organizationId, id });
    },

    async list(organizationId: string, page: PageRequest): Promise<LocationRow[]> {
      const query = db.executor().selectFrom('locations').selectAll().where('organization_id', '=', organizationId);
      return applyPage(query, 'locations', page).execute();
    },

    async update(id: string, changes: LocationChanges): Promise<void> {
      await db.executor().updateTable('locations').set(changes).where('id', '=', id).execute();
    },

    /** The organization's country, which gives a location its default time zone. */
    async organizationCountry(organizationId: string): Promise<string | undefined> {
      const row = await db
        .executor()
        .selectFrom('organizations')
        .select('country')
        .where('id', '=', organizationId)
        .executeTakeFirst();
      return row?.country;
    },
  };
}

export type LocationRepository = ReturnType<typeof createLocationRepository>;
