/**
 * `dsfinvk` (DE): the DSFinV-K export of a register, as one TAR holding `index.xml`, `gdpdu-01-09-2004.dtd` and the
 * 20 CSV files (each with its header row, also when empty). The subject's `closingId` exports exactly that closing;
 * otherwise every daily closing completed or transmitted whose `created_at` lies in [from, to], in Z_NR order.
 *
 * Memory stays flat: operations are read in keyset batches by journal seq, each CSV is streamed to its own file in a
 * fresh temporary directory (waiting for the disk when it lags), and the TAR is streamed from those files; the
 * directory is removed whatever happens. Every TAR entry carries the export's own creation time, so the same data
 * gives the same bytes. Progress counts operations.
 * @module
 */
import { effectiveFiscalIdentity } from '../../regimes/fiscal-identity.js';
import { once } from 'node:events';
import { createReadStream, createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { pack as tarPack, type Pack } from 'tar-stream';
import { RowEncoder, headerRow, type Cell } from '../../regimes/de/dsfinvk/csv.js';
import { GDPDU_DTD, GDPDU_DTD_FILE_NAME } from '../../regimes/de/dsfinvk/gdpdu-dtd.js';
import { indexXml } from '../../regimes/de/dsfinvk/index-xml.js';
import {
  ClosingRecords,
  type AddressInput,
  type ClosingInput,
  type OperationDataInput,
  type OriginalInput,
  type ReceiptInput,
  type RowSink,
  type TseBlockInput,
  type TseInput,
} from '../../regimes/de/dsfinvk/records.js';
import { DSFINVK_TABLES, TAXONOMY_VERSION, type DsfinvkFile } from '../../regimes/de/dsfinvk/tables.js';
import type {
  DsfinvkClosingRow,
  DsfinvkLocationRow,
  DsfinvkOperationRow,
  DsfinvkOrganizationRow,
  DsfinvkSource,
  DsfinvkTseUnitRow,
} from './dsfinvk.repository.js';
import {
  tarFileHeader,
  tarFileName,
  type ExportSubject,
  type ExportWriteContext,
  type ExportWriter,
} from './export-writer.js';

export interface DsfinvkExportDeps {
  readonly source: DsfinvkSource;
  /** Operations per query (default 500). */
  readonly batchSize?: number;
  /** Where the temporary directory is made (default: the OS's). */
  readonly tmpDir?: string;
  /** KASSE_SW_VERSION (default: this package's version). */
  readonly softwareVersion?: string;
}

const SOFTWARE_NAME = 'OpenFiskal';
/** Bytes buffered per file before they are handed to its stream. */
const BUFFER_SIZE = 64 * 1024;
/** Characters of rows collected per file before they are encoded. */
const PENDING_SIZE = 8 * 1024;

/** This package's version, found by walking up from this module (src/ or dist/src/) to the package.json. */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    try {
      const parsed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (parsed.name === 'openfiskal-server' && typeof parsed.version === 'string') return parsed.version;
    } catch {
      // No package.json at this level: keep walking up.
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the stored shape
function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

interface StoredAddress {
  line1?: string;
  line2?: string | null;
  city?: string;
  postal_code?: string;
  country?: string;
}

function addressOf(json: string | null, fallbackCountry?: string): AddressInput | null {
  if (json === null) {
    return fallbackCountry === undefined ? null : { street: '', postalCode: '', city: '', country: fallbackCountry };
  }
  const address = parseJson<StoredAddress | null>(json);
  if (address === null) return null;
  const line1 = address.line1 ?? '';
  const line2 = address.line2 ?? '';
  return {
    street: line2 === '' ? line1 : `${line1}, ${line2}`,
    postalCode: address.postal_code ?? '',
    city: address.city ?? '',
    country: address.country ?? fallbackCountry ?? '',
  };
}

function oneLine(address: AddressInput | null, name: string): string {
  if (address === null) return name;
  return [address.street, `${address.postalCode} ${address.city}`.trim(), address.country]
    .filter((p) => p !== '')
    .join(', ');
}

interface StoredRegistration {
  tse_serial?: string;
  signature_algorithm?: string;
  time_format?: string;
  public_key?: string;
  certificate?: string;
}

/** The register's TSEs as tse.csv lists them; units without a TSE registration (e.g. never provisioned) are skipped. */
function tsesOf(units: readonly DsfinvkTseUnitRow[]): TseInput[] {
  return units.flatMap((unit) => {
    const registration = parseJson<StoredRegistration | null>(unit.fiscal_registration);
    const serial = registration?.tse_serial;
    if (registration === null || serial === undefined || serial === '') return [];
    return [
      {
        fiscalUnitId: unit.id,
        serial,
        signatureAlgorithm: registration.signature_algorithm ?? '',
        timeFormat: registration.time_format ?? '',
        publicKey: registration.public_key ?? unit.public_key ?? '',
        certificate: registration.certificate ?? unit.certificate ?? '',
      },
    ];
  });
}

interface CsvOutput {
  readonly encoder: RowEncoder;
  readonly stream: WriteStream;
  /** Rows not yet encoded to bytes: a few at once are cheaper to encode than one by one. */
  pending: string;
  /** Encoded bytes not yet handed to the stream. */
  buffer: Buffer;
  used: number;
  /** The stream asked us to wait (write returned false). */
  full: boolean;
}

/**
 * The 20 CSV files of an export, streamed to disk; a {@link RowSink} for the records. Rows are collected per file a few
 * kilobytes at a time and then UTF-8 encoded into a fixed buffer (encoding row by row, or whole megabyte strings at
 * once, is measurably slower); a full buffer goes to its stream, and {@link CsvFiles.drain} then waits for every
 * stream that asked for it. A write error is kept and thrown at the next drain or close.
 */
class CsvFiles implements RowSink {
  private readonly outputs = new Map<DsfinvkFile, CsvOutput>();
  private prefix = '';
  private failure: Error | null = null;

  constructor(readonly dir: string) {
    for (const table of DSFINVK_TABLES) {
      const output: CsvOutput = {
        encoder: new RowEncoder(table),
        stream: createWriteStream(join(dir, table.file)),
        pending: '',
        buffer: Buffer.allocUnsafe(BUFFER_SIZE),
        used: 0,
        full: false,
      };
      // Without a listener a failed write (a full disk) would be an uncaught error.
      output.stream.on('error', (error) => {
        this.failure ??= error;
      });
      this.outputs.set(table.file, output);
      this.append(output, headerRow(table));
    }
  }

  private handOver(output: CsvOutput): void {
    if (output.used === 0) return;
    if (!output.stream.write(output.buffer.subarray(0, output.used))) output.full = true;
    // The stream keeps the handed-over bytes until written, so the next rows go into a new buffer.
    output.buffer = Buffer.allocUnsafe(BUFFER_SIZE);
    output.used = 0;
  }

  private encodePending(output: CsvOutput): void {
    const text = output.pending;
    if (text === '') return;
    output.pending = '';
    // At most 3 bytes per UTF-16 unit; a text longer than a buffer goes to the stream on its own.
    if (output.used + text.length * 3 > output.buffer.length) {
      this.handOver(output);
      if (text.length * 3 > output.buffer.length) {
        if (!output.stream.write(text, 'utf8')) output.full = true;
        return;
      }
    }
    output.used += output.buffer.write(text, output.used, 'utf8');
  }

  private append(output: CsvOutput, text: string): void {
    output.pending += text;
    if (output.pending.length >= PENDING_SIZE) this.encodePending(output);
  }

  key(kasseId: string, erstellung: string, zNumber: bigint): void {
    const first = this.outputs.get('cashpointclosing.csv');
    if (first === undefined) throw new Error('No cashpointclosing.csv');
    this.prefix = first.encoder.keyPrefix(kasseId, erstellung, zNumber);
  }

  row(file: DsfinvkFile, cells: readonly Cell[]): void {
    const output = this.outputs.get(file);
    if (output === undefined) throw new Error(`No output for ${file}`);
    this.append(output, output.encoder.encode(this.prefix, cells));
  }

  /** Waits until every stream that asked for it has drained. */
  async drain(): Promise<void> {
    if (this.failure !== null) throw this.failure;
    for (const output of this.outputs.values()) {
      if (!output.full) continue;
      if (output.stream.writableNeedDrain) await once(output.stream, 'drain');
      output.full = false;
    }
  }

  async close(): Promise<void> {
    if (this.failure !== null) throw this.failure;
    await Promise.all(
      [...this.outputs.values()].map(async (output) => {
        this.encodePending(output);
        this.handOver(output);
        const finished = once(output.stream, 'finish');
        output.stream.end();
        await finished;
      }),
    );
  }

  destroy(): void {
    for (const { stream } of this.outputs.values()) stream.destroy();
  }
}

/** index.xml, the DTD, then the CSV files in table order, each streamed from its file. */
async function fillTar(archive: Pack, dir: string, mtime: Date): Promise<void> {
  for (const name of ['index.xml', GDPDU_DTD_FILE_NAME, ...DSFINVK_TABLES.map((t) => t.file)]) {
    const path = join(dir, name);
    const { size } = await stat(path);
    await pipeline(createReadStream(path), archive.entry(tarFileHeader(name, size, mtime)));
  }
  archive.finalize();
}

async function writeTar(out: NodeJS.WritableStream, dir: string, mtime: Date): Promise<void> {
  const archive = tarPack();
  const filled = fillTar(archive, dir, mtime).catch((error: unknown) => {
    archive.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  });
  await Promise.all([filled, pipeline(archive, out)]);
}

export function createDsfinvkExportWriter(deps: DsfinvkExportDeps): ExportWriter {
  const { source } = deps;
  const batchSize = deps.batchSize ?? 500;
  const softwareVersion = deps.softwareVersion ?? packageVersion();

  async function closingsOf(subject: ExportSubject): Promise<DsfinvkClosingRow[]> {
    if (subject.closingId === null) return source.dailyClosings(subject.registerId, subject.from, subject.to);
    const closing = await source.closing(subject.closingId);
    if (closing?.register_id !== subject.registerId) {
      throw new Error(`Closing ${subject.closingId} is not a closing of register ${subject.registerId}`);
    }
    return [closing];
  }

  function receiptOf(
    op: DsfinvkOperationRow,
    originals: ReadonlyMap<string, OriginalInput>,
    kasseId: string,
  ): ReceiptInput {
    const fiscal = op.fiscal === null ? null : parseJson<(TseBlockInput & { regime?: string }) | null>(op.fiscal);
    const tse = fiscal !== null && fiscal.regime === 'tse' ? fiscal : null;
    const originalId = op.original_operation_id;
    return {
      id: op.id,
      type: op.type,
      state: op.state,
      sequenceNumber: op.sequence_number,
      startedAt: op.started_at,
      endedAt: op.completed_at ?? tse?.end_event?.signed_at ?? op.updated_at,
      cashier: op.cashier === null ? null : parseJson<ReceiptInput['cashier']>(op.cashier),
      reason: op.reason,
      data: parseJson<OperationDataInput>(op.data),
      fiscal: tse,
      original:
        originalId === null
          ? null
          : (originals.get(originalId) ?? {
              operationId: originalId,
              kasseId,
              zNumber: null,
              closedAt: null,
              timeZone: null,
            }),
    };
  }

  return {
    type: 'dsfinvk',
    jurisdictions: ['DE'],
    contentType: 'application/x-tar',

    fileName: (subject: ExportSubject) => tarFileName('dsfinvk', subject),

    async write(out, subject, context: ExportWriteContext) {
      const register = await source.register(subject.registerId);
      if (register === undefined) throw new Error(`Register ${subject.registerId} not found`);
      const closings = await closingsOf(subject);
      const tses = tsesOf(await source.tseUnits(register.id));
      let total = 0;
      for (const closing of closings) {
        total += await source.countOperations(register.id, closing.journal_seq_from, closing.journal_seq_to);
      }
      await context.progress(0, total);

      const locations = new Map<string, DsfinvkLocationRow>();
      const organizations = new Map<string, DsfinvkOrganizationRow>();
      const locationOf = async (id: string) => {
        let found = locations.get(id);
        if (found === undefined) {
          found = await source.location(id);
          if (found === undefined) throw new Error(`Location ${id} not found`);
          locations.set(id, found);
        }
        return found;
      };
      const organizationOf = async (id: string) => {
        let found = organizations.get(id);
        if (found === undefined) {
          found = await source.organization(id);
          if (found === undefined) throw new Error(`Organization ${id} not found`);
          organizations.set(id, found);
        }
        return found;
      };

      const dir = await mkdtemp(join(deps.tmpDir ?? tmpdir(), 'dsfinvk-'));
      let files: CsvFiles | undefined;
      try {
        files = new CsvFiles(dir);
        let done = 0;
        for (const closing of closings) {
          const location = await locationOf(closing.location_id);
          const organization = await organizationOf(closing.organization_id);
          const identity = effectiveFiscalIdentity(
            parseJson<{ tax_number?: string; vat_id?: string } | null>(organization.fiscal_identity ?? 'null'),
            parseJson<{ tax_number?: string; vat_id?: string } | null>(location.fiscal_identity ?? 'null'),
          );
          const vatId = identity?.vat_id ?? '';
          const input: ClosingInput = {
            kasseId: register.serial_number,
            zNumber: closing.z_number,
            closedAt: closing.period_to,
            timeZone: location.timezone,
            currency: register.currency,
            company: {
              name: organization.legal_name,
              address: addressOf(organization.address, organization.country),
              taxNumber: identity?.tax_number ?? '',
              vatId,
            },
            location: { name: location.name, address: addressOf(location.address), vatId },
            register: {
              serialNumber: register.serial_number,
              brand: SOFTWARE_NAME,
              model: `${SOFTWARE_NAME} Server`,
              softwareBrand: SOFTWARE_NAME,
              softwareVersion,
            },
            tses,
          };
          const records = new ClosingRecords(input, files);
          let after = closing.journal_seq_from;
          for (;;) {
            context.signal.throwIfAborted();
            const batch = await source.operationBatch(register.id, after, closing.journal_seq_to, batchSize);
            const originalIds = [
              ...new Set(batch.flatMap((op) => (op.original_operation_id === null ? [] : [op.original_operation_id]))),
            ];
            const originals = new Map<string, OriginalInput>();
            for (const row of await source.originals(originalIds)) {
              originals.set(row.id, {
                operationId: row.id,
                kasseId: row.register_serial_number,
                zNumber: row.z_number,
                closedAt: row.closing_period_to,
                timeZone: row.timezone,
              });
            }
            for (const op of batch) records.addReceipt(receiptOf(op, originals, register.serial_number));
            await files.drain();
            done += batch.length;
            await context.progress(done, total);
            const last = batch.at(-1);
            if (last === undefined || batch.length < batchSize || last.final_journal_seq === null) break;
            after = last.final_journal_seq;
          }
          records.finish();
          await files.drain();
        }
        await files.close();

        const firstOrganization = await organizationOf(subject.organizationId);
        const firstClosing = closings[0];
        const lastClosing = closings.at(-1);
        const supplierLocation = firstClosing === undefined ? null : await locationOf(firstClosing.location_id);
        const comment =
          firstClosing === undefined || lastClosing === undefined
            ? `DSFinV-K ${TAXONOMY_VERSION}, Kasse ${register.serial_number}: keine Kassenabschlüsse im Zeitraum`
            : `DSFinV-K ${TAXONOMY_VERSION}, Kasse ${register.serial_number}, Z_NR ${String(firstClosing.z_number)}` +
              (lastClosing === firstClosing ? '' : ` bis ${String(lastClosing.z_number)}`);
        await writeFile(
          join(dir, 'index.xml'),
          indexXml({
            supplierName: firstOrganization.legal_name,
            supplierLocation:
              supplierLocation === null
                ? oneLine(addressOf(firstOrganization.address, firstOrganization.country), firstOrganization.legal_name)
                : oneLine(addressOf(supplierLocation.address), supplierLocation.name),
            comment,
          }),
          'utf8',
        );
        await writeFile(join(dir, GDPDU_DTD_FILE_NAME), GDPDU_DTD, 'utf8');
        // The export's own creation time, so that writing the same export again yields the same bytes.
        await writeTar(out, dir, new Date(subject.createdAt));
      } finally {
        files?.destroy();
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
