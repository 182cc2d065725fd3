import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslVerify, readTarEntries } from '../../../test/helpers/independent-checks.js';
import {
  OID_ECDSA_PLAIN_SHA256,
  OID_SYSTEM_LOG,
  OID_TRANSACTION_LOG,
  assembleLogMessage,
  encodeSystemLogDtbs,
  encodeTransactionLogDtbs,
  logFileName,
  parseLogMessage,
  publicKeyFromPoint,
  publicKeyPoint,
  signDtbs,
  systemOperationData,
  tseSerialNumber,
  verifyLogMessage,
  type ParsedLogMessage,
  type SystemLogFields,
  type TransactionLogFields,
} from './log-message.js';
import { artifact } from '../../../test/helpers/conformance.js';

const BSI_TAR = artifact('germany', 'bsi-tse-simulator-export', 'tse-sim-export-p256.tar');

async function readTar(path: string): Promise<Map<string, Buffer>> {
  const entries = await readTarEntries(readFileSync(path));
  return new Map(entries.map((entry) => [entry.name, entry.content]));
}

let workDir: string;
let bsiLogs: { name: string; bytes: Buffer; parsed: ParsedLogMessage }[];
let bsiPublicKey: KeyObject;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'de-log-'));
  const files = await readTar(BSI_TAR);
  const certificate = files.get('p256_X509.der');
  if (certificate === undefined) throw new Error('BSI sample lacks p256_X509.der');
  bsiPublicKey = new X509Certificate(certificate).publicKey;
  bsiLogs = [...files]
    .filter(([name]) => name.endsWith('.log'))
    .map(([name, bytes]) => ({ name, bytes, parsed: parseLogMessage(bytes) }))
    .sort((a, b) => Number(a.parsed.signatureCounter - b.parsed.signatureCounter));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

function bsiStructure(logType: ParsedLogMessage['logType']): string[] {
  const sample = bsiLogs.find((log) => log.parsed.logType === logType);
  if (sample === undefined) throw new Error(`no ${logType} log in the BSI sample`);
  return sample.parsed.structure;
}

