import type { Database } from '../../db/database.js';
import type { PlatformsTable } from '../../db/schema.js';

export type PlatformRow = PlatformsTable;

export function createPlatformRepository(db: Pick<Database, 'executor'>) {
  return {
    async insert(row: PlatformRow): Promise<void> {
      await db.executor().insertInto('platforms').values(row).execute();
    },

    async findById(id: string): Promise<PlatformRow | undefined> {
      return db.executor().selectFrom('platforms').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** Records a one-time event; false if it was recorded before (by this or any other process). */
    async recordSystemEventOnce(name: string, createdAt: string): Promise<boolean> {
      const inserted = await db
        .executor()
        .insertInto('system_events')
        .values({ name, created_at: createdAt })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      return inserted.numInsertedOrUpdatedRows === 1n;
    },

    async count(): Promise<number> {
      const row = await db
        .executor()
        .selectFrom('platforms')
        .select((eb) => eb.fn.countAll<bigint>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

export type PlatformRepository = ReturnType<typeof createPlatformRepository>;
