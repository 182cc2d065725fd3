import { sql, type Kysely } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { migrations } from '../src/db/migrations/index.js';
import { countOpenOperations } from '../src/db/migrations/0008-open-operations.js';
import * as partialIndexes from '../src/db/migrations/0009-partial-indexes.js';
import * as signingDevicesFillfactor from '../src/db/migrations/0010-signing-devices-fillfactor.js';
import type { Operation } from '../src/modules/operations/operation.schemas.js';
import type { ApiClient, ApiResponse } from './helpers/api-client.js';
import { expectError } from './helpers/assertions.js';
import { createScratchDatabase, describeDb, engine, type ScratchDatabase } from './helpers/engines.js';
import {
  cashSale,
  createFiscalRegister,
  journalOf,
  lastSequenceNumber,
  line,
  verifyJournal,
} from './helpers/fiscal.js';
import { buildTestApp } from './helpers/test-app.js';

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

  it('keeps serving sales while another process migrates the tables under it (a rolling upgrade)', async () => {
    const t = await buildTestApp();
    const upgrader = createDatabase(t.scratch.location);
    try {
      const fixture = await createFiscalRegister(t);
      const registerId = fixture.register.id;
      // Sales before the change: the hot path's statements are prepared on the pool's connections.
      for (let i = 0; i < 3; i++) await cashSale(fixture.registerApi, registerId);

      // A newer version's migration, run by another process: a column more in every table a sale reads whole.
      for (const table of ['registers', 'locations', 'fiscal_units', 'operations', 'signing_devices']) {
        await sql`alter table ${sql.table(table)} add column upgrade_note varchar(20)`.execute(upgrader.executor());
      }

      // Every request carries an Idempotency-Key and is retried while it answers 503, as a till does.
      const refusals: ApiResponse<unknown>[] = [];
      const post = async <T>(api: ApiClient, url: string, body: unknown, key: string) => {
        for (let attempt = 0; attempt < 30; attempt++) {
          const response = await api.post<T>(url, body, { headers: { 'idempotency-key': key } });
          if (response.status !== 503) return response;
          refusals.push(response);
        }
        throw new Error(`${url} still refused after 30 attempts`);
      };
      const completed: Operation[] = [];
      for (let i = 0; i < 8; i++) {
        const started = await post<Operation>(
          fixture.registerApi,
          `/v1/registers/${registerId}/sales`,
          { line_items: [line('Brezel', 1, 120)] },
          `upgrade-start-${String(i)}`,
        );
        expect(started.status, started.text).toBe(201);
        const done = await post<Operation>(
          fixture.registerApi,
          `/v1/sales/${started.body.id}/complete`,
          { payments: [{ method: 'cash', direction: 'inbound', amount: 120 }] },
          `upgrade-complete-${String(i)}`,
        );
        expect(done.status, done.text).toBe(200);
        completed.push(done.body);
      }

      // A refusal is the catalogue's retryable 503, never a 500. PostgreSQL keeps statements prepared per
      // connection, so a connection that prepared one before the change refuses once and is replaced; SQLite
      // prepares again by itself and refuses nothing.
      for (const refusal of refusals) expectError(refusal, 503, 'service_unavailable');
      if (engine === 'postgres') expect(refusals.length).toBeGreaterThan(0);
      else expect(refusals).toEqual([]);
      expect(refusals.length).toBeLessThanOrEqual(20); // at most one per pooled connection (the pool holds 20)

      // Nothing was half-written or duplicated by the refused attempts: 11 sales, sequence numbers 1–11 with no
      // gap, two journal entries per sale after the unit's own, a chain that verifies.
      expect(completed.map((operation) => operation.sequence_number)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
      expect(await lastSequenceNumber(t, registerId)).toBe(11);
      const journal = await journalOf(fixture.registerApi, registerId);
      expect(journal.filter((entry) => entry.type.startsWith('operation.'))).toHaveLength(22);
      expect(await verifyJournal(fixture.registerApi, registerId)).toMatchObject({ valid: true });
    } finally {
      await upgrader.destroy();
      await t.close();
    }
  });

  it('counts the open operations of registers stored before the count was kept (0008)', async () => {
    const t = await buildTestApp();
    try {
      const fixture = await createFiscalRegister(t);
      const other = await createFiscalRegister(t);
      await cashSale(fixture.registerApi, fixture.register.id);
      for (let i = 0; i < 2; i++) {
        const started = await fixture.registerApi.post(`/v1/registers/${fixture.register.id}/sales`, {
          line_items: [line('Brezel', 1, 120)],
        });
        expect(started.status, started.text).toBe(201);
      }
      const executor = t.database.executor();
      const counts = async () =>
        (await executor.selectFrom('registers').select(['id', 'open_operations']).orderBy('id').execute()).map(
          (row) => [row.id, Number(row.open_operations)] as const,
        );
      const kept = await counts();
      expect(new Map(kept)).toEqual(
        new Map([
          [fixture.register.id, 2],
          [other.register.id, 0],
        ]),
      );
      // As a register stored before 0008 had it: the column's default.
      await executor.updateTable('registers').set({ open_operations: 0 }).execute();
      await countOpenOperations(executor as unknown as Kysely<unknown>);
      expect(await counts()).toEqual(kept);
    } finally {
      await t.close();
    }
  });

  it('keeps only the operations that have a value in two indexes, which the queries that read them still use (0009)', async () => {
    const database = await open();
    await migrateToLatest(database);
    const executor = database.executor();
    /** The index's definition as the engine keeps it. */
    const definition = async (name: string): Promise<string> => {
      const { rows } =
        engine === 'postgres'
          ? await sql<{ text: string }>`select indexdef as text from pg_indexes
              where schemaname = current_schema() and indexname = ${name}`.execute(executor)
          : await sql<{ text: string }>`select sql as text from sqlite_master where name = ${name}`.execute(executor);
      return rows[0]?.text ?? '';
    };
    /** The plan of `query`, as text; PostgreSQL is told to avoid sequential scans, the tables being empty. */
    const plan = (query: string): Promise<string> =>
      database.transaction(async () => {
        if (engine === 'postgres') await sql`set local enable_seqscan = off`.execute(database.executor());
        const explain = engine === 'postgres' ? 'explain' : 'explain query plan';
        const { rows } = await sql<Record<string, string>>`${sql.raw(`${explain} ${query}`)}`.execute(
          database.executor(),
        );
        return rows.map((row) => row['QUERY PLAN'] ?? row.detail ?? '').join('\n');
      });
    const partial = {
      operations_original: /where \(?"?original_operation_id"? is not null\)?/i,
      operations_register_final_seq: /where \(?"?final_journal_seq"? is not null\)?/i,
    };
    for (const [name, condition] of Object.entries(partial)) expect(await definition(name)).toMatch(condition);
    // The refunds of an original (operation.repository.ts listReturnsOf), and an export's keyset batches by journal
    // seq (dsfinvk.repository.ts): a comparison with a value implies `is not null`.
    expect(await plan(`select id from operations where original_operation_id = 'op_x'`)).toMatch(/operations_original/);
    expect(
      await plan(
        `select id from operations where register_id = 'reg_x' and final_journal_seq > 0 and final_journal_seq <= 10 order by final_journal_seq limit 100`,
      ),
    ).toMatch(/operations_register_final_seq/);

    // Down: both full again, and up once more.
    await partialIndexes.down(executor as unknown as Kysely<unknown>);
    for (const name of Object.keys(partial)) expect(await definition(name)).not.toMatch(/is not null/i);
    await partialIndexes.up(executor as unknown as Kysely<unknown>);
    for (const [name, condition] of Object.entries(partial)) expect(await definition(name)).toMatch(condition);
  });

  it('gives each signing device a page of its own on PostgreSQL, with room for its counters’ updates (0010)', async () => {
    const t = await buildTestApp();
    try {
      const executor = t.database.executor();
      const options = async (): Promise<string[]> => {
        const { rows } = await sql<{ options: string[] | null }>`select reloptions as options from pg_class
          where oid = to_regclass('signing_devices')`.execute(executor);
        return rows[0]?.options ?? [];
      };
      /** The page each device's row is on (PostgreSQL's ctid is (page, item)). */
      const pages = async (): Promise<string[]> => {
        const { rows } = await sql<{ page: string }>`select split_part(trim(both '()' from ctid::text), ',', 1) as page
          from signing_devices order by fiscal_unit_id`.execute(executor);
        return rows.map((row) => row.page);
      };
      const first = await createFiscalRegister(t);
      await createFiscalRegister(t, {
        orgApi: first.orgApi,
        organizationId: first.organizationId,
        locationId: first.locationId,
      });
      if (engine !== 'postgres') {
        // SQLite writes a row in place; the migration changes nothing there.
        expect(await sql`select count(*) as n from signing_devices`.execute(executor)).toMatchObject({
          rows: [{ n: 2n }],
        });
        return;
      }
      expect(await options()).toEqual(['fillfactor=10']);
      // Without the setting, two rows of about 1.2 KB share the table's first page.
      expect(new Set(await pages()).size).toBe(2);
      // Sales update the counters; each row's new versions stay on its page.
      const before = await pages();
      for (let i = 0; i < 5; i++) await cashSale(first.registerApi, first.register.id);
      expect(await pages()).toEqual(before);

      await signingDevicesFillfactor.down(executor as unknown as Kysely<unknown>);
      expect(await options()).toEqual([]);
      await signingDevicesFillfactor.up(executor as unknown as Kysely<unknown>);
      expect(await options()).toEqual(['fillfactor=10']);
    } finally {
      await t.close();
    }
  });
});
