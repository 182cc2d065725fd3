/**
 * Prepared queries (db/prepared.ts): compiled once, executed with each call's values, on both engines; undefined
 * parameters are left out as Kysely leaves them out; constants of the builder stay; they join the ambient
 * transaction. On PostgreSQL they stay prepared on their connection, and a schema change by another process that
 * makes one stale costs one retryable failure, not a broken connection.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/database.js';
import { isDatabaseUnavailable } from '../src/db/errors.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { prepareQuery } from '../src/db/prepared.js';
import { createScratchDatabase, describeDb, engine, type ScratchDatabase } from './helpers/engines.js';

describeDb('prepared queries', () => {
  let scratch: ScratchDatabase;
  let database: Database;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    database = createDatabase(scratch.location);
    await migrateToLatest(database);
    await sql`create table pq_items (id varchar(20) primary key, label varchar(50), amount bigint not null, note varchar(50))`.execute(
      database.executor(),
    );
  });
  afterAll(async () => {
    await database.destroy();
    await scratch.drop();
  });

  interface Item {
    readonly id: string;
    readonly label?: string | null | undefined;
    readonly amount: bigint;
    readonly note?: string | null | undefined;
  }
  // A type, not an interface: Kysely's withTables needs an index-compatible type.
  type Tables = {
    pq_items: { id: string; label: string | null; amount: bigint; note: string | null };
  };

  const rows = () =>
    database
      .executor()
      .withTables<Tables>()
      .selectFrom('pq_items')
      .select(['id', 'label', 'amount', 'note'])
      .orderBy('id')
      .execute();

  it('runs the compiled statement with each call’s values; undefined members are left out, null is a value', async () => {
    const insert = prepareQuery(database, (q, row: Item) => q.withTables<Tables>().insertInto('pq_items').values(row));
    await insert.run({ id: 'a', label: 'first', amount: 5n, note: 'n' });
    await insert.run({ id: 'b', amount: 7n });
    await insert.run({ id: 'c', label: null, amount: -3n, note: undefined });
    const found = await rows();
    expect(found.map((row) => [row.id, row.label, Number(row.amount), row.note])).toEqual([
      ['a', 'first', 5, 'n'],
      ['b', null, 7, null],
      ['c', null, -3, null],
    ]);
  });

  it('keeps the builder’s constants, binds every parameter where it stands, and returns rows and counts', async () => {
    const bump = prepareQuery(database, (q, p: { id: string; note: string }) =>
      q
        .withTables<Tables>()
        .updateTable('pq_items')
        .set({ amount: sql<bigint>`amount + ${10n}`, note: p.note })
        .where('id', '=', p.id),
    );
    expect(await bump.run({ id: 'a', note: 'bumped' })).toBe(1n);
    expect(await bump.run({ id: 'missing', note: 'x' })).toBe(0n);

    const byAmount = prepareQuery(database, (q, p: { min: bigint; max: bigint }) =>
      q
        .withTables<Tables>()
        .selectFrom('pq_items')
        .select('id')
        .where('amount', '>=', p.min)
        .where('amount', '<=', p.max)
        .orderBy('id'),
    );
    expect(await byAmount.all({ min: 0n, max: 100n })).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(await byAmount.all({ min: -10n, max: 6n })).toEqual([{ id: 'c' }]);
    expect(await byAmount.first({ min: 1000n, max: 2000n })).toBeUndefined();
    const a = (await rows()).find((row) => row.id === 'a');
    expect([Number(a?.amount), a?.note]).toEqual([15, 'bumped']);
  });

  it('compiles one statement per set of present parameters (partial updates)', async () => {
    const update = prepareQuery(database, (q, { id, ...changes }: Partial<Item> & { readonly id: string }) =>
      q.withTables<Tables>().updateTable('pq_items').set(changes).where('id', '=', id),
    );
    await update.run({ id: 'b', label: 'only label' });
    await update.run({ id: 'c', note: 'only note', label: undefined });
    await update.run({ id: 'b', amount: 70n, note: 'both' });
    const found = await rows();
    expect(found.map((row) => [row.id, row.label, Number(row.amount), row.note])).toEqual([
      ['a', 'first', 15, 'bumped'],
      ['b', 'only label', 70, 'both'],
      ['c', null, -3, 'only note'],
    ]);
  });

  it('refuses a parameter the builder does not bind', async () => {
    const unused = prepareQuery(database, (q, p: { id: string; ignored: string }) =>
      q.withTables<Tables>().selectFrom('pq_items').select('id').where('id', '=', p.id),
    );
    await expect(unused.all({ id: 'a', ignored: 'x' })).rejects.toThrow(/does not bind parameter\(s\) ignored/);
  });

  it('joins the ambient transaction: a rollback undoes it', async () => {
    const insert = prepareQuery(database, (q, row: Item) => q.withTables<Tables>().insertInto('pq_items').values(row));
    await expect(
      database.transaction(async () => {
        await insert.run({ id: 'rolled-back', amount: 1n });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await rows()).map((row) => row.id)).toEqual(['a', 'b', 'c']);
  });

  it('keeps working when another process changes the table under a prepared `select *`', async () => {
    await sql`create table pq_shapes (id varchar(20) primary key, label varchar(50))`.execute(database.executor());
    await sql`insert into pq_shapes (id, label) values ('s1', 'one')`.execute(database.executor());
    // One connection, so the statement runs where it was prepared, as on a busy pool's reused connection.
    const single = createDatabase(scratch.location, { poolSize: 1 });
    const other = createDatabase(scratch.location);
    try {
      const selectAll = prepareQuery(single, (q, p: { id: string }) =>
        q
          .withTables<{ pq_shapes: { id: string; label: string | null; extra?: string | null } }>()
          .selectFrom('pq_shapes')
          .selectAll()
          .where('id', '=', p.id),
      );
      expect(await selectAll.first({ id: 's1' })).toEqual({ id: 's1', label: 'one' });
      if (engine === 'postgres') {
        // PostgreSQL's own view of the connection: the statement is kept prepared there, not parsed per execution.
        const { rows: prepared } = await sql<{ statement: string }>`
          select statement from pg_prepared_statements`.execute(single.executor());
        expect(prepared.map((row) => row.statement).filter((text) => text.includes('"pq_shapes"'))).toHaveLength(1);
      }

      await sql`alter table pq_shapes add column extra varchar(10)`.execute(other.executor());
      await sql`update pq_shapes set extra = 'x' where id = 's1'`.execute(other.executor());

      if (engine === 'postgres') {
        // Its cached plan no longer fits: that execution fails as a retryable outage and drops the connection...
        const failure = await selectAll.first({ id: 's1' }).then(
          () => null,
          (error: unknown) => error,
        );
        expect(failure).toMatchObject({ name: 'StalePreparedStatementError' });
        expect(isDatabaseUnavailable(failure)).toBe(true);
      }
      // ...and the retry, on a fresh connection, prepares it again and sees the new column (SQLite re-prepares
      // by itself).
      expect(await selectAll.first({ id: 's1' })).toEqual({ id: 's1', label: 'one', extra: 'x' });
      // The pool is healthy: no outage was declared for the whole database.
      expect(await selectAll.first({ id: 's1' })).toEqual({ id: 's1', label: 'one', extra: 'x' });
      await single.ping();
    } finally {
      await single.destroy();
      await other.destroy();
    }
  });
});
