/**
 * `dep7` (AT): the RKSV Datenerfassungsprotokoll in the export format of the Detailspezifikation (Z 3, "DEP7") and
 * the cryptographic material container verifiers take next to it (BMF Prüftool, ztp-at/RKSV `verify.py`), as one
 * TAR of two members:
 *
 * - `dep7.json`: `{"Belege-Gruppe":[{"Signaturzertifikat","Zertifizierungsstellen","Belege-kompakt"},…]}` — every
 *   receipt issued in [from, to] (inclusive, like every export period), exactly as issued, in Belegnummer order. A
 *   new group starts whenever the signing device changes between consecutive receipts; an open-system group carries
 *   the device's certificate. Closed-system devices have no certificate: their receipts share groups with an empty
 *   Signaturzertifikat, and consecutive closed-system devices share one group, because verifiers refuse a DEP with
 *   several certificate-less groups (ztp-at `NoCertificateGivenException`) — they find each key in the container by
 *   the key id the receipt names. A register never mixes the two systems (RKSV; the register enforces it).
 * - `cryptographicMaterialContainer.json`: `{base64AESKey, certificateOrPublicKeyMap}` with the register's AES key
 *   and every device named by a receipt of the export (certificate, or bare public key under its key id).
 *
 * Memory stays flat, and the bytes are the same every time the same export is written: a TAR member's header carries
 * its size before its content (ustar; tar-stream needs it to write the header), so the JSON's length must be known
 * before its first byte. Instead of holding the JSON in memory (it grows with the period) or in a temporary file, the
 * receipts are read twice in keyset batches over the same fixed set — issued in the period, with a Belegnummer
 * between the lowest and the highest one there when the export started (receipts are never changed once issued) —
 * the first pass counts the JSON's bytes and collects the devices, the second streams the JSON batch by batch into
 * the archive and checks that it wrote exactly as many bytes. Progress counts receipt reads: its total is twice the
 * number of receipts.
 * @module
 */
import { createPublicKey } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, type Pack } from 'tar-stream';
import { open } from '../../crypto/secret-box.js';
import {
  buildCryptographicMaterialContainer,
  certificateEntry,
  publicKeyEntry,
  type CryptographicMaterialEntry,
} from '../../regimes/at/dep7.js';
import { base64Decode } from '../../regimes/at/encoding.js';
import { parseAesKey } from '../../regimes/at/turnover-counter.js';
import type { ExportRepository, RksvDeviceRow, RksvReceiptRow } from './export.repository.js';
import {
  tarFileHeader,
  tarFileName,
  type ExportSubject,
  type ExportWriteContext,
  type ExportWriter,
} from './export-writer.js';

export interface Dep7ExportDeps {
  readonly source: Pick<ExportRepository, 'rksvRegister' | 'rksvDevices' | 'rksvReceiptRange' | 'rksvReceiptBatch'>;
  /** The key `rksv_registers.aes_key` is sealed with (secret box, bound to the register id). */
  readonly keyEncryptionKey: Buffer;
  /** Receipts per query (default 500). */
  readonly batchSize?: number;
}

export const DEP7_FILE_NAME = 'dep7.json';
export const CRYPTOGRAPHIC_MATERIAL_CONTAINER_FILE_NAME = 'cryptographicMaterialContainer.json';

/**
 * What decides a receipt's group: the device for an open system (each has its own certificate), one shared key for
 * every closed-system device (no certificate; see the module comment).
 */
function groupKey(device: RksvDeviceRow): string {
  return device.system === 'closed' ? '' : device.fiscal_unit_id;
}

/** The group's Signaturzertifikat: the certificate as canonical Base64 DER, or empty for a closed system. */
function signaturzertifikat(device: RksvDeviceRow): string {
  if (device.system === 'closed' || device.certificate === null) return '';
  base64Decode(device.certificate); // throws unless canonical padded Base64
  return device.certificate;
}

function containerEntry(device: RksvDeviceRow): CryptographicMaterialEntry {
  if (device.system === 'open' && device.certificate !== null) {
    return certificateEntry(base64Decode(device.certificate));
  }
  const key = createPublicKey({ key: base64Decode(device.public_key), format: 'der', type: 'spki' });
  return publicKeyEntry(device.container_id, key);
}

/**
 * The DEP7 JSON as text pieces, one per batch: the same bytes `JSON.stringify(buildDep7(…))` gives for the same
 * receipts grouped the same way. Zertifizierungsstellen are empty: the devices this server keeps (software
 * certificates) are self-signed, and `rksv_devices` holds no issuer chain.
 */
