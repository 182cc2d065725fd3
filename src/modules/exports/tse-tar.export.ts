/**
 * `tse_tar` (DE): the TSE export of BSI TR-03153 — every log message the register's TSEs signed in the period, with
 * their certificates and an info.csv, as one TAR. Log messages are read in batches per fiscal unit in
 * signature-counter order, so memory stays flat however long the period.
 * @module
 */
import { CERTIFICATE_ORGANIZATION } from '../../regimes/de/certificate.js';
import { tseSerialNumber } from '../../regimes/de/log-message.js';
import { writeTseTar, type TseTarLog } from '../../regimes/de/tse-tar.js';
import type { ExportRepository, TseUnitRow } from './export.repository.js';
import { tarFileName, type ExportSubject, type ExportWriteContext, type ExportWriter } from './export-writer.js';

export interface TseTarExportDeps {
  readonly source: Pick<ExportRepository, 'tseUnits' | 'countTseLogs' | 'tseLogBatch'>;
  /** Log messages per query (default 500). */
  readonly batchSize?: number;
  /** The TSE software version written to info.csv. */
  readonly version?: string;
}

/** The version of the software TSE's log format (TR-03151 log message version 2). */
const SOFTWARE_TSE_VERSION = '2';

/** The unit's TSE serial (upper-case hex): from its registration, else derived from its public key as a TSE does. */
function tseSerialHex(unit: TseUnitRow): string {
  const registration = JSON.parse(unit.fiscal_registration) as unknown;
  if (typeof registration === 'object' && registration !== null && 'tse_serial' in registration) {
    const serial = registration.tse_serial;
    if (typeof serial === 'string' && /^[0-9a-fA-F]+$/.test(serial)) return serial.toUpperCase();
  }
  return tseSerialNumber(Buffer.from(unit.public_key, 'base64')).toString('hex').toUpperCase();
}

export function createTseTarExportWriter(deps: TseTarExportDeps): ExportWriter {
  const { source } = deps;
  const batchSize = deps.batchSize ?? 500;
  const version = deps.version ?? SOFTWARE_TSE_VERSION;

  return {
    type: 'tse_tar',
    jurisdictions: ['DE'],
    contentType: 'application/x-tar',

    fileName: (subject: ExportSubject) => tarFileName('tse', subject),

    async write(out, subject, context: ExportWriteContext) {
      const { registerId, from, to } = subject;
      const units = await source.tseUnits(registerId);
      const total = await source.countTseLogs(registerId, from, to);
      await context.progress(0, total);

      async function* logs(): AsyncGenerator<TseTarLog> {
        let done = 0;
        for (const unit of units) {
          let after: bigint | null = null;
          for (;;) {
            context.signal.throwIfAborted();
            const batch = await source.tseLogBatch(unit.id, from, to, after, batchSize);
            for (const row of batch) {
              yield { fileName: row.file_name, message: Buffer.from(row.message, 'base64'), logTime: row.log_time };
            }
            done += batch.length;
            await context.progress(done, total);
            const last = batch.at(-1);
            if (last === undefined || batch.length < batchSize) break;
            after = last.signature_counter;
          }
        }
      }

      await writeTseTar(out, {
        info: { description: CERTIFICATE_ORGANIZATION, manufacturer: 'OpenFiskal', version },
        certificates: units.map((unit) => ({
          serialHex: tseSerialHex(unit),
          der: Buffer.from(unit.certificate, 'base64'),
        })),
        logs: logs(),
        // The export's own creation time, so that writing the same export again yields the same bytes.
        exportedAt: new Date(subject.createdAt),
      });
    },
  };
}
