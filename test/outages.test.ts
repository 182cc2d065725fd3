/**
 * Fiscal unit outages (src/modules/outages): the repository the fiscal unit service opens and closes them with
 * (joining the ambient transaction), the register's list in page order with its filters, and the presentation
 * with a fixed clock: how long an outage lasted (an ongoing one: until now) and whether AT's 48-hour reporting duty
 * applies. On both engines.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { notFound } from '../src/errors/app-error.js';
import { createOutageRepository, type OutageRepository } from '../src/modules/outages/outage.repository.js';
import type { Outage, OutageListQuery } from '../src/modules/outages/outage.schemas.js';
import { createOutageService, type OutageService } from '../src/modules/outages/outage.service.js';
import type { RegisterRow } from '../src/modules/registers/register.repository.js';
import type { Clock } from '../src/shared/clock.js';
import { newId } from '../src/shared/ids.js';
import type { ListQuery, Page } from '../src/shared/pagination.js';
import type { Tenant } from '../src/shared/tenant.js';
import { createScratchDatabase, describeDb, type ScratchDatabase } from './helpers/engines.js';
import { insertFiscalUnitRow, insertRegisterRow, insertTenantRows } from './helpers/rows.js';

const HOUR_MS = 3_600_000;
const NOW = new Date('2026-03-10T12:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();
const hoursBefore = (hours: number, from = NOW) => at(from.getTime() - hours * HOUR_MS);

describeDb('fiscal unit outages', () => {
  let scratch: ScratchDatabase;
  let database: Database;
  let repository: OutageRepository;
  let service: OutageService;
  const clock: Clock & { current: Date } = { current: NOW, now: () => clock.current };
  const platformId = newId('plt');
  const organizationId = newId('org');
  const tenant: Tenant = { platformId, organizationId, registerId: null };
  const registers = new Map<string, RegisterRow>();
  let at1: string; // AT register
  let at2: string; // another AT register
  let de: string; // DE register
  const units: Record<'a' | 'b' | 'c' | 'd', string> = {
    a: newId('fu'),
    b: newId('fu'),
    c: newId('fu'),
    d: newId('fu'),
  };

  async function insertRegister(jurisdiction: string, locationId: string): Promise<string> {
    const id = await insertRegisterRow(
      database,
      { platformId, organizationId, locationId },
      { jurisdiction, label: `Kasse ${jurisdiction}`, now: NOW.toISOString() },
    );
    const row = await database
      .executor()
      .selectFrom('registers')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    registers.set(id, row);
    return id;
  }

  async function insertUnit(id: string, registerId: string, jurisdiction: string): Promise<void> {
    await insertFiscalUnitRow(
      database,
      { platformId, organizationId },
      {
        id,
        registerId,
        jurisdiction,
        provider: jurisdiction === 'AT' ? 'software_rksv' : 'software_tse',
        now: NOW.toISOString(),
      },
    );
  }

  /** Opens an outage as the fiscal unit service does (`created_at` = `started_at`), and ends it if asked. */
  async function outage(
    registerId: string,
    fiscalUnitId: string,
    startedAt: string,
    endedAt: string | null = null,
  ): Promise<string> {
    const id = newId('out');
    await repository.open({
      id,
      register_id: registerId,
      fiscal_unit_id: fiscalUnitId,
      started_at: startedAt,
      message: `failure of ${fiscalUnitId}`,
      created_at: startedAt,
      updated_at: startedAt,
    });
    if (endedAt !== null) await repository.close(id, endedAt);
    return id;
  }

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    database = createDatabase(scratch.location);
    await migrateToLatest(database);
    repository = createOutageRepository(database);
    service = createOutageService({
      repository,
      clock,
      registers: {
        // Tenancy as the register service has it: a register of another organization is a 404.
        findRow: (t: Tenant, id: string) => {
          const row = registers.get(id);
          if (row?.organization_id !== t.organizationId) return Promise.reject(notFound('register', id));
          return Promise.resolve(row);
        },
      },
    });
    const { locationId } = await insertTenantRows(database, {
      now: NOW.toISOString(),
      platformName: 'Outage tests',
      platformId,
      organizationId,
    });
    at1 = await insertRegister('AT', locationId);
    at2 = await insertRegister('AT', locationId);
    de = await insertRegister('DE', locationId);
    await insertUnit(units.a, at1, 'AT');
    await insertUnit(units.b, at1, 'AT');
    await insertUnit(units.c, at2, 'AT');
    await insertUnit(units.d, de, 'DE');
  });
  afterAll(async () => {
    await database.destroy();
    await scratch.drop();
  });
  beforeEach(async () => {
    clock.current = NOW;
    await database.executor().deleteFrom('fiscal_unit_outages').execute();
  });

  const list = async (registerId: string, query: ListQuery & OutageListQuery = {}): Promise<Page<Outage>> =>
    service.list(tenant, registerId, query);
  const ids = (page: Page<Outage>) => page.data.map((o) => o.id);

  describe('repository', () => {
    it('opens an outage, finds it while it lasts, and closes it once', async () => {
      const id = await outage(at1, units.a, hoursBefore(5));
      expect(await repository.findOpen(units.b)).toBeUndefined();
      const open = await repository.findOpen(units.a);
      expect(open).toEqual({
        id,
        register_id: at1,
        fiscal_unit_id: units.a,
        started_at: hoursBefore(5),
        ended_at: null,
        message: `failure of ${units.a}`,
        created_at: hoursBefore(5),
        updated_at: hoursBefore(5),
      });

      await repository.close(id, hoursBefore(1));
      expect(await repository.findOpen(units.a)).toBeUndefined();
      // A second close (a later recovery) leaves the ended outage as it was.
      await repository.close(id, hoursBefore(0));
      const rows = await database.executor().selectFrom('fiscal_unit_outages').selectAll().execute();
      expect(rows.map((row) => [row.ended_at, row.updated_at])).toEqual([[hoursBefore(1), hoursBefore(1)]]);
    });

    it('finds the ongoing outage of the unit, not an ended one nor another unit’s', async () => {
      await outage(at1, units.a, hoursBefore(30), hoursBefore(20));
      const ongoing = await outage(at1, units.a, hoursBefore(10));
      await outage(at1, units.b, hoursBefore(5));
      expect((await repository.findOpen(units.a))?.id).toBe(ongoing);
    });

    it('joins the ambient transaction: a rolled-back open leaves nothing, a rolled-back close keeps it open', async () => {
      await expect(
        database.transaction(async () => {
          await outage(at1, units.a, hoursBefore(3));
          expect(await repository.findOpen(units.a)).toBeDefined();
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await repository.findOpen(units.a)).toBeUndefined();

      const id = await outage(at1, units.a, hoursBefore(3));
      await expect(
        database.transaction(async () => {
          await repository.close(id, hoursBefore(1));
          expect(await repository.findOpen(units.a)).toBeUndefined();
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect((await repository.findOpen(units.a))?.id).toBe(id);
    });

    it("lists the register's outages in page order, filtered by ongoing", async () => {
      const first = await outage(at1, units.a, hoursBefore(100), hoursBefore(90));
      const second = await outage(at1, units.b, hoursBefore(80));
      const third = await outage(at1, units.a, hoursBefore(60), hoursBefore(50));
      await outage(at2, units.c, hoursBefore(70));
      const page = (order: 'asc' | 'desc') => ({ limit: 10, after: null, from: null, to: null, order });

      const asc = await repository.listByRegister(at1, page('asc'), {});
      expect(asc.map((r) => r.id)).toEqual([first, second, third]);
      const desc = await repository.listByRegister(at1, page('desc'));
      expect(desc.map((r) => r.id)).toEqual([third, second, first]);
      expect((await repository.listByRegister(at1, page('asc'), { ongoing: true })).map((r) => r.id)).toEqual([second]);
      expect((await repository.listByRegister(at1, page('asc'), { ongoing: false })).map((r) => r.id)).toEqual([
        first,
        third,
      ]);
      const bounded = await repository.listByRegister(at1, {
        ...page('asc'),
        from: hoursBefore(85),
        to: hoursBefore(60),
      });
      expect(bounded.map((r) => r.id)).toEqual([second, third]);
    });
  });

  describe('list and presentation', () => {
    it('shows an ended outage with its duration: 47 hours need no report in AT, 49 hours do', async () => {
      const short = await outage(at1, units.a, hoursBefore(200), hoursBefore(153));
      const long = await outage(at1, units.a, hoursBefore(150), hoursBefore(101));
      const page = await list(at1);
      expect([page.object, page.has_more, page.next_cursor]).toEqual(['list', false, null]);
      expect(page.data).toEqual([
        {
          id: short,
          object: 'outage',
          register_id: at1,
          fiscal_unit_id: units.a,
          started_at: hoursBefore(200),
          ended_at: hoursBefore(153),
          ongoing: false,
          duration_seconds: 47 * 3600,
          message: `failure of ${units.a}`,
          report_required: false,
          report_threshold_hours: 48,
          created_at: hoursBefore(200),
        },
        {
          id: long,
          object: 'outage',
          register_id: at1,
          fiscal_unit_id: units.a,
          started_at: hoursBefore(150),
          ended_at: hoursBefore(101),
          ongoing: false,
          duration_seconds: 49 * 3600,
          message: `failure of ${units.a}`,
          report_required: true,
          report_threshold_hours: 48,
          created_at: hoursBefore(150),
        },
      ]);
    });

    it('counts an ongoing outage to now: it becomes reportable once it passes 48 hours', async () => {
      await outage(at1, units.b, hoursBefore(47));
      let [shown] = (await list(at1)).data;
      expect(shown).toMatchObject({
        ended_at: null,
        ongoing: true,
        duration_seconds: 47 * 3600,
        report_required: false,
      });

      clock.current = new Date(NOW.getTime() + 2 * HOUR_MS);
      [shown] = (await list(at1)).data;
      expect(shown).toMatchObject({ ongoing: true, duration_seconds: 49 * 3600, report_required: true });
      expect((await list(at1, { report_required: true })).data).toHaveLength(1);

      // It ended an hour ago: the duration stops there, however late it is read.
      const [row] = await database.executor().selectFrom('fiscal_unit_outages').select('id').execute();
      await repository.close(row?.id ?? '', at(clock.current.getTime() - HOUR_MS));
      clock.current = new Date(NOW.getTime() + 500 * HOUR_MS);
      [shown] = (await list(at1)).data;
      expect(shown).toMatchObject({ ongoing: false, duration_seconds: 48 * 3600, report_required: false });
    });

    it('has no reporting threshold outside AT: report_required is always false', async () => {
      const id = await outage(de, units.d, hoursBefore(1000));
      const [shown] = (await list(de)).data;
      expect(shown).toMatchObject({
        id,
        ongoing: true,
        duration_seconds: 1000 * 3600,
        report_required: false,
        report_threshold_hours: null,
      });
      expect(ids(await list(de, { report_required: true }))).toEqual([]);
      expect(ids(await list(de, { report_required: false }))).toEqual([id]);
    });

    it('filters by ongoing and report_required, and pages through the filtered outages without gaps or repeats', async () => {
      // In start order: 49 h ended, 10 h ended, 60 h ended, 47 h ended, ongoing for 100 h, ongoing for 2 h (unit b).
      const reportable1 = await outage(at1, units.a, hoursBefore(400), hoursBefore(351));
      const short1 = await outage(at1, units.a, hoursBefore(340), hoursBefore(330));
      const reportable2 = await outage(at1, units.a, hoursBefore(320), hoursBefore(260));
      const short2 = await outage(at1, units.a, hoursBefore(250), hoursBefore(203));
      const reportableOngoing = await outage(at1, units.a, hoursBefore(100));
      const shortOngoing = await outage(at1, units.b, hoursBefore(2));
      await outage(at2, units.c, hoursBefore(300));

      expect(ids(await list(at1, { ongoing: true }))).toEqual([reportableOngoing, shortOngoing]);
      expect(ids(await list(at1, { ongoing: false, order: 'desc' }))).toEqual([
        short2,
        reportable2,
        short1,
        reportable1,
      ]);
      expect(ids(await list(at1, { report_required: true }))).toEqual([reportable1, reportable2, reportableOngoing]);
      expect(ids(await list(at1, { report_required: false }))).toEqual([short1, short2, shortOngoing]);
      expect(ids(await list(at1, { report_required: true, ongoing: false }))).toEqual([reportable1, reportable2]);
      expect(ids(await list(at1, { report_required: false, ongoing: true }))).toEqual([shortOngoing]);

      for (const order of ['asc', 'desc'] as const) {
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages += 1) {
          const page = await list(at1, { report_required: true, limit: 1, order, ...(cursor ? { cursor } : {}) });
          seen.push(...ids(page));
          if (!page.has_more) {
            expect(page.next_cursor).toBeNull();
            break;
          }
          cursor = page.next_cursor ?? undefined;
        }
        const expected = [reportable1, reportable2, reportableOngoing];
        expect(seen).toEqual(order === 'asc' ? expected : expected.reverse());
      }
    });

    it('reads the filtered outages in batches: a page fills up across many that do not match', async () => {
      const short: string[] = [];
      const reportable = await database.transaction(async () => {
        for (let i = 0; i < 130; i += 1) {
          short.push(await outage(at1, units.a, hoursBefore(1000 - i * 2), hoursBefore(999 - i * 2)));
        }
        return outage(at1, units.a, hoursBefore(700), hoursBefore(600));
      });
      const first = await list(at1, { report_required: true, limit: 1 });
      expect([ids(first), first.has_more]).toEqual([[reportable], false]);
      const shortPage = await list(at1, { report_required: false, limit: 120 });
      expect([shortPage.data.length, shortPage.has_more]).toEqual([120, true]);
      const rest = await list(at1, { report_required: false, limit: 120, cursor: shortPage.next_cursor ?? '' });
      expect([...ids(shortPage), ...ids(rest)]).toEqual(short);
      expect(rest.has_more).toBe(false);
    });

    it("is a 404 for another organization's register", async () => {
      await expect(service.list({ ...tenant, organizationId: newId('org') }, at1, {})).rejects.toMatchObject({
        code: 'not_found',
      });
    });
  });
});