describe('the BSI TSE simulator export', () => {
  it('holds 8 messages, 6 system and 2 transaction logs, with counters 1..8', () => {
    expect(bsiLogs).toHaveLength(8);
    expect(bsiLogs.map((log) => log.parsed.signatureCounter)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    expect(bsiLogs.filter((log) => log.parsed.logType === 'system')).toHaveLength(6);
    expect(
      bsiLogs.filter((log) => log.parsed.logType === 'transaction').map((log) => log.parsed.operationType),
    ).toEqual(['StartTransaction', 'FinishTransaction']);
  });

  it('verifies every signature with the key of p256_X509.der', () => {
    for (const log of bsiLogs) {
      expect(log.parsed.signatureAlgorithm).toBe(OID_ECDSA_PLAIN_SHA256);
      expect(verifyLogMessage(log.parsed, bsiPublicKey), log.name).toBe(true);
    }
  });

  it('has serialNumber = SHA-256 of the public key point', () => {
    const serial = tseSerialNumber(publicKeyPoint(bsiPublicKey));
    for (const log of bsiLogs) expect(log.parsed.serialNumber.equals(serial)).toBe(true);
  });

  it('reproduces every file name, whose time is the logTime', () => {
    for (const log of bsiLogs) {
      expect(logFileName(log.parsed)).toBe(log.name);
      expect(log.name.split('_')[1]).toBe(String(log.parsed.logTime));
    }
  });

  it('is re-encoded byte for byte from the parsed fields', () => {
    for (const { parsed, bytes } of bsiLogs) {
      const dtbs =
        parsed.logType === 'transaction'
          ? encodeTransactionLogDtbs({
              operationType: parsed.operationType as TransactionLogFields['operationType'],
              clientId: parsed.clientId ?? '',
              processData: parsed.processData ?? Buffer.alloc(0),
              processType: parsed.processType ?? '',
              transactionNumber: parsed.transactionNumber ?? 0n,
              serialNumber: parsed.serialNumber,
              signatureCounter: parsed.signatureCounter,
              logTime: parsed.logTime,
            })
          : encodeSystemLogDtbs({
              operationType: parsed.operationType,
              systemOperationData: parsed.systemOperationData ?? Buffer.alloc(0),
              serialNumber: parsed.serialNumber,
              signatureCounter: parsed.signatureCounter,
              logTime: parsed.logTime,
            });
      expect(dtbs.equals(parsed.dtbs)).toBe(true);
      expect(assembleLogMessage(dtbs, parsed.signatureValue).equals(bytes)).toBe(true);
    }
  });

  it('carries systemOperationData that our builder reproduces', () => {
    const data = (n: bigint) => bsiLogs.find((log) => log.parsed.signatureCounter === n)?.parsed.systemOperationData;
    const time = 1795249149n;
    expect(data(1n)).toEqual(
      systemOperationData({
        operationType: 'AuthenticateUser',
        userId: 'root',
        role: 'admin',
        authenticationResult: true,
      }),
    );
    expect(data(2n)).toEqual(systemOperationData({ operationType: 'Initialize', description: 'research-sim' }));
    expect(data(3n)).toEqual(systemOperationData({ operationType: 'LogOut', userId: 'root', logOutCause: 0 }));
    expect(data(4n)).toEqual(
      systemOperationData({
        operationType: 'AuthenticateUser',
        userId: 'timekeeper',
        role: 'timeAdmin',
        authenticationResult: true,
      }),
    );
    expect(data(5n)).toEqual(
      systemOperationData({ operationType: 'UpdateTime', timeBeforeUpdate: time, timeAfterUpdate: time }),
    );
  });

  it('has the transaction the simulator was driven through', () => {
    const finish = bsiLogs[7]?.parsed;
    expect(finish).toMatchObject({
      certifiedDataType: OID_TRANSACTION_LOG,
      clientId: 'POS1',
      processType: 'Kassenbeleg-V1',
      transactionNumber: 1n,
      structure: ['02', '06', '80', '81', '82', '83', '84', '85', '04', '30', '02', '02', '04'],
    });
    expect(finish?.processData?.toString()).toBe('Beleg^12.50_0.00_0.00_0.00_0.00^12.50:Bar');
    expect(bsiLogs[0]?.parsed.certifiedDataType).toBe(OID_SYSTEM_LOG);
  });
});

describe('our log messages', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const point = publicKeyPoint(publicKey);
  const serialNumber = tseSerialNumber(point);
  const processData = Buffer.from('Beleg^19.99_7.00_0.00_0.00_0.00^20.00:Bar_6.99:Unbar');
  const start: TransactionLogFields = {
    operationType: 'StartTransaction',
    clientId: 'KASSE-01',
    processData: Buffer.alloc(0),
    processType: '',
    transactionNumber: 4711n,
    serialNumber,
    signatureCounter: 9000n,
    logTime: 1795249149n,
  };
  const finish: TransactionLogFields = {
    ...start,
    operationType: 'FinishTransaction',
    processData,
    processType: 'Kassenbeleg-V1',
    signatureCounter: 9001n,
    logTime: 1795249210n,
  };
  const initialize: SystemLogFields = {
    operationType: 'Initialize',
    systemOperationData: systemOperationData({ operationType: 'Initialize', description: 'OpenFiskal software TSE' }),
    serialNumber,
    signatureCounter: 1n,
    logTime: 1795240000n,
  };
  const register: SystemLogFields = {
    ...initialize,
    operationType: 'RegisterClient',
    systemOperationData: systemOperationData({ operationType: 'RegisterClient', clientId: 'KASSE-01' }),
    signatureCounter: 2n,
  };
  const disable: SystemLogFields = {
    ...initialize,
    operationType: 'DisableSecureElement',
    systemOperationData: systemOperationData({
      operationType: 'DisableSecureElement',
      timeOfDeactivation: 1795300000n,
    }),
    signatureCounter: 9002n,
    logTime: 1795300000n,
  };

  function signed(dtbs: Buffer): Buffer {
    return assembleLogMessage(dtbs, signDtbs(dtbs, privateKey));
  }
  const messages = {
    start: signed(encodeTransactionLogDtbs(start)),
    finish: signed(encodeTransactionLogDtbs(finish)),
    initialize: signed(encodeSystemLogDtbs(initialize)),
    register: signed(encodeSystemLogDtbs(register)),
    disable: signed(encodeSystemLogDtbs(disable)),
  };

  it('have the top-level structure of the BSI sample', () => {
    expect(parseLogMessage(messages.start).structure).toEqual(bsiStructure('transaction'));
    expect(parseLogMessage(messages.finish).structure).toEqual(bsiStructure('transaction'));
    for (const system of [messages.initialize, messages.register, messages.disable]) {
      expect(parseLogMessage(system).structure).toEqual(bsiStructure('system'));
    }
  });

  it('parse back to the fields they were built from', () => {
    for (const [fields, bytes] of [
      [start, messages.start],
      [finish, messages.finish],
    ] as const) {
      expect(parseLogMessage(bytes)).toMatchObject({
        version: 2,
        logType: 'transaction',
        certifiedDataType: OID_TRANSACTION_LOG,
        operationType: fields.operationType,
        clientId: fields.clientId,
        processData: fields.processData,
        processType: fields.processType,
        transactionNumber: fields.transactionNumber,
        systemOperationData: null,
        serialNumber,
        signatureAlgorithm: OID_ECDSA_PLAIN_SHA256,
        signatureCounter: fields.signatureCounter,
        logTime: fields.logTime,
      });
    }
    expect(parseLogMessage(messages.register)).toMatchObject({
      logType: 'system',
      certifiedDataType: OID_SYSTEM_LOG,
      operationType: 'RegisterClient',
      clientId: null,
      processData: null,
      transactionNumber: null,
      systemOperationData: Buffer.from('81084b415353452d3031', 'hex'),
      signatureCounter: 2n,
    });
    expect(parseLogMessage(messages.disable).systemOperationData?.toString('hex')).toBe(
      '8104' + (1795300000).toString(16),
    );
  });

  it('verify with our verifier and not once altered', () => {
    for (const bytes of Object.values(messages)) {
      const parsed = parseLogMessage(bytes);
      expect(parsed.signatureValue).toHaveLength(64);
      expect(verifyLogMessage(parsed, publicKey)).toBe(true);
      expect(
        verifyLogMessage(
          { ...parsed, logTime: parsed.logTime + 1n, dtbs: Buffer.concat([parsed.dtbs, Buffer.of(0)]) },
          publicKey,
        ),
      ).toBe(false);
    }
  });

  it('are parsed by openssl asn1parse and verify with openssl dgst', () => {
    const pubPem = join(workDir, 'pub.pem');
    writeFileSync(pubPem, publicKey.export({ type: 'spki', format: 'pem' }));
    for (const [name, bytes] of Object.entries(messages)) {
      const file = join(workDir, `${name}.log`);
      writeFileSync(file, bytes);
      const dump = execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-in', file], { encoding: 'utf8' });
      expect(dump).toContain('OBJECT            :0.4.0.127.0.7.1.1.4.1.3');

      const parsed = parseLogMessage(bytes);
      // Independent of the parser: the outer header is 3 bytes for these lengths, the signature TLV is 2 + 64.
      expect(bytes[0]).toBe(0x30);
      const headerLength = (bytes[1] ?? 0) < 0x80 ? 2 : 2 + ((bytes[1] ?? 0) & 0x7f);
      expect(parsed.dtbs.equals(bytes.subarray(headerLength, bytes.length - 66))).toBe(true);
      expect(bytes.subarray(bytes.length - 66, bytes.length - 64).toString('hex')).toBe('0440');

      expect(opensslVerify(workDir, pubPem, parsed.dtbs, parsed.signatureValue, name)).toBe('Verified OK');
    }
  });

  it('are named like the BSI sample names its logs', () => {
    expect(logFileName(parseLogMessage(messages.start))).toBe(
      'Unixt_1795249149_Sig-9000_Log-Tra_No-4711_Start_Client-KASSE-01.log',
    );
    expect(logFileName(parseLogMessage(messages.finish))).toBe(
      'Unixt_1795249210_Sig-9001_Log-Tra_No-4711_Finish_Client-KASSE-01.log',
    );
    expect(logFileName(parseLogMessage(messages.register))).toBe('Unixt_1795240000_Sig-2_Log-Sys_RegisterClient.log');
    expect(
      logFileName({
        logType: 'transaction',
        operationType: 'UpdateTransaction',
        logTime: 5n,
        signatureCounter: 6n,
        transactionNumber: 7n,
        clientId: 'C',
      }),
    ).toBe('Unixt_5_Sig-6_Log-Tra_No-7_Update_Client-C.log');
    expect(
      logFileName({
        logType: 'audit',
        operationType: '',
        logTime: 5n,
        signatureCounter: 6n,
        transactionNumber: null,
        clientId: null,
      }),
    ).toBe('Unixt_5_Sig-6_Log-Aud.log');
  });

  it('refuse fields a TSE cannot write', () => {
    expect(() => encodeTransactionLogDtbs({ ...finish, clientId: 'Kasse_1' })).toThrow(/PrintableString/);
    expect(() => encodeTransactionLogDtbs({ ...finish, clientId: 'a/b' })).toThrow(/'\/'/);
    expect(() => encodeTransactionLogDtbs({ ...finish, transactionNumber: 0n })).toThrow(/transactionNumber/);
    expect(() => encodeTransactionLogDtbs({ ...finish, serialNumber: Buffer.alloc(31) })).toThrow(/32 bytes/);
    expect(() => encodeSystemLogDtbs({ ...initialize, signatureCounter: 0n })).toThrow(/signatureCounter/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => signDtbs(Buffer.from('x'), rsa.privateKey)).toThrow(/P-256/);
  });
});

