/**
 * Deferred writes (db/prepared.ts `defer`, db/dialects/deferred-writes.ts), on both engines: what a unit of work
 * stores is the same as with writes sent at once — every row after a commit, none after a rollback or a failed held
 * write, a held row visible to the statements after it — and on PostgreSQL the held INSERTs ride with the next
 * statement that does not name their table, costing no round trip of their own.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { prepareQuery } from '../src/db/prepared.js';
import {
  createScratchDatabase,
  describeDb,
  engine,
  statementsSentDuring,
  type ScratchDatabase,
} from './helpers/engines.js';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import {
  cashSale,
  createFiscalRegister,
  line,
  tseLogs,
  verifyJournal,
  type FiscalRegisterFixture,
} from './helpers/fiscal.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

describeDb('deferred writes', () => {
  let scratch: ScratchDatabase;
  let database: Database;

  // A type, not an interface: Kysely's withTables needs an index-compatible type.
  type Tables = {
    dw_items: { id: string; amount: bigint };
    dw_counts: { id: string; n: bigint };
  };
  const q = () => database.executor().withTables<Tables>();

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    // One connection: every transaction runs on the connection the one before it used, held writes and all.
    database = createDatabase(scratch.location, { poolSize: 1 });
    await migrateToLatest(database);
    await sql`create table dw_items (id varchar(20) primary key, amount bigint not null check (amount >= 0))`.execute(
      database.executor(),
    );
    await sql`create table dw_counts (id varchar(20) primary key, n bigint not null)`.execute(database.executor());
  });
  afterAll(async () => {
    await database.destroy();
    await scratch.drop();
  });
  beforeEach(async () => {
    await q().deleteFrom('dw_items').execute();
    await q().deleteFrom('dw_counts').execute();
    await q().insertInto('dw_counts').values({ id: 'c', n: 0n }).execute();
  });

  const insertItem = () =>
    prepareQuery(database, (b, row: { id: string; amount: bigint }) =>
      b.withTables<Tables>().insertInto('dw_items').values(row),
    );
  const bumpCount = () =>
    prepareQuery(database, (b, p: { id: string }) =>
      b
        .withTables<Tables>()
        .updateTable('dw_counts')
        .set((eb) => ({ n: eb('n', '+', 1n) }))
        .where('id', '=', p.id)
        .returning('n'),
    );
  const items = async () =>
    (await q().selectFrom('dw_items').select(['id', 'amount']).orderBy('id').execute()).map(
      (row) => `${row.id}:${String(row.amount)}`,
    );
  const count = async () => (await q().selectFrom('dw_counts').select('n').executeTakeFirstOrThrow()).n;

  it('stores held writes with the statement after them, whose own result is unchanged', async () => {
    const insert = insertItem();
    const bump = bumpCount();
    const { result: bumped, sent } = await statementsSentDuring(() =>
      database.transaction(async () => {
        await insert.defer({ id: 'a', amount: 1n });
        await insert.defer({ id: 'b', amount: 2n });
        return bump.all({ id: 'c' });
      }),
    );
    expect(bumped).toEqual([{ n: 1n }]);
    expect(await items()).toEqual(['a:1', 'b:2']);
    expect(await count()).toBe(1n);
    if (engine === 'postgres') {
      // begin, the update carrying both inserts, commit: two round trips less than the writes sent at once.
      expect(sent).toHaveLength(3);
      expect(sent[1]).toMatch(
        /^\/\* prepared \*\/ with "deferred_1" as \(insert into "dw_items" .*\), "deferred_2" as \(insert into "dw_items" .*\) update "dw_counts"/,
      );
    }
  });

  it('sends held writes first to a statement that reads their table, which then sees them', async () => {
    const insert = insertItem();
    const { result: seen, sent } = await statementsSentDuring(() =>
      database.transaction(async () => {
        await insert.defer({ id: 'a', amount: 1n });
        return items();
      }),
    );
    expect(seen).toEqual(['a:1']);
    if (engine === 'postgres') {
      expect(sent.map((text) => text.replace(/ \(.*/, ''))).toEqual([
        'begin',
        '/* prepared */ insert into "dw_items"',
        expect.stringMatching(/^select "id", "amount" from "dw_items"/),
        'commit',
      ]);
    }
  });

  it('sends held writes before the commit when nothing else comes', async () => {
    const insert = insertItem();
    const { sent } = await statementsSentDuring(() =>
      database.transaction(async () => {
        await insert.defer({ id: 'a', amount: 1n });
        await insert.defer({ id: 'b', amount: 2n });
      }),
    );
    expect(await items()).toEqual(['a:1', 'b:2']);
    if (engine === 'postgres') {
      expect(sent).toHaveLength(3);
      expect(sent[1]).toMatch(
        /^\/\* prepared \*\/ with "deferred_1" as \(insert into "dw_items" .*\) insert into "dw_items"/,
      );
      expect(sent[2]).toBe('commit');
    }
  });

  it('drops held writes unsent with a rollback, and the connection’s next transaction does not send them', async () => {
    const insert = insertItem();
    const { result: failure, sent: rolledBack } = await statementsSentDuring(() =>
      database
        .transaction(async () => {
          await insert.defer({ id: 'gone', amount: 1n });
          throw new Error('abort');
        })
        .catch((error: unknown) => error),
    );
    expect(failure).toMatchObject({ message: 'abort' });
    if (engine === 'postgres') expect(rolledBack).toEqual(['begin', 'rollback']);
    const bump = bumpCount();
    const { sent } = await statementsSentDuring(() => database.transaction(() => bump.all({ id: 'c' })));
    expect(sent.some((text) => text.includes('"dw_items"'))).toBe(false);
    expect(await items()).toEqual([]);
    expect(await count()).toBe(1n);
  });

  it('fails the unit of work when a held write fails, at the statement that carries it, and stores none of it', async () => {
    const insert = insertItem();
    const bump = bumpCount();
    await q().insertInto('dw_items').values({ id: 'taken', amount: 1n }).execute();
    for (const carried of [true, false]) {
      await expect(
        database.transaction(async () => {
          await bump.all({ id: 'c' });
          await insert.defer({ id: 'fresh', amount: 5n });
          // A duplicate key, then a failed check: either fails the statement that sends it.
          await insert.defer(carried ? { id: 'taken', amount: 2n } : { id: 'negative', amount: -1n });
          if (carried) await bump.all({ id: 'c' });
        }),
      ).rejects.toThrow(/unique|duplicate|check/i);
    }
    expect(await items()).toEqual(['taken:1']);
    expect(await count()).toBe(0n);
  });

  it('sends held writes first when the next one could change a row they write, so that none is lost', async () => {
    const insert = insertItem();
    const setAmount = prepareQuery(database, (b, p: { id: string; amount: bigint }) =>
      b.withTables<Tables>().updateTable('dw_items').set({ amount: p.amount }).where('id', '=', p.id),
    );
    const bumpAlone = prepareQuery(database, (b, p: { id: string }) =>
      b
        .withTables<Tables>()
        .updateTable('dw_counts')
        .set((eb) => ({ n: eb('n', '+', 1n) }))
        .where('id', '=', p.id),
    );
    const { sent } = await statementsSentDuring(() =>
      database.transaction(async () => {
        await insert.defer({ id: 'a', amount: 1n });
        // In one statement with the insert, this update would not see the row.
        await setAmount.defer({ id: 'a', amount: 9n });
        await bumpAlone.defer({ id: 'c' });
        // Nor would one of two updates of the same row count.
        await bumpAlone.defer({ id: 'c' });
      }),
    );
    expect(await items()).toEqual(['a:9']);
    expect(await count()).toBe(2n);
    if (engine === 'postgres') {
      expect(sent).toEqual([
        'begin',
        expect.stringMatching(/^\/\* prepared \*\/ insert into "dw_items"/),
        // The two updates of the count cannot share a statement either: the first carries the item's update.
        expect.stringMatching(/^\/\* prepared \*\/ with "deferred_1" as \(update "dw_items" .*\) update "dw_counts"/),
        expect.stringMatching(/^\/\* prepared \*\/ update "dw_counts"/),
        'commit',
      ]);
    }
  });

  it('runs at once outside a transaction', async () => {
    const insert = insertItem();
    await insert.defer({ id: 'now', amount: 3n });
    expect(await items()).toEqual(['now:3']);
  });
});

