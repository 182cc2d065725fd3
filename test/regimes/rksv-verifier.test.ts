/**
 * Tests of the independent RKSV DEP7 verifier (test/helpers/rksv-verifier.ts).
 *
 * (a) A known-good DEP produced by ztp-at/RKSV's own generator (81 receipts, Mustercode scenario 1) must verify.
 * (b) Tampering with that DEP must be caught with the ztp exception name. Where tampering needs a fresh signature,
 *     a small DEP is built here with a test-local cash register (node:crypto only, nothing from src/, and nothing
 *     from the verifier either, so that a shared bug cannot hide).
 */
import { createCipheriv, createHash, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verifyDep7, type RksvVerificationResult } from '../helpers/rksv-verifier.js';
import { artifact } from '../helpers/conformance.js';

const SAMPLE_DIR = artifact('austria', 'generated-sample') + '/';
const readJson = (file: string): unknown => JSON.parse(readFileSync(SAMPLE_DIR + file, 'utf8'));

interface DepGroup {
  Signaturzertifikat: string;
  Zertifizierungsstellen: string[];
  'Belege-kompakt': string[];
}
interface Dep {
  'Belege-Gruppe': DepGroup[];
}
interface ContainerEntry {
  id: string;
  signatureDeviceType: 'CERTIFICATE' | 'PUBLIC_KEY';
  signatureCertificateOrPublicKey: string;
}
interface Container {
  base64AESKey: string;
  certificateOrPublicKeyMap: Record<string, ContainerEntry>;
}

const sampleDep = (): Dep => readJson('dep-export.json') as Dep;
const sampleContainer = (): Container => readJson('cryptographicMaterialContainer.json') as Container;
const receiptsOf = (dep: Dep): string[] => dep['Belege-Gruppe'][0]!['Belege-kompakt'];

/** The first error as [code, receiptId] plus the full list on failure, for readable assertions. */
function firstError(result: RksvVerificationResult): [string, string | null] | undefined {
  const e = result.errors[0];
  return e && [e.code, e.receiptId];
}

function expectError(result: RksvVerificationResult, code: string, receiptId?: string | null): void {
  expect(result.valid, JSON.stringify(result.errors)).toBe(false);
  if (receiptId === undefined) expect(result.errors[0]?.code).toBe(code);
  else expect(firstError(result)).toEqual([code, receiptId]);
}

function expectValid(result: RksvVerificationResult): void {
  expect(result.errors).toEqual([]);
  expect(result.valid).toBe(true);
}

/** Rewrites payload fields of a compact JWS, keeping header and signature. */
function rewrite(jws: string, edit: (fields: string[]) => void): string {
  const [h, p, s] = jws.split('.') as [string, string, string];
  const fields = Buffer.from(p, 'base64url').toString('utf8').split('_');
  edit(fields);
  return `${h}.${Buffer.from(fields.join('_'), 'utf8').toString('base64url')}.${s}`;
}
// payload field positions: 1 alg-zda, 2 Kassen-ID, 3 Belegnummer, 4 date, 5..9 amounts, 10 counter, 11 serial, 12 chain
const F = { algZda: 1, register: 2, id: 3, date: 4, normal: 5, counter: 10, serial: 11, chain: 12 } as const;

const payloadOf = (jws: string): string => Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8');