describe('parseLogMessage', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serialNumber = Buffer.alloc(32, 7);
  const fields: TransactionLogFields = {
    operationType: 'FinishTransaction',
    clientId: 'POS1',
    processData: Buffer.from('Beleg^12.50_0.00_0.00_0.00_0.00^12.50:Bar'),
    processType: 'Kassenbeleg-V1',
    transactionNumber: 1n,
    serialNumber,
    signatureCounter: 8n,
    logTime: 1795249149n,
  };

  it('accepts processData as constructed [2] with indefinite length, as D-Trust TSEs write it', () => {
    const definite = encodeTransactionLogDtbs(fields);
    const primitive = Buffer.concat([Buffer.of(0x82, fields.processData.length), fields.processData]);
    const at = definite.indexOf(primitive);
    const chunked = Buffer.concat([
      Buffer.from('a280', 'hex'),
      Buffer.of(0x04, 10),
      fields.processData.subarray(0, 10),
      Buffer.of(0x04, fields.processData.length - 10),
      fields.processData.subarray(10),
      Buffer.from('0000', 'hex'),
    ]);
    const dtbs = Buffer.concat([definite.subarray(0, at), chunked, definite.subarray(at + primitive.length)]);
    const message = assembleLogMessage(dtbs, signDtbs(dtbs, privateKey));
    const parsed = parseLogMessage(message);
    expect(parsed.processData?.toString()).toBe(fields.processData.toString());
    expect(parsed.structure).toEqual(['02', '06', '80', '81', 'a2', '83', '84', '85', '04', '30', '02', '02', '04']);
    expect(parsed.dtbs.equals(dtbs)).toBe(true);
    expect(verifyLogMessage(parsed, createPublicKey(privateKey))).toBe(true);
  });

  it('throws a clear error for malformed input', () => {
    const good = assembleLogMessage(encodeTransactionLogDtbs(fields), Buffer.alloc(64, 1));
    expect(() => parseLogMessage(Buffer.from('020102', 'hex'))).toThrow(/must be a SEQUENCE/);
    expect(() => parseLogMessage(good.subarray(0, good.length - 1))).toThrow(/claims/);
    expect(() => parseLogMessage(Buffer.concat([good, Buffer.of(0)]))).toThrow(/after its end/);
    const noSignature = Buffer.concat([
      Buffer.of(0x30, 0x81, good.length - 3 - 66),
      good.subarray(3, good.length - 66),
    ]);
    expect(() => parseLogMessage(noSignature)).toThrow(/signatureValue/);
    const version3 = Buffer.from(good);
    version3[5] = 3;
    expect(() => parseLogMessage(version3)).toThrow(/version 3/);
    const unknownType = Buffer.from(good);
    unknownType[16] = 9;
    expect(() => parseLogMessage(unknownType)).toThrow(/certifiedDataType/);
  });
});

describe('public key points', () => {
  it('round-trip between KeyObject and 04‖X‖Y', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const point = publicKeyPoint(publicKey);
    expect(point).toHaveLength(65);
    expect(point[0]).toBe(4);
    const again = publicKeyFromPoint(point);
    expect(publicKeyPoint(again).equals(point)).toBe(true);
    expect(again.export({ type: 'spki', format: 'der' }).subarray(-65).equals(point)).toBe(true);
  });

  it('refuse points off the curve and other shapes', () => {
    const point = publicKeyPoint(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    const off = Buffer.from(point);
    off[64] = (off[64] ?? 0) ^ 1;
    expect(() => publicKeyFromPoint(off)).toThrow();
    expect(() => publicKeyFromPoint(point.subarray(0, 33))).toThrow(/uncompressed/);
    expect(() => tseSerialNumber(Buffer.alloc(65))).toThrow(/uncompressed/);
    expect(() => publicKeyPoint(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)).toThrow(/P-256/);
  });
});
