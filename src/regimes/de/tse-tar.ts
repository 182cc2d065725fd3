/**
 * The TAR export of a TSE (TR-03151 exportData): `info.csv`, the certificates as PEM, one file per log message.
 * Written as a stream so that an export of millions of logs needs no more memory than one of ten.
 * @module
 */
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, type Pack } from 'tar-stream';

export interface TseTarLog {
  fileName: string;
  message: Buffer;
  /** Unix seconds; becomes the member's modification time. */
  logTime: bigint;
}

export interface TseTarInput {
  info: { description: string; manufacturer: string; version: string };
  certificates: ReadonlyArray<{ serialHex: string /* upper-case hex TSE serial */; der: Buffer }>;
  logs: AsyncIterable<TseTarLog>;
  /** Modification time of `info.csv` and the certificates; defaults to now. */
  exportedAt?: Date;
}

const FILE_MODE = 0o644;
const SERIAL_HEX = /^[0-9A-F]+$/;
// One path segment, no directory parts: members of a TSE export all sit at the archive's root.
const PLAIN_FILE_NAME = /^[^/\\\0]+$/;

function csvField(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/** `info.csv` as the BSI simulator writes it: one line of six quoted fields, ending in a newline. */
export function infoCsv(info: TseTarInput['info']): string {
  return (
    ['description:', info.description, 'manufacturer:', info.manufacturer, 'version:', info.version]
      .map(csvField)
      .join(',') + '\n'
  );
}

function pem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Adds one file and resolves once the archive has taken it, which waits while the reader is behind. */
function addFile(archive: Pack, name: string, content: Buffer, mtime: Date): Promise<void> {
  if (!PLAIN_FILE_NAME.test(name)) throw new Error(`Not a plain file name: ${JSON.stringify(name)}`);
  return new Promise((resolve, reject) => {
    archive.entry(
      {
        name,
        size: content.length,
        mtime,
        mode: FILE_MODE,
        uid: 0,
        gid: 0,
        uname: 'root',
        gname: 'root',
        type: 'file',
      },
      content,
      (error) => {
        if (error) reject(error);
        else resolve();
      },
    );
  });
}

async function fill(archive: Pack, input: TseTarInput): Promise<void> {
  const exportedAt = input.exportedAt ?? new Date();
  await addFile(archive, 'info.csv', Buffer.from(infoCsv(input.info), 'utf8'), exportedAt);
  for (const certificate of input.certificates) {
    if (!SERIAL_HEX.test(certificate.serialHex)) {
      throw new Error(`Certificate serial must be upper-case hex: ${JSON.stringify(certificate.serialHex)}`);
    }
    await addFile(
      archive,
      `${certificate.serialHex}_X509.pem`,
      Buffer.from(pem(certificate.der), 'latin1'),
      exportedAt,
    );
  }
  for await (const log of input.logs) {
    await addFile(archive, log.fileName, log.message, new Date(Number(log.logTime) * 1000));
  }
  archive.finalize();
}

/**
 * Writes the TAR (ustar) to `out` and ends it: `info.csv` first, then the certificates as `<SERIAL>_X509.pem`, then the
 * logs in the order given, each with mode 0644 and its log time as modification time. Resolves when everything has
 * been flushed to `out`; rejects (and destroys the archive) when reading the logs or writing fails.
 */
export async function writeTseTar(out: NodeJS.WritableStream, input: TseTarInput): Promise<void> {
  const archive = tarPack();
  const filled = fill(archive, input).catch((error: unknown) => {
    archive.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  });
  await Promise.all([filled, pipeline(archive, out)]);
}
