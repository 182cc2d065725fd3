import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslVerify, readTarEntries } from '../../../test/helpers/independent-checks.js';
import { createSelfSignedCertificate } from './certificate.js';
import {
  assembleLogMessage,
  encodeSystemLogDtbs,
  encodeTransactionLogDtbs,
  logFileName,
  parseLogMessage,
  publicKeyPoint,
  signDtbs,
  systemOperationData,
  tseSerialNumber,
  verifyLogMessage,
  type TransactionOperation,
} from './log-message.js';
import { infoCsv, writeTseTar, type TseTarLog } from './tse-tar.js';

const LOG_COUNT = 3000;
const FIRST_LOG_TIME = 1795249149n;
const info = { description: 'research-sim', manufacturer: 'MANUFACTURER-INFO', version: 'TSE-Sim-DevVersion' };

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const serialNumber = tseSerialNumber(publicKeyPoint(publicKey));
const serialHex = serialNumber.toString('hex').toUpperCase();
const certificate = createSelfSignedCertificate({
  privateKey,
  publicKey,
  commonName: serialHex,
  serialNumber: serialNumber.subarray(0, 16),
  notBefore: new Date('2026-01-01T00:00:00Z'),
  notAfter: new Date('2036-01-01T00:00:00Z'),
});

/** One RegisterClient system log, then Start/Finish pairs: signature counter n, one second apart. */
function makeLogs(count: number): TseTarLog[] {
  const logs: TseTarLog[] = [];
  for (let n = 1n; n <= BigInt(count); n++) {
    const logTime = FIRST_LOG_TIME + n;
    let dtbs: Buffer;
    let fileName: string;
    if (n === 1n) {
      dtbs = encodeSystemLogDtbs({
        operationType: 'RegisterClient',
        systemOperationData: systemOperationData({ operationType: 'RegisterClient', clientId: 'POS1' }),
        serialNumber,
        signatureCounter: n,
        logTime,
      });
      fileName = logFileName({
        logType: 'system',
        operationType: 'RegisterClient',
        logTime,
        signatureCounter: n,
        transactionNumber: null,
        clientId: null,
      });
    } else {
      const operationType: TransactionOperation = n % 2n === 0n ? 'StartTransaction' : 'FinishTransaction';
      dtbs = encodeTransactionLogDtbs({
        operationType,
        clientId: 'POS1',
        processData: Buffer.from(operationType === 'StartTransaction' ? '' : 'Beleg^1.00_0.00_0.00_0.00_0.00^1.00:Bar'),
        processType: operationType === 'StartTransaction' ? '' : 'Kassenbeleg-V1',
        transactionNumber: n / 2n,
        serialNumber,
        signatureCounter: n,
        logTime,
      });
      fileName = logFileName({
        logType: 'transaction',
        operationType,
        logTime,
        signatureCounter: n,
        transactionNumber: n / 2n,
        clientId: 'POS1',
      });
    }
    logs.push({ fileName, message: assembleLogMessage(dtbs, signDtbs(dtbs, privateKey)), logTime });
  }
  return logs;
}

async function readTar(path: string): Promise<Map<string, Buffer>> {
  const entries = await readTarEntries(readFileSync(path));
  return new Map(entries.map((entry) => [entry.name, entry.content]));
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

let workDir: string;
let tarPath: string;
let logs: TseTarLog[];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'de-tar-'));
  tarPath = join(workDir, 'export.tar');
  logs = makeLogs(LOG_COUNT);
  await writeTseTar(createWriteStream(tarPath), {
    info,
    certificates: [{ serialHex, der: certificate }],
    logs: iterate(logs),
    exportedAt: new Date('2026-11-21T08:19:09Z'),
  });
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('infoCsv', () => {
  it('matches the BSI simulator byte for byte', () => {
    expect(infoCsv(info)).toBe(
      '"description:","research-sim","manufacturer:","MANUFACTURER-INFO","version:","TSE-Sim-DevVersion"\n',
    );
    expect(infoCsv({ description: 'a "b"', manufacturer: '', version: '1' })).toBe(
      '"description:","a ""b""","manufacturer:","","version:","1"\n',
    );
  });
});

