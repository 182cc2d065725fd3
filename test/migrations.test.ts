import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { migrations } from '../src/db/migrations/index.js';
import { createScratchDatabase, describeDb, engine, type ScratchDatabase } from './helpers/engines.js';

describeDb('migrations', () => {
  const opened: { database: Database; scratch: ScratchDatabase }[] = [];
  async function open(): Promise<Database> {
    const scratch = await createScratchDatabase();
    const database = createDatabase(scratch.location);
    opened.push({ database, scratch });
    return database;
  }
  afterEach(async () => {
    for (const { database, scratch } of opened.splice(0)) {
      await database.destroy();
      await scratch.drop();
    }
  });

  it('applies every migration once; a second run is a no-op', async () => {
    const database = await open();
    expect(await migrateToLatest(database)).toEqual(Object.keys(migrations));
    expect(await migrateToLatest(database)).toEqual([]);
    const tables = await database.executor().introspection.getTables();
    const own = tables.filter((t) => !t.isView).map((t) => t.name);
    for (const table of ['platforms', 'api_keys', 'organizations', 'locations', 'registers', 'idempotency_keys']) {
      expect(own).toContain(table);
    }
  });

  if (engine === 'postgres') {
    it('keeps two installations in two schemas of one database apart', async () => {
      const first = await open();
      await migrateToLatest(first);
      const second = await open();
      // The first installation's bookkeeping tables must not make the second skip creating its own.
      expect(await migrateToLatest(second)).toEqual(Object.keys(migrations));
      for (const database of [first, second]) {
        const schema = await database.currentSchema();
        const { rows } = await sql<{ name: string }>`
          select table_name as name from information_schema.tables where table_schema = ${schema}`.execute(
          database.executor(),
        );
        expect(rows.map((r) => r.name)).toEqual(
          expect.arrayContaining(['openfiskal_migrations', 'openfiskal_migrations_lock', 'platforms']),
        );
      }
    });
  }
});