async function* dep7Pieces(
  batches: AsyncIterable<readonly RksvReceiptRow[]>,
  deviceOf: (row: RksvReceiptRow) => RksvDeviceRow,
): AsyncGenerator<string> {
  yield '{"Belege-Gruppe":[';
  let current: string | null = null;
  for await (const batch of batches) {
    let text = '';
    for (const row of batch) {
      const device = deviceOf(row);
      const key = groupKey(device);
      if (key === current) {
        text += `,${JSON.stringify(row.jws)}`;
      } else {
        text +=
          (current === null ? '' : ']},') +
          `{"Signaturzertifikat":${JSON.stringify(signaturzertifikat(device))},"Zertifizierungsstellen":[],` +
          `"Belege-kompakt":[${JSON.stringify(row.jws)}`;
        current = key;
      }
    }
    yield text;
  }
  yield `${current === null ? '' : ']}'}]}`;
}

export function createDep7ExportWriter(deps: Dep7ExportDeps): ExportWriter {
  const { source, keyEncryptionKey } = deps;
  const batchSize = deps.batchSize ?? 500;

  return {
    type: 'dep7',
    jurisdictions: ['AT'],
    contentType: 'application/x-tar',

    fileName: (subject: ExportSubject) => tarFileName('dep7', subject),

    async write(out, subject, context: ExportWriteContext) {
      const { registerId, from, to } = subject;
      const register = await source.rksvRegister(registerId);
      const devices = new Map((await source.rksvDevices(registerId)).map((device) => [device.fiscal_unit_id, device]));
      const range = await source.rksvReceiptRange(registerId, from, to);
      if (range.count > 0 && register === undefined) {
        throw new Error(`Register ${registerId} has RKSV receipts but no RKSV state`);
      }
      // No RKSV state yet (no fiscal unit was ever provisioned, so no receipt exists): an empty DEP, and a container
      // without key, for there is none.
      let base64AesKey = '';
      if (register !== undefined) {
        base64AesKey = open(keyEncryptionKey, register.aes_key, registerId);
        parseAesKey(base64AesKey); // throws unless 32 bytes of Base64
      }

      const total = range.count * 2;
      let done = 0;
      await context.progress(0, total);

      const deviceOf = (row: RksvReceiptRow): RksvDeviceRow => {
        const device = devices.get(row.fiscal_unit_id);
        if (device === undefined) {
          throw new Error(
            `Receipt ${row.receipt_number} of register ${registerId} names unknown device ${row.fiscal_unit_id}`,
          );
        }
        return device;
      };

      /** One pass over the export's receipts, in Belegnummer order. */
      async function* batches(): AsyncGenerator<RksvReceiptRow[]> {
        const { firstNumber, lastNumber } = range;
        if (firstNumber === null || lastNumber === null) return;
        let after = firstNumber - 1n;
        for (;;) {
          context.signal.throwIfAborted();
          const batch = await source.rksvReceiptBatch(registerId, from, to, after, lastNumber, batchSize);
          if (batch.length > 0) yield batch;
          done += batch.length;
          await context.progress(done, total);
          const last = batch.at(-1);
          if (last === undefined || batch.length < batchSize) break;
          after = last.receipt_number;
        }
      }

      // Pass 1: the JSON's size, and the devices in order of their first receipt.
      const used = new Map<string, RksvDeviceRow>();
      let size = 0;
      for await (const piece of dep7Pieces(batches(), (row) => {
        const device = deviceOf(row);
        used.set(device.fiscal_unit_id, device);
        return device;
      })) {
        size += Buffer.byteLength(piece, 'utf8');
      }
      const container = Buffer.from(
        JSON.stringify(buildCryptographicMaterialContainer(base64AesKey, [...used.values()].map(containerEntry))),
        'utf8',
      );

      // Pass 2: the same receipts, streamed into the archive.
      async function* dep7Bytes(): AsyncGenerator<Buffer> {
        let written = 0;
        for await (const piece of dep7Pieces(batches(), deviceOf)) {
          const bytes = Buffer.from(piece, 'utf8');
          written += bytes.length;
          yield bytes;
        }
        if (written !== size) {
          throw new Error(
            `The receipts of export ${subject.id} changed while it was written (${written} ≠ ${size} bytes)`,
          );
        }
      }

      // The export's own creation time, so that writing the same export again yields the same bytes.
      const mtime = new Date(subject.createdAt);
      const archive = tarPack();
      const fill = async (target: Pack): Promise<void> => {
        await pipeline(Readable.from(dep7Bytes()), target.entry(tarFileHeader(DEP7_FILE_NAME, size, mtime)));
        await pipeline(
          Readable.from([container]),
          target.entry(tarFileHeader(CRYPTOGRAPHIC_MATERIAL_CONTAINER_FILE_NAME, container.length, mtime)),
        );
        target.finalize();
      };
      const filled = fill(archive).catch((error: unknown) => {
        archive.destroy(error instanceof Error ? error : new Error(String(error)));
        throw error;
      });
      await Promise.all([filled, pipeline(archive, out)]);
    },
  };
}