describe('writeTseTar', () => {
  it('lists info.csv, the certificate and every log in order, mode 0644, mtime = logTime', () => {
    const listing = execFileSync('tar', ['--full-time', '-tvf', tarPath], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'UTC' },
    })
      .trim()
      .split('\n');
    expect(listing).toHaveLength(2 + LOG_COUNT);
    const names = listing.map((line) => line.split(/\s+/).at(-1));
    expect(names).toEqual(['info.csv', `${serialHex}_X509.pem`, ...logs.map((log) => log.fileName)]);
    expect(listing.every((line) => line.startsWith('-rw-r--r-- '))).toBe(true);
    expect(listing[0]).toContain('2026-11-21 08:19:09');
    // Log 1 was written at FIRST_LOG_TIME + 1 = 1795249150.
    expect(listing[2]).toContain('2026-11-21 08:19:10 Unixt_1795249150_Sig-1_Log-Sys_RegisterClient.log');
    expect(names[3]).toBe('Unixt_1795249151_Sig-2_Log-Tra_No-1_Start_Client-POS1.log');
    expect(names[4]).toBe('Unixt_1795249152_Sig-3_Log-Tra_No-1_Finish_Client-POS1.log');
  });

  it('holds exactly what was put in, and its logs verify', async () => {
    const files = await readTar(tarPath);
    expect([...files.keys()]).toEqual(['info.csv', `${serialHex}_X509.pem`, ...logs.map((log) => log.fileName)]);
    expect(files.get('info.csv')).toEqual(Buffer.from(infoCsv(info)));
    const pem = files.get(`${serialHex}_X509.pem`)?.toString('latin1') ?? '';
    expect(pem).toMatch(
      /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/,
    );
    const exportedCertificate = new X509Certificate(pem);
    expect(exportedCertificate.raw).toEqual(certificate);
    const exportedKey = exportedCertificate.publicKey;
    expect(logs.filter((log) => files.get(log.fileName)?.equals(log.message) !== true)).toEqual([]);
    // Every file came back byte for byte; verifying every 25th keeps the test fast.
    for (const log of logs.filter((_, index) => index % 25 === 0)) {
      expect(verifyLogMessage(parseLogMessage(log.message), exportedKey)).toBe(true);
    }
  });

  it('extracts with system tar to files whose signatures openssl verifies (a sample)', () => {
    const dir = join(workDir, 'x');
    mkdirSync(dir);
    const sample = [logs[0], logs[1], logs[2], logs[LOG_COUNT - 1]].map((log) => {
      if (log === undefined) throw new Error('sample log missing');
      return log;
    });
    execFileSync('tar', [
      '-xf',
      tarPath,
      '-C',
      dir,
      'info.csv',
      `${serialHex}_X509.pem`,
      ...sample.map((log) => log.fileName),
    ]);
    expect(readFileSync(join(dir, 'info.csv'))).toEqual(Buffer.from(infoCsv(info)));
    const pubPem = join(workDir, 'pub.pem');
    writeFileSync(
      pubPem,
      execFileSync('openssl', ['x509', '-in', join(dir, `${serialHex}_X509.pem`), '-noout', '-pubkey']),
    );
    for (const log of sample) {
      const parsed = parseLogMessage(readFileSync(join(dir, log.fileName)));
      expect(opensslVerify(workDir, pubPem, parsed.dtbs, parsed.signatureValue), log.fileName).toBe('Verified OK');
    }
  });

  it('waits for a slow reader instead of buffering the logs', async () => {
    let produced = 0;
    let consumedBytes = 0;
    let maxLead = 0;
    const source = (async function* () {
      for (const log of logs.slice(0, 400)) {
        produced++;
        // Each member takes at least 1 KiB (512-byte header, content padded to 512).
        maxLead = Math.max(maxLead, produced - consumedBytes / 1024);
        yield await Promise.resolve(log);
      }
    })();
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, callback) {
        consumedBytes += chunk.length;
        setImmediate(callback);
      },
    });
    await writeTseTar(slow, { info, certificates: [], logs: source });
    expect(produced).toBe(400);
    expect(maxLead).toBeLessThan(64);
  });

  it('rejects when the logs fail, and refuses names that are paths', async () => {
    const failing = (async function* () {
      yield await Promise.resolve(logs[0] as TseTarLog);
      throw new Error('database went away');
    })();
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    await expect(writeTseTar(sink, { info, certificates: [], logs: failing })).rejects.toThrow('database went away');

    const sink2 = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    await expect(
      writeTseTar(sink2, {
        info,
        certificates: [],
        logs: iterate([{ fileName: '../x.log', message: Buffer.alloc(1), logTime: 1n }]),
      }),
    ).rejects.toThrow(/plain file name/);

    const sink3 = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    await expect(
      writeTseTar(sink3, { info, certificates: [{ serialHex: 'abc', der: certificate }], logs: iterate([]) }),
    ).rejects.toThrow(/upper-case hex/);
  });
});
