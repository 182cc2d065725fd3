/**
 * Outages of a register's fiscal units: from the first failed signing to the first signing after it. The fiscal
 * unit service opens and closes them; this service shows them, with how long each lasted and whether the
 * jurisdiction requires it to be reported to the tax office (AT: more than 48 hours, see `regimes/outages.ts`).
 * @module
 */
import { outageDurationSeconds, outageReportRequired, outageReportThresholdHours } from '../../regimes/outages.js';
import type { Jurisdiction } from '../../regimes/jurisdictions.js';
import type { Clock } from '../../shared/clock.js';
import { toPage, toPageRequest, type ListQuery, type Page, type PageRequest } from '../../shared/pagination.js';
import type { Tenant } from '../../shared/tenant.js';
import type { RegisterService } from '../registers/register.service.js';
import type { OutageRepository, OutageRow } from './outage.repository.js';
import type { Outage, OutageListQuery } from './outage.schemas.js';

export interface OutageServiceDeps {
  readonly repository: Pick<OutageRepository, 'listByRegister'>;
  readonly clock: Clock;
  readonly registers: Pick<RegisterService, 'findRow'>;
}

/** Rows read per batch while filtering on `report_required`, which depends on "now" and is not a column. */
const REPORT_FILTER_BATCH = 100;

/** The outage as the API shows it; an ongoing outage lasts until `now`. */
export function presentOutage(row: OutageRow, jurisdiction: Jurisdiction, now: Date): Outage {
  const durationSeconds = outageDurationSeconds(
    new Date(row.started_at),
    row.ended_at === null ? now : new Date(row.ended_at),
  );
  return {
    id: row.id,
    object: 'outage',
    register_id: row.register_id,
    fiscal_unit_id: row.fiscal_unit_id,
    started_at: row.started_at,
    ended_at: row.ended_at,
    ongoing: row.ended_at === null,
    duration_seconds: durationSeconds,
    message: row.message,
    report_required: outageReportRequired(jurisdiction, durationSeconds),
    report_threshold_hours: outageReportThresholdHours(jurisdiction),
    created_at: row.created_at,
  };
}

export function createOutageService(deps: OutageServiceDeps) {
  const { repository, clock, registers } = deps;

  /**
   * Up to `limit + 1` rows in page order whose `report_required` is `wanted`: keyset batches are read and filtered
   * until the page is full or the rows run out. A register has few outages, so this stays cheap; the cursor of the
   * page is still the last row shown, so pages neither skip nor repeat.
   */
  async function rowsByReportRequired(
    registerId: string,
    request: PageRequest,
    ongoing: boolean | undefined,
    wanted: boolean,
    reportRequired: (row: OutageRow) => boolean,
  ): Promise<OutageRow[]> {
    const matches: OutageRow[] = [];
    const batchLimit = Math.max(request.limit, REPORT_FILTER_BATCH);
    let after = request.after;
    for (;;) {
      const batch = await repository.listByRegister(registerId, { ...request, limit: batchLimit, after }, { ongoing });
      for (const row of batch) {
        if (reportRequired(row) !== wanted) continue;
        matches.push(row);
        if (matches.length > request.limit) return matches;
      }
      const last = batch.at(-1);
      if (batch.length <= batchLimit || last === undefined) return matches;
      after = { createdAt: last.created_at, id: last.id };
    }
  }

  return {
    /** The register's outages (api.md §1 lists), filtered by `ongoing` and `report_required`. */
    async list(tenant: Tenant, registerId: string, query: ListQuery & OutageListQuery): Promise<Page<Outage>> {
      const request = toPageRequest(query);
      const register = await registers.findRow(tenant, registerId);
      const jurisdiction = register.jurisdiction as Jurisdiction;
      const now = clock.now();
      const present = (row: OutageRow) => presentOutage(row, jurisdiction, now);
      const wanted = query.report_required;
      const reportable = outageReportThresholdHours(jurisdiction) !== null;
      // Where nothing is ever reportable, `report_required=false` is every outage and `true` none.
      if (wanted === undefined || (!reportable && !wanted)) {
        return toPage(
          await repository.listByRegister(register.id, request, { ongoing: query.ongoing }),
          request,
          present,
        );
      }
      if (!reportable) return toPage([], request, present);
      const rows = await rowsByReportRequired(
        register.id,
        request,
        query.ongoing,
        wanted,
        (row) => present(row).report_required,
      );
      return toPage(rows, request, present);
    },
  };
}

export type OutageService = ReturnType<typeof createOutageService>;