describeDb('deferred writes on the sales path', () => {
  let t: TestApp;
  let fx: FiscalRegisterFixture;
  beforeAll(async () => {
    t = await buildTestApp();
    fx = await createFiscalRegister(t);
  });
  afterAll(() => t.close());

  it('sends a sale’s log messages, its new operation and its end with the statements after them, and stores them', async () => {
    // The register's first sale also creates its closing bucket; the second is what every later one does.
    await cashSale(fx.registerApi, fx.register.id);
    const { result: started, sent: startAll } = await statementsSentDuring(() =>
      fx.registerApi.post<Operation>(`/v1/registers/${fx.register.id}/sales`, { line_items: [line('Tee', 2, 250)] }),
    );
    expect(started.status, started.text).toBe(201);
    const { result: completed, sent: completeAll } = await statementsSentDuring(() =>
      fx.registerApi.post<Operation>(`/v1/sales/${started.body.id}/complete`, {
        payments: [{ method: 'cash', direction: 'inbound', amount: 500 }],
      }),
    );
    expect(completed.status, completed.text).toBe(200);

    // Both log messages and the operation are stored, signed in order, and the journal links both entries.
    const logs = await tseLogs(t, { operationId: started.body.id });
    expect(logs.map((log) => [log.operationType, log.transactionNumber])).toEqual([
      ['StartTransaction', logs[0]?.transactionNumber],
      ['FinishTransaction', logs[0]?.transactionNumber],
    ]);
    expect(logs[1]?.signatureCounter).toBe((logs[0]?.signatureCounter ?? 0) + 1);
    const stored = await fx.registerApi.get<Operation>(`/v1/sales/${started.body.id}`);
    expect([stored.body.state, stored.body.fiscal_state]).toEqual(['completed', 'succeeded']);
    expect(await verifyJournal(fx.registerApi, fx.register.id)).toMatchObject({ valid: true });

    if (engine === 'postgres') {
      // The unit of work alone: authenticating the key (its lookup, its last use) goes before it.
      const unitOfWork = (sent: string[]) => sent.slice(sent.indexOf('begin'), sent.lastIndexOf('commit') + 1);
      const startSent = unitOfWork(startAll);
      const completeSent = unitOfWork(completeAll);
      const carrier = /^\/\* prepared \*\/ with "deferred_1" as \(insert into "tse_log_messages" /;
      // begin, register, sequence number, fiscal unit, counters, journal entry (with the log and the operation), commit
      expect(startSent).toHaveLength(7);
      expect(startSent.filter((text) => carrier.test(text))).toEqual([
        expect.stringMatching(/"deferred_2" as \(insert into "operations" .*\), "taken" as \(update "registers"/),
      ]);
      // begin, register, operation, fiscal unit, counters, journal entry (with the log), the closing totals (with
      // the operation's end and its register's count), commit
      expect(completeSent).toHaveLength(8);
      expect(completeSent.filter((text) => carrier.test(text))).toEqual([
        expect.stringMatching(/"deferred_1" as \(.*\), "taken" as \(update "registers"/),
      ]);
      expect(completeSent.filter((text) => text.includes('insert into "tse_log_messages"'))).toHaveLength(1);
      expect(completeSent.filter((text) => text.includes('update "operations"'))).toEqual([
        expect.stringMatching(
          /^\/\* prepared \*\/ with "deferred_1" as \(update "operations" .*\), "deferred_2" as \(update "registers" set "open_operations" .*\) update "closing_buckets"/,
        ),
      ]);
    }
  });
});
