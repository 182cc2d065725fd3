/**
 * Outages of a fiscal unit (the signing device failed until it signed again), and which jurisdictions require an
 * outage to be reported to the tax office. Pure.
 * @module
 */
import type { Jurisdiction } from './jurisdictions.js';

/**
 * Hours an outage may last before it must be reported, per jurisdiction; absent: no reporting duty is modelled.
 *
 * AT (RKSV § 17 Abs. 4, and the BMF Erlass on the Registrierkassen- und Belegerteilungspflicht): a failure of the
 * signature creation unit (Signaturerstellungseinheit) that lasts more than 48 hours must be reported to the tax
 * office without delay through FinanzOnline, and its return to service must be reported again. Shorter failures
 * are only bridged by the receipts issued with "Sicherheitseinrichtung ausgefallen" and the signed Sammelbeleg
 * after recovery (regimes.md §2.1).
 *
 * The other jurisdictions: no deadline-based outage report is modelled (the journal still records every failure
 * and recovery of the unit).
 */
const REPORT_THRESHOLD_HOURS: Readonly<Partial<Record<Jurisdiction, number>>> = {
  AT: 48,
};

/** `outageReportThresholdHours('AT')` → `48`; null where no reporting duty is modelled. */
export function outageReportThresholdHours(jurisdiction: Jurisdiction): number | null {
  return REPORT_THRESHOLD_HOURS[jurisdiction] ?? null;
}

/** Whole seconds from `startedAt` to `endedAt` (never negative, should the clocks disagree). */
export function outageDurationSeconds(startedAt: Date, endedAt: Date): number {
  return Math.max(0, Math.floor((endedAt.getTime() - startedAt.getTime()) / 1000));
}

/** True when an outage of `durationSeconds` lasted strictly longer than the jurisdiction's threshold. */
export function outageReportRequired(jurisdiction: Jurisdiction, durationSeconds: number): boolean {
  const hours = outageReportThresholdHours(jurisdiction);
  return hours !== null && durationSeconds > hours * 3600;
}
