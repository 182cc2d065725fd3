/**
 * Prepared queries (db/prepared.ts): compiled once, executed with each call's values, on both engines; undefined
 * parameters are left out as Kysely leaves them out; constants of the builder stay; they join the ambient
 * transaction.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { prepareQuery } from '../src/db/prepared.js';
import { createScratchDatabase, describeDb, type ScratchDatabase } from './helpers/engines.js';

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
});