// --------------------------------------------------------------------------------------------------------------
// Test-local cash register (independent of the verifier and of src/)
// --------------------------------------------------------------------------------------------------------------

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const der = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
function derInteger(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const b = Buffer.from(hex, 'hex');
  return der(0x02, (b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
const OID_ECDSA_SHA256 = Buffer.from('06082a8648ce3d040302', 'hex');
const OID_COMMON_NAME = Buffer.from('0603550403', 'hex');
const derName = (cn: string): Buffer =>
  der(0x30, der(0x31, der(0x30, OID_COMMON_NAME, der(0x0c, Buffer.from(cn, 'utf8')))));

/** A minimal X.509 v3 certificate signed with ECDSA-SHA256 (node:crypto can parse but not create certificates). */
function makeCertificate(opts: {
  serial: bigint;
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signer: KeyObject;
}): Buffer {
  const tbs = der(
    0x30,
    der(0xa0, derInteger(2n)),
    derInteger(opts.serial),
    der(0x30, OID_ECDSA_SHA256),
    derName(opts.issuer),
    der(0x30, der(0x17, Buffer.from('250101000000Z')), der(0x17, Buffer.from('491231235959Z'))),
    derName(opts.subject),
    opts.publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, opts.signer);
  return der(0x30, tbs, der(0x30, OID_ECDSA_SHA256), der(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

interface Device {
  zda: string;
  certSerial: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** DER certificate (open systems only). */
  cert?: Buffer;
}

const newKeyPair = (): { privateKey: KeyObject; publicKey: KeyObject } =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' });

function closedDevice(keyId = 'U:ATU12345678-K1'): Device {
  return { zda: 'AT0', certSerial: keyId, ...newKeyPair() };
}

function openDevice(serial: bigint, issuer?: { name: string; privateKey: KeyObject }, zda = 'AT1'): Device {
  const keys = newKeyPair();
  const subject = `rksv-test-${serial.toString(16)}`;
  const cert = makeCertificate({
    serial,
    subject,
    issuer: issuer?.name ?? subject,
    publicKey: keys.publicKey,
    signer: issuer?.privateKey ?? keys.privateKey,
  });
  return { zda, certSerial: serial.toString(16), ...keys, cert };
}

function containerEntry(id: string, device: Device): ContainerEntry {
  return device.cert
    ? { id, signatureDeviceType: 'CERTIFICATE', signatureCertificateOrPublicKey: device.cert.toString('base64') }
    : {
        id,
        signatureDeviceType: 'PUBLIC_KEY',
        signatureCertificateOrPublicKey: device.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      };
}

function makeContainer(aesKey: Buffer, entries: ContainerEntry[]): Container {
  return {
    base64AESKey: aesKey.toString('base64'),
    certificateOrPublicKeyMap: Object.fromEntries(entries.map((e) => [e.id, e])),
  };
}

function makeDep(...groups: Array<{ cert?: Buffer; chain?: Buffer[]; receipts: string[] }>): Dep {
  return {
    'Belege-Gruppe': groups.map((g) => ({
      Signaturzertifikat: g.cert?.toString('base64') ?? '',
      Zertifizierungsstellen: (g.chain ?? []).map((c) => c.toString('base64')),
      'Belege-kompakt': g.receipts,
    })),
  };
}

type Cents = readonly [number, number, number, number, number];
type Kind = 'normal' | 'storno' | 'training';

interface Tamper {
  alg?: string;
  zda?: string;
  header?: string;
  registerId?: string;
  certSerial?: string;
  chain?: string;
  /** Encrypt this counter value instead of the running one. */
  counter?: bigint;
  counterSize?: number;
  /** Do not add this receipt's amounts to the running counter (although the receipt counts). */
  skipCounting?: boolean;
  /** Add this receipt's amounts although it is a training receipt. */
  countTraining?: boolean;
}

interface IssueSpec {
  id: string;
  date: string;
  cents?: Cents;
  kind?: Kind;
  /** Signature device failed: signature = Base64URL("Sicherheitseinrichtung ausgefallen"). */
  failed?: boolean;
  device?: Device;
  tamper?: Tamper;
}

const b64url = (s: string | Buffer): string => Buffer.from(s).toString('base64url');
const ZERO: Cents = [0, 0, 0, 0, 0];

function formatCents(c: number): string {
  const abs = Math.abs(c);
  return `${c < 0 ? '-' : ''}${Math.floor(abs / 100)},${String(abs % 100).padStart(2, '0')}`;
}

function twosComplement(value: bigint, size: number): Buffer {
  const mod = 1n << BigInt(size * 8);
  const unsigned = ((value % mod) + mod) % mod;
  return Buffer.from(unsigned.toString(16).padStart(size * 2, '0'), 'hex');
}

class TestRegister {
  private prevJws: string | null = null;
  private counter = 0n;

  constructor(
    readonly registerId: string,
    readonly aesKey: Buffer,
    readonly device: Device,
    readonly counterSize = 8,
  ) {}

  issue(spec: IssueSpec): string {
    const t = spec.tamper ?? {};
    const device = spec.device ?? this.device;
    const registerId = t.registerId ?? this.registerId;
    const cents = spec.cents ?? ZERO;
    const kind = spec.kind ?? 'normal';
    if ((kind !== 'training' || t.countTraining === true) && t.skipCounting !== true) {
      this.counter += BigInt(cents.reduce((a, b) => a + b, 0));
    }
    let counterField: string;
    if (kind === 'training') counterField = Buffer.from('TRA').toString('base64');
    else if (kind === 'storno') counterField = Buffer.from('STO').toString('base64');
    else {
      const iv = createHash('sha256')
        .update(registerId + spec.id, 'utf8')
        .digest()
        .subarray(0, 16);
      const cipher = createCipheriv('aes-256-ctr', this.aesKey, iv);
      const plain = twosComplement(t.counter ?? this.counter, t.counterSize ?? this.counterSize);
      counterField = Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
    }
    const chain =
      t.chain ??
      createHash('sha256')
        .update(this.prevJws ?? this.registerId, 'utf8')
        .digest()
        .subarray(0, 8)
        .toString('base64');
    const payload = [
      '',
      `${t.alg ?? 'R1'}-${t.zda ?? device.zda}`,
      registerId,
      spec.id,
      spec.date,
      ...cents.map(formatCents),
      counterField,
      t.certSerial ?? device.certSerial,
      chain,
    ].join('_');
    const signingInput = `${b64url(t.header ?? '{"alg":"ES256"}')}.${b64url(payload)}`;
    const signature =
      spec.failed === true
        ? b64url('Sicherheitseinrichtung ausgefallen')
        : b64url(sign('sha256', Buffer.from(signingInput), { key: device.privateKey, dsaEncoding: 'ieee-p1363' }));
    const jws = `${signingInput}.${signature}`;
    this.prevJws = jws;
    return jws;
  }
}

const AES_KEY = createHash('sha256').update('rksv-verifier-test-aes-key').digest();
const day = (n: number, time = '10:00:00'): string => `2026-01-${String(n).padStart(2, '0')}T${time}`;
const rid = (n: number): string => `R-${n}`;

/** A closed-system register with its container, for most sequence tests. */
function closedSetup(counterSize = 8): { reg: TestRegister; container: Container; device: Device } {
  const device = closedDevice();
  const reg = new TestRegister('KASSE-1', AES_KEY, device, counterSize);
  return { reg, device, container: makeContainer(AES_KEY, [containerEntry(device.certSerial, device)]) };
}

/** Start receipt + the given receipts, numbered from 1, one day apart. */
function issueAll(reg: TestRegister, specs: Array<Omit<IssueSpec, 'id' | 'date'> & Partial<IssueSpec>>): string[] {
  return specs.map((s, i) => reg.issue({ id: rid(i + 1), date: day(i + 1), ...s }));
}

// --------------------------------------------------------------------------------------------------------------

describe('RKSV DEP7 verifier: known-good sample from ztp-at/RKSV', () => {
  it('verifies the 81-receipt DEP (open system, certificates in the container)', () => {
    const result = verifyDep7(sampleDep(), sampleContainer());
    expectValid(result);
    expect(result.receipts).toBe(81);
  });

  it('verifies it as well without the AES key (turnover counters unchecked) and with stopAtFirstError off', () => {
    expectValid(verifyDep7(sampleDep(), sampleContainer(), { skipTurnoverCounter: true }));
    expectValid(verifyDep7(sampleDep(), sampleContainer(), { stopAtFirstError: false }));
  });

  it('really checks the sample: it contains storno, training, failed-device and signed receipts', () => {
    const payloads = receiptsOf(sampleDep()).map(payloadOf);
    expect(payloads.some((p) => p.includes('_U1RP_'))).toBe(true);
    expect(payloads.some((p) => p.includes('_VFJB_'))).toBe(true);
    const failed = receiptsOf(sampleDep()).filter((j) =>
      j.endsWith(`.${b64url('Sicherheitseinrichtung ausgefallen')}`),
    );
    expect(failed.length).toBeGreaterThan(5);
  });
});

describe('RKSV DEP7 verifier: tampering with the ztp sample', () => {
  // Index -> receipt: 1 = ID-2 (signed null), 2 = ID-3 (signed), 4 = ID-5 (signed null),
  // 5 = ID-6 (device failed, amounts), 12 = ID-13 (signed, amounts), 13 = ID-14 (signed null).
  const id = (n: number): string => `CASHBOX-DEMO-1-Receipt-ID-${n}`;

  it('two receipts swapped -> ChainingException', () => {
    const dep = sampleDep();
    const r = receiptsOf(dep);
    [r[12], r[13]] = [r[13]!, r[12]!];
    expectError(verifyDep7(dep, sampleContainer()), 'ChainingException', id(14));
  });

  it('a receipt removed -> ChainingException at the next one', () => {
    const dep = sampleDep();
    receiptsOf(dep).splice(1, 1);
    expectError(verifyDep7(dep, sampleContainer()), 'ChainingException', id(3));
  });

  it('an amount changed in a signed receipt, signature kept -> InvalidSignatureException', () => {
    const dep = sampleDep();
    const r = receiptsOf(dep);
    expect(payloadOf(r[12]!)).toContain('_19,30_');
    r[12] = rewrite(r[12]!, (f) => (f[F.normal] = '19,31'));
    expectError(verifyDep7(dep, sampleContainer()), 'InvalidSignatureException', id(13));
  });

  it('an amount changed in an unsigned (device failed) receipt -> InvalidTurnoverCounterException', () => {
    const dep = sampleDep();
    const r = receiptsOf(dep);
    expect(payloadOf(r[5]!)).toContain('_120,34_');
    r[5] = rewrite(r[5]!, (f) => (f[F.normal] = '100,34'));
    expectError(verifyDep7(dep, sampleContainer()), 'InvalidTurnoverCounterException', id(6));
  });

  it('one signature byte flipped -> InvalidSignatureException', () => {
    const dep = sampleDep();
    const r = receiptsOf(dep);
    const [h, p, s] = r[2]!.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[10] = sig[10]! ^ 0x01;
    r[2] = `${h}.${p}.${sig.toString('base64url')}`;
    expectError(verifyDep7(dep, sampleContainer()), 'InvalidSignatureException', id(3));
  });

  it('a chaining value altered: signed receipt -> InvalidSignatureException, unsigned -> ChainingException', () => {
    const signed = sampleDep();
    receiptsOf(signed)[2] = rewrite(receiptsOf(signed)[2]!, (f) => (f[F.chain] = 'MTIzNDU2Nzg='));
    expectError(verifyDep7(signed, sampleContainer()), 'InvalidSignatureException', id(3));
    const unsigned = sampleDep();
    receiptsOf(unsigned)[5] = rewrite(receiptsOf(unsigned)[5]!, (f) => (f[F.chain] = 'MTIzNDU2Nzg='));
    expectError(verifyDep7(unsigned, sampleContainer()), 'ChainingException', id(6));
  });

  it('a turnover counter broken -> InvalidTurnoverCounterException', () => {
    const dep = sampleDep();
    receiptsOf(dep)[5] = rewrite(receiptsOf(dep)[5]!, (f) => (f[F.counter] = 'AAAAAAAAAAA='));
    expectError(verifyDep7(dep, sampleContainer()), 'InvalidTurnoverCounterException', id(6));
  });

  it('a wrong AES key -> InvalidTurnoverCounterException at the start receipt', () => {
    const container = sampleContainer();
    container.base64AESKey = createHash('sha256').update('wrong key').digest('base64');
    expectError(verifyDep7(sampleDep(), container), 'InvalidTurnoverCounterException', id(1));
    expectError(
      verifyDep7(sampleDep(), sampleContainer(), { aesKeyBase64: AES_KEY.toString('base64') }),
      'InvalidTurnoverCounterException',
      id(1),
    );
  });

  it('an AES key that is not 32 bytes -> InvalidKeyException', () => {
    const container = sampleContainer();
    container.base64AESKey = Buffer.alloc(16).toString('base64');
    expectError(verifyDep7(sampleDep(), container), 'InvalidKeyException', null);
  });

  it('a decreasing date -> DecreasingDateException', () => {
    const dep = sampleDep();
    receiptsOf(dep)[5] = rewrite(receiptsOf(dep)[5]!, (f) => (f[F.date] = '2016-03-14T00:00:00'));
    expectError(verifyDep7(dep, sampleContainer()), 'DecreasingDateException', id(6));
    // without the date check, the changed receipt is still caught by the next receipt's chaining value
    expectError(verifyDep7(dep, sampleContainer(), { checkDates: false }), 'ChainingException', id(7));
  });

  it('a receipt repeated -> DuplicateReceiptIdException', () => {
    const dep = sampleDep();
    const r = receiptsOf(dep);
    r.splice(5, 0, r[4]!);
    expectError(verifyDep7(dep, sampleContainer()), 'DuplicateReceiptIdException', id(5));
  });

  it('the Kassen-ID changed -> ChangingRegisterIdException', () => {
    const dep = sampleDep();
    receiptsOf(dep)[5] = rewrite(receiptsOf(dep)[5]!, (f) => (f[F.register] = 'CASHBOX-DEMO-2'));
    expectError(verifyDep7(dep, sampleContainer()), 'ChangingRegisterIdException', id(6));
  });

  it('a certificate missing from the container -> NoPublicKeyException', () => {
    const container = sampleContainer();
    delete container.certificateOrPublicKeyMap['3e9'];
    expectError(verifyDep7(sampleDep(), container), 'NoPublicKeyException', id(3));
  });

  it('a certificate serial that names no certificate -> NoPublicKeyException; an invalid one -> CertSerialInvalid', () => {
    const dep = sampleDep();
    receiptsOf(dep)[2] = rewrite(receiptsOf(dep)[2]!, (f) => (f[F.serial] = 'deadbeef'));
    expectError(verifyDep7(dep, sampleContainer()), 'NoPublicKeyException', id(3));
    const bad = sampleDep();
    receiptsOf(bad)[2] = rewrite(receiptsOf(bad)[2]!, (f) => (f[F.serial] = 'asdf'));
    expectError(verifyDep7(bad, sampleContainer()), 'CertSerialInvalidException', id(3));
  });

  it('an open-system receipt claiming AT0 -> InvalidCertificateProviderException', () => {
    const dep = sampleDep();
    receiptsOf(dep)[2] = rewrite(receiptsOf(dep)[2]!, (f) => (f[F.algZda] = 'R1-AT0'));
    expectError(verifyDep7(dep, sampleContainer()), 'InvalidCertificateProviderException', id(3));
  });

  it('ZDA ids outside AT0..AT3 pass by default (as in ztp) but not with strictZda', () => {
    expectError(
      verifyDep7(sampleDep(), sampleContainer(), { strictZda: true }),
      'InvalidCertificateProviderException',
      id(1),
    );
  });

  describe('malformed receipts -> MalformedReceiptException', () => {
    const cases: Array<[string, (jws: string) => string, string | null]> = [
      ['two JWS segments', (j) => j.split('.').slice(0, 2).join('.'), null],
      ['four JWS segments', (j) => `${j}.`, null],
      ['Base64 padding in the JWS', (j) => `${j}==`, null],
      ['invalid Base64URL in the payload', (j) => j.replace('.', '.&'), null],
      ['invalid Base64URL in the header', (j) => `abc&${j}`, null],
      ['invalid Base64URL in the signature', (j) => `${j.split('.').slice(0, 2).join('.')}.abc&`, 'R-ID-1'],
      ['payload with 13 fields', (j) => rewrite(j, (f) => f.push('x')), null],
      ['no algorithm-ZDA pair', (j) => rewrite(j, (f) => (f[F.algZda] = 'R1AT192')), null],
      ['algorithm id R0', (j) => rewrite(j, (f) => (f[F.algZda] = 'R0-AT192')), null],
      ['empty receipt id', (j) => rewrite(j, (f) => (f[F.id] = '')), null],
      ['empty Kassen-ID', (j) => rewrite(j, (f) => (f[F.register] = '')), 'R-ID-1'],
      ['ZDA at77', (j) => rewrite(j, (f) => (f[F.algZda] = 'R1-at77')), 'R-ID-1'],
      ['second 60', (j) => rewrite(j, (f) => (f[F.date] = '2016-03-11T03:57:60')), 'R-ID-1'],
      ['30 February', (j) => rewrite(j, (f) => (f[F.date] = '2016-02-30T03:57:00')), 'R-ID-1'],
      ['amount 00,00', (j) => rewrite(j, (f) => (f[F.normal] = '00,00')), 'R-ID-1'],
      ['amount with thousands separator', (j) => rewrite(j, (f) => (f[F.normal] = '1.200,34')), 'R-ID-1'],
      ['amount with a dot', (j) => rewrite(j, (f) => (f[F.normal] = '0.00')), 'R-ID-1'],
      ['empty amount', (j) => rewrite(j, (f) => (f[F.normal + 4] = '')), 'R-ID-1'],
      ['counter only padding', (j) => rewrite(j, (f) => (f[F.counter] = '==')), null],
      ['counter not Base64', (j) => rewrite(j, (f) => (f[F.counter] = 'abc&')), 'R-ID-1'],
      ['counter of 4 bytes', (j) => rewrite(j, (f) => (f[F.counter] = 'X5hMYA==')), 'R-ID-1'],
      ['counter of 17 bytes', (j) => rewrite(j, (f) => (f[F.counter] = 'efY8hnK8Ns6Vm0Qd5n+uNfg=')), 'R-ID-1'],
      ['chain empty', (j) => rewrite(j, (f) => (f[F.chain] = '')), 'R-ID-1'],
      ['chain only padding', (j) => rewrite(j, (f) => (f[F.chain] = '==')), 'R-ID-1'],
      ['chain of 7 bytes', (j) => rewrite(j, (f) => (f[F.chain] = 'yu1NFwmnnA==')), 'R-ID-1'],
      ['chain of 9 bytes', (j) => rewrite(j, (f) => (f[F.chain] = 'RVhOVqzBpwcc')), 'R-ID-1'],
      ['chain not Base64', (j) => rewrite(j, (f) => (f[F.chain] = 'abc&')), 'R-ID-1'],
      ['empty certificate serial', (j) => rewrite(j, (f) => (f[F.serial] = '')), 'R-ID-1'],
    ];
    it.each(cases)('%s', (_name, tamper, receiptId) => {
      const dep = sampleDep();
      receiptsOf(dep)[0] = tamper(receiptsOf(dep)[0]!);
      const expectedId = receiptId === null ? null : id(1);
      expectError(verifyDep7(dep, sampleContainer()), 'MalformedReceiptException', expectedId);
    });
  });

  it('an unknown algorithm -> UnknownAlgorithmException; another JWS header -> AlgorithmMismatchException', () => {
    const dep = sampleDep();
    receiptsOf(dep)[0] = rewrite(receiptsOf(dep)[0]!, (f) => (f[F.algZda] = 'R7-AT192'));
    expectError(verifyDep7(dep, sampleContainer()), 'UnknownAlgorithmException', null);
    const other = sampleDep();
    const [, p, s] = receiptsOf(other)[0]!.split('.') as [string, string, string];
    receiptsOf(other)[0] = `${b64url('{"alg":"ES512"}')}.${p}.${s}`;
    expectError(verifyDep7(other, sampleContainer()), 'AlgorithmMismatchException', null);
  });

  it('a broken DEP or container structure is reported, not thrown', () => {
    expectError(verifyDep7({}, sampleContainer()), 'MissingDEPElementException', null);
    expectError(verifyDep7([], sampleContainer()), 'MalformedDEPException', null);
    expectError(
      verifyDep7({ 'Belege-Gruppe': [{ 'Belege-kompakt': [] }] }, sampleContainer()),
      'MissingDEPElementException',
      null,
    );
    expectError(
      verifyDep7(
        { 'Belege-Gruppe': [{ Signaturzertifikat: '', Zertifizierungsstellen: [], 'Belege-kompakt': [1] }] },
        sampleContainer(),
      ),
      'MalformedDEPElementException',
      null,
    );
    expectError(verifyDep7(sampleDep(), {}), 'MissingKeyStoreElementException', null);
    const container = sampleContainer();
    container.certificateOrPublicKeyMap['3e9']!.signatureCertificateOrPublicKey = 'AAAA';
    expectError(verifyDep7(sampleDep(), container), 'MalformedCertificateException', null);
  });

  it('with stopAtFirstError: false several independent errors are reported', () => {
    const dep = sampleDep();
    const r = receiptsOf(dep);
    r[12] = rewrite(r[12]!, (f) => (f[F.normal] = '19,31'));
    r[5] = rewrite(r[5]!, (f) => (f[F.counter] = 'AAAAAAAAAAA='));
    const result = verifyDep7(dep, sampleContainer(), { stopAtFirstError: false });
    // each rewritten receipt also breaks the chaining value of the receipt after it
    expect(result.errors.map((e) => [e.code, e.receiptId])).toEqual([
      ['InvalidTurnoverCounterException', id(6)],
      ['ChainingException', id(7)],
      ['InvalidSignatureException', id(13)],
      ['ChainingException', id(14)],
    ]);
  });
});

describe('RKSV DEP7 verifier: DEPs built and signed here', () => {
  it('a closed system (AT0, public key in the container) with all receipt kinds verifies', () => {
    const { reg, container } = closedSetup();
    const receipts = issueAll(reg, [
      {},
      { cents: [1234, 550, 0, 99, 0] },
      { cents: [-1234, 0, 0, 0, 0], kind: 'storno' },
      { cents: [5000, 0, 0, 0, 0], kind: 'training' },
      { cents: [-300, -1, 0, 0, 7] },
      {},
      { cents: [100, 0, 0, 0, 0], failed: true },
      { cents: [0, 0, 0, 0, 0] },
      { cents: [1, 0, 0, 0, 0] },
    ]);
    const result = verifyDep7(makeDep({ receipts }), container);
    expectValid(result);
    expect(result.receipts).toBe(9);
    // 1883 - 1234 (storno counts) + 0 (training does not) - 294 + 100 (unsigned counts) + 0 + 1
    expect(result.turnoverCounterCents).toBe(456n);
  });

  it.each([5, 8, 16])('turnover counters of %i bytes verify, negative totals included', (size) => {
    const { reg, container } = closedSetup(size);
    const receipts = issueAll(reg, [{}, { cents: [-99999, 0, 0, 0, 0] }, { cents: [12, 0, 0, 0, -5] }]);
    expectValid(verifyDep7(makeDep({ receipts }), container));
  });

  it('storno amounts count towards the turnover counter, training amounts do not', () => {
    const storno = closedSetup();
    const stornoReceipts = issueAll(storno.reg, [
      {},
      { cents: [-500, 0, 0, 0, 0], kind: 'storno', tamper: { skipCounting: true } },
      { cents: [100, 0, 0, 0, 0] },
    ]);
    expectError(
      verifyDep7(makeDep({ receipts: stornoReceipts }), storno.container),
      'InvalidTurnoverCounterException',
      rid(3),
    );
    const training = closedSetup();
    const trainingReceipts = issueAll(training.reg, [
      {},
      { cents: [500, 0, 0, 0, 0], kind: 'training', tamper: { countTraining: true } },
      { cents: [100, 0, 0, 0, 0] },
    ]);
    expectError(
      verifyDep7(makeDep({ receipts: trainingReceipts }), training.container),
      'InvalidTurnoverCounterException',
      rid(3),
    );
  });

  it('re-signed tampering is still caught', () => {
    const cases: Array<[Array<Partial<IssueSpec>>, string, string]> = [
      [[{}, { tamper: { chain: 'MTIzNDU2Nzg=' } }], 'ChainingException', rid(2)],
      [[{}, { cents: [100, 0, 0, 0, 0], tamper: { counter: 99n } }], 'InvalidTurnoverCounterException', rid(2)],
      [[{}, {}, { date: day(1, '09:00:00') }], 'DecreasingDateException', rid(3)],
      [[{}, {}, { id: rid(2) }], 'DuplicateReceiptIdException', rid(2)],
      [[{}, { tamper: { registerId: 'KASSE-2' } }], 'ChangingRegisterIdException', rid(2)],
    ];
    for (const [specs, code, receiptId] of cases) {
      const { reg, container } = closedSetup();
      expectError(verifyDep7(makeDep({ receipts: issueAll(reg, specs) }), container), code, receiptId);
    }
  });

  it('equal timestamps are not decreasing', () => {
    const { reg, container } = closedSetup();
    const receipts = issueAll(reg, [{}, { date: day(1) }, { date: day(1) }]);
    expectValid(verifyDep7(makeDep({ receipts }), container));
  });

  describe('the start receipt', () => {
    const cases: Array<[string, Partial<IssueSpec>, string]> = [
      ['with turnover', { cents: [100, 0, 0, 0, 0] }, 'NonzeroTurnoverOnInitialReceiptException'],
      ['as training receipt', { kind: 'training' }, 'NonstandardTypeOnInitialReceiptException'],
      ['as storno receipt', { kind: 'storno' }, 'NonstandardTypeOnInitialReceiptException'],
      ['unsigned', { failed: true }, 'SignatureSystemFailedOnInitialReceiptException'],
      [
        'unsigned with turnover',
        { failed: true, cents: [100, 0, 0, 0, 0] },
        'SignatureSystemFailedOnInitialReceiptException',
      ],
      [
        'not chained to the Kassen-ID',
        { tamper: { chain: 'MTIzNDU2Nzg=' } },
        'InvalidChainingOnInitialReceiptException',
      ],
      ['with a nonzero counter', { tamper: { counter: 7n } }, 'InvalidTurnoverCounterException'],
    ];
    it.each(cases)('%s -> %s', (_name, spec, code) => {
      const { reg, container } = closedSetup();
      expectError(verifyDep7(makeDep({ receipts: issueAll(reg, [spec, {}]) }), container), code, rid(1));
    });

    it('with a wrong signature -> InvalidSignatureException', () => {
      const { reg, container } = closedSetup();
      const receipts = issueAll(reg, [{ device: closedDevice() }, {}]);
      expectError(verifyDep7(makeDep({ receipts }), container), 'InvalidSignatureException', rid(1));
    });
  });

  describe('after a failed signature device (ztp verifyGroup rule)', () => {
    const T: Cents = [1000, 0, 0, 0, 0];
    const cases: Array<[string, Array<Partial<IssueSpec>>, string | null]> = [
      ['signed turnover, then signed null receipt: valid', [{}, { cents: T, failed: true }, { cents: T }, {}], null],
      ['signed null receipt, then turnover: valid', [{}, { cents: T, failed: true }, {}, { cents: T }], null],
      ['unsigned null, then signed null: valid', [{}, { cents: T, failed: true }, { failed: true }, {}], null],
      [
        'unsigned training/storno without amounts: valid',
        [{}, { kind: 'training', failed: true }, { kind: 'storno', failed: true }],
        null,
      ],
      [
        'two turnover receipts without null receipt',
        [{}, { cents: T, failed: true }, { cents: T }, { cents: T }],
        rid(4),
      ],
      [
        'training instead of null receipt',
        [{}, { cents: T, failed: true }, { kind: 'training' }, { cents: T }],
        rid(4),
      ],
      ['storno instead of null receipt', [{}, { cents: T, failed: true }, { kind: 'storno' }, { cents: T }], rid(4)],
      ['unsigned null receipt as restore', [{}, { cents: T, failed: true }, { cents: T }, { failed: true }], rid(4)],
      ['failed again', [{}, { cents: T, failed: true }, { cents: T }, { cents: T, failed: true }], rid(4)],
    ];
    it.each(cases)('%s', (_name, specs, failingId) => {
      const { reg, container } = closedSetup();
      const result = verifyDep7(makeDep({ receipts: issueAll(reg, specs) }), container);
      if (failingId === null) expectValid(result);
      else expectError(result, 'NoRestoreReceiptAfterSignatureSystemFailureException', failingId);
    });
  });

  describe('keys and certificates', () => {
    it('closed system: unknown key id -> NoPublicKeyException; serial without company id -> InvalidCertificateProvider', () => {
      const { reg, container } = closedSetup();
      const unknown = issueAll(reg, [{ tamper: { certSerial: 'U:ATU01234567' } }]);
      expectError(verifyDep7(makeDep({ receipts: unknown }), container), 'NoPublicKeyException', rid(1));
      const second = closedSetup();
      const serial = issueAll(second.reg, [{ tamper: { certSerial: '3e9' } }]);
      expectError(
        verifyDep7(makeDep({ receipts: serial }), second.container),
        'InvalidCertificateProviderException',
        rid(1),
      );
    });

    it('closed system key ids of all kinds (UID, tax number, GLN) verify', () => {
      for (const keyId of ['U:ATU12345678-K1', 'S:123456789-K2', 'G:1234567890123-K3', 'U:ATU12345678']) {
        const device = closedDevice(keyId);
        const reg = new TestRegister('KASSE-1', AES_KEY, device);
        const container = makeContainer(AES_KEY, [containerEntry(keyId, device)]);
        expectValid(verifyDep7(makeDep({ receipts: issueAll(reg, [{}, { cents: [5, 0, 0, 0, 0] }]) }), container));
      }
    });

    it('open system, certificate only in the container, serial written hex or decimal', () => {
      const device = openDevice(0x1234n);
      const container = makeContainer(AES_KEY, [containerEntry('1234', device)]);
      const hex = new TestRegister('KASSE-1', AES_KEY, device);
      expectValid(verifyDep7(makeDep({ receipts: issueAll(hex, [{}, { cents: [5, 0, 0, 0, 0] }]) }), container));
      const dec = new TestRegister('KASSE-1', AES_KEY, device);
      const decimal = issueAll(dec, [{ tamper: { certSerial: String(0x1234) } }]);
      expectValid(verifyDep7(makeDep({ receipts: decimal }), container));
    });

    it('open system, group certificate issued by a CA that is in the container', () => {
      const ca = newKeyPair();
      const caCert = makeCertificate({
        serial: 0xca01n,
        subject: 'test-ca',
        issuer: 'test-ca',
        publicKey: ca.publicKey,
        signer: ca.privateKey,
      });
      expect(new X509Certificate(caCert).verify(ca.publicKey)).toBe(true);
      const device = openDevice(0x77n, { name: 'test-ca', privateKey: ca.privateKey }, 'AT2');
      const reg = new TestRegister('KASSE-1', AES_KEY, device);
      const receipts = issueAll(reg, [{}, { cents: [5, 0, 0, 0, 0] }]);
      const caEntry: ContainerEntry = {
        id: 'ca01',
        signatureDeviceType: 'CERTIFICATE',
        signatureCertificateOrPublicKey: caCert.toString('base64'),
      };
      const trusted = makeContainer(AES_KEY, [caEntry]);
      expectValid(verifyDep7(makeDep({ cert: device.cert!, chain: [caCert], receipts }), trusted));

      // not trusted: neither the certificate nor its issuer in the container
      expectError(
        verifyDep7(makeDep({ cert: device.cert!, chain: [caCert], receipts }), makeContainer(AES_KEY, [])),
        'UntrustedCertificateException',
        null,
      );
      // chain broken: the listed issuer did not sign the certificate
      const otherCa = newKeyPair();
      const fakeCa = makeCertificate({
        serial: 0xca01n,
        subject: 'test-ca',
        issuer: 'test-ca',
        publicKey: otherCa.publicKey,
        signer: otherCa.privateKey,
      });
      expectError(
        verifyDep7(makeDep({ cert: device.cert!, chain: [fakeCa], receipts }), trusted),
        'CertificateChainBrokenException',
        null,
      );
      // serial collision: another certificate with the group certificate's serial in the container
      const impostor = openDevice(0x77n);
      const collision = makeContainer(AES_KEY, [containerEntry('77', impostor)]);
      expectError(
        verifyDep7(makeDep({ cert: device.cert!, receipts }), collision),
        'CertificateSerialCollisionException',
        null,
      );
      // the receipts name another serial than the group certificate
      const mismatch = new TestRegister('KASSE-1', AES_KEY, device);
      const wrongSerial = issueAll(mismatch, [{ tamper: { certSerial: 'deadbeef' } }]);
      expectError(
        verifyDep7(makeDep({ cert: device.cert!, chain: [caCert], receipts: wrongSerial }), trusted),
        'CertSerialMismatchException',
        rid(1),
      );
    });

    it('several groups: each needs its certificate (NoCertificateGivenException otherwise)', () => {
      const a = openDevice(0xa1n);
      const b = openDevice(0xb2n, undefined, 'AT3');
      const container = makeContainer(AES_KEY, [containerEntry('a1', a), containerEntry('b2', b)]);
      const reg = new TestRegister('KASSE-1', AES_KEY, a);
      const first = issueAll(reg, [{}, { cents: [5, 0, 0, 0, 0] }]);
      const second = [reg.issue({ id: rid(3), date: day(3), device: b, cents: [7, 0, 0, 0, 0] })];
      expectValid(
        verifyDep7(makeDep({ cert: a.cert!, receipts: first }, { cert: b.cert!, receipts: second }), container),
      );
      expectValid(verifyDep7(makeDep({ receipts: [...first, ...second] }), container));
      expectError(
        verifyDep7(makeDep({ cert: a.cert!, receipts: first }, { receipts: second }), container),
        'NoCertificateGivenException',
        null,
      );
    });

    it('open and closed system mixed -> ChangingSystemTypeException', () => {
      const open = openDevice(0x3e9n);
      const closed = closedDevice('U:ATU12345678-K0');
      const container = makeContainer(AES_KEY, [
        containerEntry('3e9', open),
        containerEntry(closed.certSerial, closed),
      ]);
      const toClosed = new TestRegister('KASSE-1', AES_KEY, open);
      const a = issueAll(toClosed, [{}, { device: closed }]);
      expectError(verifyDep7(makeDep({ receipts: a }), container), 'ChangingSystemTypeException', rid(2));
      const toOpen = new TestRegister('KASSE-1', AES_KEY, closed);
      const b = issueAll(toOpen, [{}, { device: open }]);
      expectError(verifyDep7(makeDep({ receipts: b }), container), 'ChangingSystemTypeException', rid(2));
    });
  });

  it('a changing turnover counter size is accepted (as in ztp) unless checkTurnoverCounterSize is set', () => {
    const { reg, container } = closedSetup();
    const receipts = issueAll(reg, [
      {},
      { cents: [5, 0, 0, 0, 0] },
      { cents: [5, 0, 0, 0, 0], tamper: { counterSize: 6 } },
    ]);
    expectValid(verifyDep7(makeDep({ receipts }), container));
    expectError(
      verifyDep7(makeDep({ receipts }), container, { checkTurnoverCounterSize: true }),
      'ChangingTurnoverCounterSizeException',
      rid(3),
    );
  });
});
