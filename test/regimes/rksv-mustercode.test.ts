/**
 * Replays the BMF Mustercode test suites (TESTSUITE_TEST_SZENARIO_1…8: start, standard, storno, training and null
 * receipts over three signature devices that fail now and then) through our Austrian register, and checks the result
 * with plain node:crypto — nothing from src/regimes/at is used to check, so a shared bug cannot hide:
 * ES256 signatures against the exported certificate or public key, the chain recomputed, every turnover counter
 * decrypted and compared with the running sum of the spec's amounts, the Startbeleg first, and a signed null receipt
 * (Sammelbeleg) after every failure. The independent DEP7 verifier (test/helpers/rksv-verifier.ts) must accept every
 * export.
 */
import { createDecipheriv, createHash, createPublicKey, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  UNSUPPORTED_SPEC_FEATURES,
  loadRksvTestSpec,
  replayRksvSpec,
  type RksvReplayOptions,
  type RksvReplayResult,
  type RksvTestSpec,
} from '../helpers/rksv-replay.js';
import { verifyDep7 } from '../helpers/rksv-verifier.js';
import { artifact } from '../helpers/conformance.js';

const AUSTRIA = artifact('austria') + '/';
const SCENARIOS = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => `TESTSUITE_TEST_SZENARIO_${n}.json`);
const FAILED = Buffer.from('Sicherheitseinrichtung ausgefallen', 'utf8').toString('base64url');

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const euroText = (euros: number) => euros.toFixed(2).replace('.', ',');
const euroCents = (euros: number) => BigInt(Math.round(euros * 100));

interface DecodedReceipt {
  header: string;
  fields: string[];
  signingInput: string;
  signatureSegment: string;
}

function decode(jws: string): DecodedReceipt {
  const [header = '', payload = '', signatureSegment = ''] = jws.split('.');
  return {
    header: Buffer.from(header, 'base64url').toString('utf8'),
    fields: Buffer.from(payload, 'base64url').toString('utf8').split('_'),
    signingInput: `${header}.${payload}`,
    signatureSegment,
  };
}

function containerKey(result: RksvReplayResult, serial: string): KeyObject {
  const entry = result.container.certificateOrPublicKeyMap[serial];
  if (entry === undefined) throw new Error(`no container entry for ${serial}`);
  const der = Buffer.from(entry.signatureCertificateOrPublicKey, 'base64');
  return entry.signatureDeviceType === 'CERTIFICATE'
    ? new X509Certificate(der).publicKey
    : createPublicKey({ key: der, format: 'der', type: 'spki' });
}

function decryptCounter(aesKey: Buffer, cashBoxId: string, receiptId: string, field: string): bigint {
  const iv = sha256(cashBoxId + receiptId).subarray(0, 16);
  const decipher = createDecipheriv('aes-256-ctr', aesKey, iv);
  const plain = Buffer.concat([decipher.update(Buffer.from(field, 'base64')), decipher.final()]);
  const unsigned = BigInt(`0x${plain.toString('hex')}`);
  return BigInt.asIntN(plain.length * 8, unsigned);
}

const SPEC_AMOUNT_KEYS = [
  'taxSetNormal',
  'taxSetErmaessigt1',
  'taxSetErmaessigt2',
  'taxSetNull',
  'taxSetBesonders',
] as const;

