/**
 * SQLite group commit (db/dialects/sqlite.ts): concurrent units of work share one COMMIT, yet each succeeds or
 * fails on its own, returns only once durable, and a COMMIT that fails fails every unit of its batch.
 */
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createScratchDatabase, describeDb, engine, type ScratchDatabase } from './helpers/engines.js';

function groupCommitSuite(): void {
  let scratch: ScratchDatabase;
  let database: Database;
  let path: string;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    if (scratch.location.kind !== 'sqlite') throw new Error('SQLite only');
    path = scratch.location.path;
    database = createDatabase(scratch.location);
    await migrateToLatest(database);
    await sql`create table gc_parent (id integer primary key)`.execute(database.executor());
    await sql`create table gc_child (id integer primary key, parent integer references gc_parent(id) deferrable initially deferred)`.execute(
      database.executor(),
    );
    await sql`insert into gc_parent (id) values (1)`.execute(database.executor());
  });
  afterAll(async () => {
    await database.destroy();
    await scratch.drop();
  });

  /** What another process sees: a separate connection to the file. */
  const outside = (query: string): unknown[] => {
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      return db.prepare(query).all();
    } finally {
      db.close();
    }
  };

  const insertEvent = (name: string) =>
    database.executor().insertInto('system_events').values({ name, created_at: new Date().toISOString() }).execute();

  it('commits concurrent units together; a failing unit rolls back alone; each returns once on disk', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        database
          .transaction(async () => {
            await insertEvent(`gc-${String(i)}`);
            await Promise.resolve();
            if (i === 17) throw new Error('unit 17 fails');
            // The moment this unit's transaction returns, another connection must see its row.
            return i;
          })
          .then((i) => {
            expect(outside(`select name from system_events where name = 'gc-${String(i)}'`)).toHaveLength(1);
            return i;
          }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(outside("select count(*) as n from system_events where name like 'gc-%'")).toEqual([{ n: 39 }]);
    expect(outside("select name from system_events where name = 'gc-17'")).toEqual([]);
  });

  it('units started by separate callbacks of one turn of the event loop share a COMMIT', async () => {
    // Each request arrives in its own I/O callback, and a unit runs to its end in that callback's microtasks. A
    // COMMIT queued right after the first unit would run before the next callback: every batch would be one unit.
    const order: string[] = [];
    const unit = (name: string) =>
      database
        .transaction(async () => {
          order.push(`${name} runs`);
          await insertEvent(`gc-turn-${name}`);
        })
        .then(() => order.push(`${name} durable`));
    const units = await new Promise<Array<Promise<number>>>((resolve) => {
      const started: Array<Promise<number>> = [];
      setImmediate(() => started.push(unit('first')));
      setImmediate(() => {
        started.push(unit('second'));
        resolve(started);
      });
    });
    await Promise.all(units);
    expect(order).toEqual(['first runs', 'second runs', 'first durable', 'second durable']);
    expect(outside("select name from system_events where name like 'gc-turn-%' order by name")).toEqual([
      { name: 'gc-turn-first' },
      { name: 'gc-turn-second' },
    ]);
  });

  it('reads outside a unit of work see committed data only', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const unit = database.transaction(async () => {
      await insertEvent('gc-uncommitted');
      await held;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const seen = await database
      .executor()
      .selectFrom('system_events')
      .select('name')
      .where('name', '=', 'gc-uncommitted')
      .execute();
    expect(seen).toEqual([]);
    release();
    await unit;
    const after = await database
      .executor()
      .selectFrom('system_events')
      .select('name')
      .where('name', '=', 'gc-uncommitted')
      .execute();
    expect(after).toHaveLength(1);
  });

  it('a COMMIT that fails fails every unit of its batch, and none of their writes remains', async () => {
    // A deferred foreign key is checked only at COMMIT: one bad unit makes the batch's COMMIT fail.
    const units = [
      database.transaction(async () => {
        await sql`insert into gc_child (id, parent) values (1, 1)`.execute(database.executor());
      }),
      database.transaction(async () => {
        await sql`insert into gc_child (id, parent) values (2, 999)`.execute(database.executor());
      }),
      database.transaction(async () => {
        await sql`insert into gc_child (id, parent) values (3, 1)`.execute(database.executor());
      }),
    ];
    const results = await Promise.allSettled(units);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(outside('select id from gc_child')).toEqual([]);
    // The driver is usable afterwards.
    await insertEvent('gc-after-failure');
    expect(outside("select name from system_events where name = 'gc-after-failure'")).toHaveLength(1);
  });
}

const NAME = 'SQLite group commit';
if (engine === 'sqlite') {
  describeDb(NAME, groupCommitSuite);
} else {
  // Skipped on the PostgreSQL project, on purpose: group commit is the SQLite driver's (db/dialects/sqlite.ts);
  // PostgreSQL commits each transaction on its own connection and groups WAL flushes itself.
  describe.skip(`${NAME} [postgres skipped: group commit is SQLite's driver]`, groupCommitSuite);
}