function checkReplay(spec: RksvTestSpec, result: RksvReplayResult, closed: boolean): void {
  const instructions = spec.cashBoxInstructionList;
  const aesKey = Buffer.from(spec.base64AesKey, 'base64');
  const allJws = result.dep7['Belege-Gruppe'].flatMap((group) => group['Belege-kompakt']);
  expect(allJws).toEqual(result.receipts.map((receipt) => receipt.jws));
  expect(result.receipts.map((receipt) => receipt.receiptIdentifier)).toEqual(
    instructions.map((instruction) => instruction.receiptIdentifier),
  );
  // Every receipt went through issueReceipt with the RKSV rules: none broke one, none was tampered with.
  expect(result.receipts.filter((receipt) => receipt.ruleViolation !== null || receipt.tampered)).toEqual([]);
  expect(result.receipts[0]?.kind).toBe('start');

  let previous: string | null = null;
  let turnover = 0n;
  let previousFailed = false;
  instructions.forEach((instruction, index) => {
    const receipt = result.receipts[index];
    if (receipt === undefined) throw new Error(`receipt ${index} missing`);
    const { header, fields, signingInput, signatureSegment } = decode(receipt.jws);
    expect(header).toBe('{"alg":"ES256"}');
    expect(fields).toHaveLength(13);
    expect(fields[0]).toBe('');
    expect(fields[1]).toBe(closed ? 'R1-AT0' : 'R1-AT100');
    expect(fields.slice(2, 5)).toEqual([spec.cashBoxId, instruction.receiptIdentifier, instruction.dateToUse]);
    expect(fields.slice(5, 10)).toEqual(SPEC_AMOUNT_KEYS.map((key) => euroText(instruction.simplifiedReceipt[key])));
    const serial = fields[11] ?? '';
    expect(serial).toMatch(closed ? /^U:ATU12345678-K[0-2]$/ : /^[1-9a-f][0-9a-f]*$/);

    // Chaining: the first receipt hashes the Kassen-ID, every other one the previous JWS.
    expect(fields[12]).toBe(
      sha256(previous ?? spec.cashBoxId)
        .subarray(0, 8)
        .toString('base64'),
    );

    // Signature, or the failure marker.
    if (instruction.signatureDeviceDamaged) {
      expect(signatureSegment).toBe(FAILED);
    } else {
      const signature = Buffer.from(signatureSegment, 'base64url');
      expect(signature).toHaveLength(64);
      const key = containerKey(result, serial);
      expect(verify('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    }
    expect(receipt.qr).toBe(`${fields.join('_')}_${Buffer.from(signatureSegment, 'base64url').toString('base64')}`);

    // Turnover counter: all amounts count, storno included, training not.
    const sum = SPEC_AMOUNT_KEYS.reduce((total, key) => total + euroCents(instruction.simplifiedReceipt[key]), 0n);
    if (instruction.typeOfReceipt === 'TRAINING_BELEG') {
      expect(fields[10]).toBe('VFJB');
    } else {
      turnover += sum;
      if (instruction.typeOfReceipt === 'STORNO_BELEG') {
        expect(fields[10]).toBe('U1RP');
      } else {
        expect(Buffer.from(fields[10] ?? '', 'base64')).toHaveLength(8);
        expect(decryptCounter(aesKey, spec.cashBoxId, instruction.receiptIdentifier, fields[10] ?? '')).toBe(turnover);
      }
    }

    // After a failure, the first signed receipt is a null receipt: the Sammelbeleg.
    if (previousFailed && !instruction.signatureDeviceDamaged) {
      expect(sum).toBe(0n);
      expect(instruction.typeOfReceipt).toBe('NULL_BELEG');
      expect(receipt.kind).toBe('collective');
    }
    if (index === 0) {
      expect(instruction.signatureDeviceDamaged).toBe(false);
      expect(sum).toBe(0n);
    }
    previousFailed = instruction.signatureDeviceDamaged;
    previous = receipt.jws;
  });
}

describe.each(SCENARIOS)('Mustercode %s', (file) => {
  const spec = loadRksvTestSpec(`${AUSTRIA}mustercode-testsuites/${file}`);
  const variants: Array<[string, RksvReplayOptions]> = [
    ['open system, one group', { closedSystem: false }],
    ['open system, a group per certificate', { closedSystem: false, grouping: 'per-certificate' }],
    ['closed system', { closedSystem: true }],
  ];

  it.each(variants)('%s', (_name, options) => {
    const result = replayRksvSpec(spec, options);
    const closed = options.closedSystem === true;
    checkReplay(spec, result, closed);

    const groups = result.dep7['Belege-Gruppe'];
    if (options.grouping === 'per-certificate') {
      expect(groups.length).toBeGreaterThan(1);
      for (const group of groups) {
        const certificate = new X509Certificate(Buffer.from(group.Signaturzertifikat, 'base64'));
        const serial = BigInt(`0x${certificate.serialNumber}`).toString(16);
        for (const jws of group['Belege-kompakt']) expect(decode(jws).fields[11]).toBe(serial);
      }
    } else {
      expect(groups).toHaveLength(1);
      expect(groups[0]?.Signaturzertifikat).toBe('');
    }
    const entries = Object.values(result.container.certificateOrPublicKeyMap);
    expect(entries).toHaveLength(spec.numberOfSignatureDevices);
    expect(new Set(entries.map((entry) => entry.signatureDeviceType))).toEqual(
      new Set([closed ? 'PUBLIC_KEY' : 'CERTIFICATE']),
    );
    expect(result.container.base64AESKey).toBe(spec.base64AesKey);

    const verdict = verifyDep7(result.dep7, result.container);
    expect(verdict.errors).toEqual([]);
    expect(verdict).toMatchObject({ valid: true, receipts: spec.cashBoxInstructionList.length });
  });
});

function specFiles(directory: string): string[] {
  return readdirSync(`${AUSTRIA}ztp-rksv-tests/${directory}`)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => `${directory}${name}`);
}

// Every ztp-at/RKSV spec against the verifier is test/rksv-ztp-negative.test.ts; here only what the replay adds.
describe('replay of ztp-at/RKSV spec extensions', () => {
  it('splits the export where a spec begins a continued DEP', () => {
    const spec = loadRksvTestSpec(
      `${AUSTRIA}ztp-rksv-tests/regkassen-test-cases-0.7.1-with-splits/TESTSUITE_TEST_SZENARIO_1.json`,
    );
    const result = replayRksvSpec(spec);
    expect(result.dep7Parts).toHaveLength(3);
    expect(
      result.dep7Parts.flatMap((part) => part['Belege-Gruppe'].flatMap((group) => group['Belege-kompakt'])),
    ).toEqual(result.receipts.map((receipt) => receipt.jws));
    expect(result.dep7Parts[1]).toMatchObject({ 'Vorheriges-DEP': 0, 'Fortgesetztes-DEP': true });
  });

  it('refuses GGS cluster specs, which it lists as unsupported', () => {
    expect(UNSUPPORTED_SPEC_FEATURES.map((entry) => entry.feature)).toContain('beginNewDEP: NEW_CLUSTER_DEP');
    for (const file of specFiles('cluster_tests/')) {
      const spec = loadRksvTestSpec(`${AUSTRIA}ztp-rksv-tests/${file}`);
      expect(() => replayRksvSpec(spec), file).toThrow(/cluster/);
    }
  });
});
