/**
 * Independent RKSV (Austria) DEP7 verifier, test-only.
 *
 * Written from the RKSV Detailspezifikation facts in `shared/spec/regimes.md` §2 and from the behaviour of the
 * independent ztp-at/RKSV verifier (`librksv/verify.py`, `receipt.py`, `verify_receipt.py`, `algorithms.py`,
 * `key_store.py`, `depparser.py`, `verification_state.py`), whose exception names are used as error codes so that the
 * `expectedException` / `exceptionReceipt` fields of the ztp test specs can be compared directly. No code was copied.
 *
 * Deliberately imports nothing from `src/`: it must not share a bug with the signer it checks. Only node built-ins.
 *
 * Like ztp, verification stops at the first error by default (`stopAtFirstError: false` keeps going with a
 * best-effort state, which is useful for diagnostics but may report follow-on errors).
 */
import {
  X509Certificate,
  createDecipheriv,
  createHash,
  createPublicKey,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';

/** Error codes (ztp-at/RKSV exception class names). */
export const RKSV_ERROR_CODES = [
  // DEP / container structure (depparser.py, key_store.py)
  'MalformedDEPException',
  'MissingDEPElementException',
  'MalformedDEPElementException',
  'MalformedCertificateException',
  'MalformedKeyStoreException',
  'MissingKeyStoreElementException',
  'MalformedKeyStoreElementException',
  'MalformedPublicKeyException',
  'InvalidKeyException',
  // certificates of a group (verify.py verifyCert / verifyDEP)
  'NoCertificateGivenException',
  'UntrustedCertificateException',
  'CertificateChainBrokenException',
  'CertificateSerialCollisionException',
  // single receipt parsing (receipt.py)
  'MalformedReceiptException',
  'UnknownAlgorithmException',
  'AlgorithmMismatchException',
  'CertSerialInvalidException',
  'InvalidCertificateProviderException',
  // single receipt verification (verify_receipt.py)
  'CertSerialMismatchException',
  'NoPublicKeyException',
  'InvalidSignatureException',
  // sequence (verify.py verifyGroup)
  'SignatureSystemFailedOnInitialReceiptException',
  'NonzeroTurnoverOnInitialReceiptException',
  'NonstandardTypeOnInitialReceiptException',
  'InvalidChainingOnInitialReceiptException',
  'NoRestoreReceiptAfterSignatureSystemFailureException',
  'DuplicateReceiptIdException',
  'ChangingRegisterIdException',
  'ChangingSystemTypeException',
  'DecreasingDateException',
  'ChainingException',
  'InvalidTurnoverCounterException',
  'ChangingTurnoverCounterSizeException',
] as const;

export type RksvErrorCode = (typeof RKSV_ERROR_CODES)[number];

export interface RksvVerificationError {
  code: string;
  /** The receipt id (Belegnummer), or null when the error is not tied to a receipt whose id could be read. */
  receiptId: string | null;
  message: string;
}

export interface RksvVerificationResult {
  valid: boolean;
  /** Number of receipts ("Belege-kompakt" entries) in the DEP. */
  receipts: number;
  errors: RksvVerificationError[];
  /** The running turnover counter in cents after the last receipt checked; null without an AES key. */
  turnoverCounterCents: bigint | null;
}

export interface VerifyDep7Options {
  /** Base64 AES-256 key to decrypt turnover counters with; overrides `container.base64AESKey`. */
  aesKeyBase64?: string;
  /** Skip the turnover counter check even when a key is available (ztp does so when no key is given). */
  skipTurnoverCounter?: boolean;
  /** Stop at the first error like ztp (default true). */
  stopAtFirstError?: boolean;
  /** Check that receipt dates never decrease (default true; ztp's test spec `test_date_decreasing` expects it). */
  checkDates?: boolean;
  /**
   * Check that the encrypted turnover counter keeps its byte length (default false: ztp has the check disabled and
   * its spec `test_tc_size_change` lists the exception under "unused").
   */
  checkTurnoverCounterSize?: boolean;
  /** Only accept the ZDA ids AT0..AT3 (default false: ztp accepts any `[A-Z]{2}[1-9][0-9]*`). */
  strictZda?: boolean;
}

const JWS_HEADER_R1 = '{"alg":"ES256"}';
const FAILED_SIGNATURE = Buffer.from('Sicherheitseinrichtung ausgefallen', 'utf8').toString('base64url');
const ALG_REGEX = /^R[1-9]\d*$/;
const ZDA_REGEX = /^([A-Z][A-Z][1-9]\d*|AT0)$/;
const STRICT_ZDA_REGEX = /^AT[0-3]$/;
const AMOUNT_REGEX = /^(-?)([1-9]\d+|\d),(\d\d)$/;
const TIMESTAMP_REGEX = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;
const B64_REGEX = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL_REGEX = /^[A-Za-z0-9_-]*$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

class RksvFailure extends Error {
  constructor(
    readonly code: RksvErrorCode,
    readonly receiptId: string | null,
    message: string,
  ) {
    super(message);
  }
}

const fail = (code: RksvErrorCode, receiptId: string | null, message: string): never => {
  throw new RksvFailure(code, receiptId, message);
};

const short = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Strict standard Base64 (with padding), as used for turnover counter, chaining value, QR signature. */
function decodeBase64(s: string): Buffer | null {
  if (!B64_REGEX.test(s) || s.length % 4 !== 0) return null;
  return Buffer.from(s, 'base64');
}

/** Base64URL without padding, as used for the three JWS segments. */
function decodeBase64Url(s: string): Buffer | null {
  if (!B64URL_REGEX.test(s) || s.length % 4 === 1) return null;
  return Buffer.from(s, 'base64url');
}

function decodeUtf8(b: Buffer): string | null {
  try {
    return UTF8.decode(b);
  } catch {
    return null;
  }
}

/** A crypto check that throws on unusable input counts as failed. */
function attempt(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

const sha256 = (data: string | Buffer): Buffer => createHash('sha256').update(data).digest();

/** Chaining value (R1): Base64 of the first 8 bytes of SHA-256 over the previous JWS, or over the Kassen-ID. */
export function rksvChainValue(previousJws: string | null, registerId: string): string {
  return sha256(Buffer.from(previousJws ?? registerId, 'utf8'))
    .subarray(0, 8)
    .toString('base64');
}

/** AES-256-ICM (CTR) over the turnover counter, IV = first 16 bytes of SHA-256(Kassen-ID ‖ Belegnummer). */
export function rksvTurnoverCounterCipher(key: Buffer, registerId: string, receiptId: string, data: Buffer): Buffer {
  const iv = sha256(Buffer.from(registerId + receiptId, 'utf8')).subarray(0, 16);
  const decipher = createDecipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** Big-endian two's complement to bigint. */
function signedBigEndian(bytes: Buffer): bigint {
  if (bytes.length === 0) return 0n;
  const unsigned = BigInt(`0x${bytes.toString('hex')}`);
  const first = bytes[0] ?? 0;
  return first & 0x80 ? unsigned - (1n << BigInt(bytes.length * 8)) : unsigned;
}

function parseAmountCents(s: string): bigint | null {
  const m = AMOUNT_REGEX.exec(s);
  if (!m) return null;
  const cents = BigInt(m[2] ?? '0') * 100n + BigInt(m[3] ?? '0');
  return m[1] === '-' ? -cents : cents;
}

/** Naive local timestamp to a comparable number (no time zone in RKSV timestamps). */
function parseTimestamp(s: string): number | null {
  const m = TIMESTAMP_REGEX.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return null;
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return t;
}

type CertSerialType = 'SERIAL' | 'TAX' | 'UID' | 'GLN' | 'INVALID';

/** Certificate serial / key id kinds (ztp receipt.py CertSerialType). */
function certSerialType(raw: string): CertSerialType {
  if (raw.length === 0) return 'INVALID';
  let serial = raw;
  // some implementations write a negative serial
  if (serial.startsWith('-') && !serial.slice(1).includes('-')) serial = serial.slice(1);
  const parts = serial.split('-');
  if (parts.length > 2) return 'INVALID';
  if (parts.length === 2 && !/^[A-Za-z0-9]+$/.test(parts[1] ?? '')) return 'INVALID';
  const head = parts[0] ?? '';
  if (/^S:\d{9}$/.test(head)) return 'TAX';
  if (/^U:[A-Z0-9]{1,14}$/.test(head)) return 'UID';
  if (/^G:\d{13}$/.test(head)) return 'GLN';
  if (/^[0-9A-Fa-f]+$/.test(head)) return 'SERIAL';
  return 'INVALID';
}

/** All key ids (lower-case hex without leading zeros) a serial string may denote: read as hex and as decimal. */
function serialKeyIds(raw: string): string[] {
  const serial = raw.startsWith('-') ? raw.slice(1) : raw;
  const ids: string[] = [];
  if (/^[0-9A-Fa-f]+$/.test(serial)) ids.push(BigInt(`0x${serial}`).toString(16));
  if (/^\d+$/.test(serial)) ids.push(BigInt(serial).toString(16));
  return ids;
}

function certKeyId(cert: X509Certificate): string {
  const hex = cert.serialNumber.replace(/[^0-9A-Fa-f]/g, '');
  return hex === '' ? '0' : BigInt(`0x${hex}`).toString(16);
}

interface ParsedReceipt {
  jws: string;
  signingInput: string;
  signature: string;
  zda: string;
  registerId: string;
  receiptId: string;
  timestamp: number;
  sumCents: bigint;
  isNull: boolean;
  encTurnoverCounter: Buffer;
  isDummy: boolean;
  isReversal: boolean;
  isSignedBroken: boolean;
  certSerial: string;
  previousChain: string;
}

/** Parses one compact JWS receipt with the checks (and their order) of ztp's Receipt.fromJWSString / __init__. */
function parseReceipt(jws: string, options: VerifyDep7Options): ParsedReceipt {
  const tag = short(jws);
  const segs = jws.split('.');
  if (segs.length !== 3) {
    fail('MalformedReceiptException', null, `${tag}: JWS does not contain exactly three segments.`);
  }
  const [h, p, s] = segs as [string, string, string];
  if (h.endsWith('=') || p.endsWith('=') || s.endsWith('=')) {
    fail('MalformedReceiptException', null, `${tag}: Base 64 padding was used in JWS.`);
  }
  const headerBytes = decodeBase64Url(h);
  const header = headerBytes && decodeUtf8(headerBytes);
  if (header == null) return fail('MalformedReceiptException', null, `${tag}: Invalid JWS header.`);
  const payloadBytes = decodeBase64Url(p);
  const payload = payloadBytes && decodeUtf8(payloadBytes);
  if (payload == null) return fail('MalformedReceiptException', null, `${tag}: Invalid JWS payload.`);

  const fields = payload.split('_');
  if (fields.length !== 13 || fields[0] !== '') {
    fail('MalformedReceiptException', null, `${tag}: JWS payload does not contain 12 elements.`);
  }
  const [, algZda, registerId, receiptId, dateTime, sumA, sumB, sumC, sumD, sumE, encTc, certSerial, previousChain] =
    fields as [string, string, string, string, string, string, string, string, string, string, string, string, string];

  const algAndZda = algZda.split('-');
  if (algAndZda.length !== 2) {
    fail('MalformedReceiptException', null, `${tag}: Payload does not contain algorithm and ZDA IDs.`);
  }
  const [alg, zda] = algAndZda as [string, string];
  if (!ALG_REGEX.test(alg)) fail('MalformedReceiptException', null, `${tag}: Algorithm ID "${alg}" invalid.`);
  if (alg !== 'R1') fail('UnknownAlgorithmException', null, `${tag}: Unknown algorithm "${alg}".`);
  if (header !== JWS_HEADER_R1) {
    fail('AlgorithmMismatchException', null, `${tag}: JWS header ${header} does not match algorithm ${alg}.`);
  }
  if (encTc.replace(/=/g, '') === '') {
    fail('MalformedReceiptException', null, `${tag}: Encrypted turnover counter "${encTc}" invalid.`);
  }

  if (receiptId === '') fail('MalformedReceiptException', null, `Receipt ID "" invalid.`);
  const rid = receiptId;
  if (!ZDA_REGEX.test(zda)) fail('MalformedReceiptException', rid, `ZDA "${zda}" invalid.`);
  if (options.strictZda === true && !STRICT_ZDA_REGEX.test(zda)) {
    fail('InvalidCertificateProviderException', rid, `ZDA "${zda}" is not one of AT0..AT3.`);
  }
  if (registerId === '') fail('MalformedReceiptException', rid, `Register ID "${registerId}" invalid.`);
  const timestamp = parseTimestamp(dateTime);
  if (timestamp == null) return fail('MalformedReceiptException', rid, `Timestamp "${dateTime}" invalid.`);

  const names = ['Sum tax normal', 'Sum tax reduced 1', 'Sum tax reduced 2', 'Sum tax zero', 'Sum tax special'];
  let sumCents = 0n;
  let isNull = true;
  [sumA, sumB, sumC, sumD, sumE].forEach((raw, i) => {
    const cents = parseAmountCents(raw);
    if (cents == null) return fail('MalformedReceiptException', rid, `${names[i] ?? 'Sum'} "${raw}" invalid.`);
    sumCents += cents;
    if (cents !== 0n) isNull = false;
    return undefined;
  });

  const tcBytes = decodeBase64(encTc);
  const tcText = tcBytes?.toString('latin1');
  const isDummy = tcText === 'TRA';
  const isReversal = tcText === 'STO';
  if (tcBytes == null || (!isDummy && !isReversal && (tcBytes.length < 5 || tcBytes.length > 16))) {
    return fail('MalformedReceiptException', rid, `Encrypted turnover counter "${encTc}" invalid.`);
  }
  const chainBytes = decodeBase64(previousChain);
  if (chainBytes?.length !== 8) fail('MalformedReceiptException', rid, `Chaining value "${previousChain}" invalid.`);

  if (certSerial === '') fail('MalformedReceiptException', rid, `Certificate serial/Key ID "" invalid.`);
  const serialType = certSerialType(certSerial);
  if (serialType === 'INVALID') fail('CertSerialInvalidException', rid, `Certificate serial "${certSerial}" invalid.`);
  if ((serialType === 'SERIAL') === (zda === 'AT0')) {
    fail(
      'InvalidCertificateProviderException',
      rid,
      `ZDA "${zda}" does not fit certificate serial/key id "${certSerial}" (AT0 only with a company key id).`,
    );
  }
  if (decodeBase64Url(s) == null) fail('MalformedReceiptException', rid, `Signature "${s}" not Base 64 URL encoded.`);

  return {
    jws,
    signingInput: `${h}.${p}`,
    signature: s,
    zda,
    registerId,
    receiptId: rid,
    timestamp,
    sumCents,
    isNull,
    encTurnoverCounter: tcBytes,
    isDummy,
    isReversal,
    isSignedBroken: s === FAILED_SIGNATURE,
    certSerial,
    previousChain,
  };
}

interface KeyStore {
  /** key id -> public key (certificate ids are normalised to lower-case hex). */
  keys: Map<string, KeyObject>;
  /** hex serial -> certificate */
  certs: Map<string, X509Certificate>;
}

function parseCertificate(b64: string, code: 'MalformedCertificateException', what: string): X509Certificate {
  const der = decodeBase64(b64);
  try {
    if (der == null || der.length === 0) throw new Error('not Base64');
    return new X509Certificate(der);
  } catch {
    return fail(code, null, `Certificate ${what} malformed.`);
  }
}

/** Reads cryptographicMaterialContainer.json (ztp key_store.readStoreFromJson). */
function readContainer(container: unknown): { store: KeyStore; aesKey: string | null } {
  if (!isRecord(container)) return fail('MalformedKeyStoreException', null, 'Malformed key store root.');
  const map = container.certificateOrPublicKeyMap;
  if (map === undefined) return fail('MissingKeyStoreElementException', null, 'certificateOrPublicKeyMap missing.');
  if (!isRecord(map)) return fail('MalformedKeyStoreElementException', null, 'certificateOrPublicKeyMap malformed.');
  const store: KeyStore = { keys: new Map(), certs: new Map() };
  for (const [rawId, value] of Object.entries(map)) {
    if (!isRecord(value)) return fail('MalformedKeyStoreElementException', null, `Entry "${rawId}" not an object.`);
    for (const el of ['id', 'signatureDeviceType', 'signatureCertificateOrPublicKey']) {
      if (!(el in value)) fail('MissingKeyStoreElementException', null, `Entry "${rawId}": element "${el}" missing.`);
    }
    if (value.id !== rawId) fail('MalformedKeyStoreElementException', null, `Entry "${rawId}": inner id differs.`);
    const material = value.signatureCertificateOrPublicKey;
    if (typeof material !== 'string') {
      return fail('MalformedKeyStoreElementException', null, `Entry "${rawId}": key material not a string.`);
    }
    if (value.signatureDeviceType === 'CERTIFICATE') {
      const ids = serialKeyIds(rawId);
      const keyId = ids[0];
      if (keyId === undefined) {
        return fail('MalformedKeyStoreElementException', null, `Invalid certificate id "${rawId}".`);
      }
      const cert = parseCertificate(material, 'MalformedCertificateException', `"${rawId}"`);
      store.keys.set(keyId, cert.publicKey);
      store.certs.set(keyId, cert);
    } else if (value.signatureDeviceType === 'PUBLIC_KEY') {
      const der = decodeBase64(material);
      try {
        if (der == null || der.length === 0) throw new Error('not Base64');
        store.keys.set(rawId, createPublicKey({ key: der, format: 'der', type: 'spki' }));
      } catch {
        return fail('MalformedPublicKeyException', null, `Public key "${rawId}" malformed.`);
      }
    } else {
      return fail('MalformedKeyStoreElementException', null, `Entry "${rawId}": unknown signatureDeviceType.`);
    }
  }
  const aes = container.base64AESKey;
  return { store, aesKey: typeof aes === 'string' ? aes : null };
}

interface Group {
  cert: X509Certificate | null;
  chain: X509Certificate[];
  receipts: string[];
}

/** Reads the DEP7 structure (ztp depparser). */
function readDep(dep: unknown): Group[] {
  if (!isRecord(dep)) return fail('MalformedDEPException', null, 'Malformed DEP root.');
  const groups = dep['Belege-Gruppe'];
  if (groups === undefined) return fail('MissingDEPElementException', null, 'Element "Belege-Gruppe" missing.');
  if (!Array.isArray(groups)) return fail('MalformedDEPElementException', null, 'Element "Belege-Gruppe" malformed.');
  return groups.map((g: unknown, idx): Group => {
    if (!isRecord(g)) return fail('MalformedDEPElementException', null, `Group ${idx} malformed.`);
    for (const el of ['Signaturzertifikat', 'Zertifizierungsstellen', 'Belege-kompakt']) {
      if (!(el in g)) fail('MissingDEPElementException', null, `In group ${idx}: element "${el}" missing.`);
    }
    const certStr = g.Signaturzertifikat;
    const chainStrs = g.Zertifizierungsstellen;
    const receipts = g['Belege-kompakt'];
    if (typeof certStr !== 'string') return fail('MalformedDEPElementException', null, `In group ${idx}: certificate.`);
    if (!Array.isArray(chainStrs) || !chainStrs.every((c): c is string => typeof c === 'string')) {
      return fail('MalformedDEPElementException', null, `In group ${idx}: "Zertifizierungsstellen" malformed.`);
    }
    if (!Array.isArray(receipts) || !receipts.every((r): r is string => typeof r === 'string')) {
      return fail('MalformedDEPElementException', null, `In group ${idx}: "Belege-kompakt" malformed.`);
    }
    return {
      cert: certStr === '' ? null : parseCertificate(certStr, 'MalformedCertificateException', `in group ${idx}`),
      chain: chainStrs.map((c, i) => parseCertificate(c, 'MalformedCertificateException', `${i} in group ${idx}`)),
      receipts,
    };
  });
}

/** The group certificate, or one of its issuers, must be in the container (ztp verify.verifyCert). */
function verifyGroupCertificate(cert: X509Certificate, chain: X509Certificate[], store: KeyStore): void {
  let prev = cert;
  const trusted = (c: X509Certificate): boolean => {
    const known = store.certs.get(certKeyId(c));
    if (!known) return false;
    if (known.fingerprint256 !== c.fingerprint256) {
      fail(
        'CertificateSerialCollisionException',
        null,
        `Two certificates with serial "${certKeyId(c)}" (fingerprints ${c.fingerprint256} and ${known.fingerprint256}).`,
      );
    }
    return true;
  };
  for (const issuer of chain) {
    if (trusted(prev)) return;
    const ok = attempt(() => prev.verify(issuer.publicKey));
    if (!ok) {
      fail(
        'CertificateChainBrokenException',
        null,
        `Certificate "${certKeyId(prev)}" not signed by "${certKeyId(issuer)}".`,
      );
    }
    prev = issuer;
  }
  if (trusted(prev)) return;
  fail('UntrustedCertificateException', null, `Certificate "${certKeyId(cert)}" is not trusted.`);
}

type SignatureOutcome = 'signed' | 'signatureSystemFailed' | 'unsignedNull';

/** ztp verify_receipt.ReceiptVerifier.verify: key selection, failed-device marker, ES256 signature. */
function verifySignature(r: ParsedReceipt, groupCert: X509Certificate | null, store: KeyStore): SignatureOutcome {
  let key: KeyObject | undefined;
  if (r.zda === 'AT0') {
    key = groupCert ? groupCert.publicKey : store.keys.get(r.certSerial);
  } else {
    const ids = serialKeyIds(r.certSerial);
    if (groupCert) {
      if (!ids.includes(certKeyId(groupCert))) {
        fail(
          'CertSerialMismatchException',
          r.receiptId,
          `Certificate serial "${r.certSerial}" does not match the group certificate "${certKeyId(groupCert)}".`,
        );
      }
      key = groupCert.publicKey;
    } else {
      key = ids.map((id) => store.keys.get(id)).find((k) => k !== undefined);
    }
  }
  if (r.isSignedBroken) return !r.isDummy && !r.isReversal && r.isNull ? 'unsignedNull' : 'signatureSystemFailed';
  if (!key) return fail('NoPublicKeyException', r.receiptId, `No public key for "${r.certSerial}".`);
  const sig = Buffer.from(r.signature, 'base64url');
  const input = Buffer.from(r.signingInput, 'ascii');
  const ok = attempt(() => cryptoVerify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig));
  if (!ok) fail('InvalidSignatureException', r.receiptId, 'Invalid signature.');
  return 'signed';
}

interface RegisterState {
  prevJws: string | null;
  prev: ParsedReceipt | null;
  needRestoreReceipt: boolean;
  lastTurnoverCounter: bigint;
  turnoverCounterSize: number | null;
  usedReceiptIds: Set<string>;
}

function verifyReceipt(
  jws: string,
  group: Group,
  store: KeyStore,
  aesKey: Buffer | null,
  state: RegisterState,
  options: VerifyDep7Options,
): void {
  const r = parseReceipt(jws, options);
  try {
    checkReceipt(r, group, store, aesKey, state, options);
  } catch (e) {
    // Resynchronise the running counter from this receipt, so that with stopAtFirstError: false one bad receipt
    // does not make every later counter look wrong.
    if (aesKey && !r.isDummy) {
      state.lastTurnoverCounter = r.isReversal
        ? state.lastTurnoverCounter + r.sumCents
        : signedBigEndian(rksvTurnoverCounterCipher(aesKey, r.registerId, r.receiptId, r.encTurnoverCounter));
    }
    throw e;
  } finally {
    state.prev = r;
  }
}

function checkReceipt(
  r: ParsedReceipt,
  group: Group,
  store: KeyStore,
  aesKey: Buffer | null,
  state: RegisterState,
  options: VerifyDep7Options,
): void {
  const prev = state.prev;
  const rid = r.receiptId;
  const outcome = verifySignature(r, group.cert, store);

  // Restore rule (ztp verifyGroup): once a signed receipt with turnover (or a training/storno receipt) follows an
  // unsigned one, the next such receipt must be preceded by a signed null receipt ("Sammelbeleg").
  if (outcome === 'signed') {
    if (prev && (!r.isNull || r.isDummy || r.isReversal)) {
      if (state.needRestoreReceipt) {
        fail('NoRestoreReceiptAfterSignatureSystemFailureException', rid, 'No signed null receipt after restore.');
      }
      if (prev.isSignedBroken) state.needRestoreReceipt = true;
    } else {
      state.needRestoreReceipt = false;
    }
  } else {
    if (!prev) fail('SignatureSystemFailedOnInitialReceiptException', rid, 'Initial receipt not signed.');
    if (state.needRestoreReceipt) {
      fail('NoRestoreReceiptAfterSignatureSystemFailureException', rid, 'No signed null receipt after restore.');
    }
  }

  if (!prev) {
    if (!r.isNull) fail('NonzeroTurnoverOnInitialReceiptException', rid, 'Initial receipt has nonzero turnover.');
    if (r.isDummy || r.isReversal) {
      fail('NonstandardTypeOnInitialReceiptException', rid, 'Initial receipt is a training or storno receipt.');
    }
  } else {
    if (state.usedReceiptIds.has(rid)) {
      fail('DuplicateReceiptIdException', rid, `Receipt ID "${rid}" is already in use.`);
    }
    if (prev.registerId !== r.registerId) {
      fail('ChangingRegisterIdException', rid, `Register ID changed from "${prev.registerId}" to "${r.registerId}".`);
    }
    if ((prev.zda === 'AT0') !== (r.zda === 'AT0')) {
      fail('ChangingSystemTypeException', rid, 'The system type changed.');
    }
    if (options.checkDates !== false && prev.timestamp > r.timestamp) {
      fail('DecreasingDateException', rid, 'Receipt was created before previous receipt.');
    }
  }
  state.usedReceiptIds.add(rid);

  const expectedChain = rksvChainValue(state.prevJws, r.registerId);
  if (expectedChain !== r.previousChain) {
    if (!prev) {
      fail('InvalidChainingOnInitialReceiptException', rid, 'Initial receipt has not been chained to the Kassen-ID.');
    }
    fail('ChainingException', rid, `Chaining value "${r.previousChain}" does not chain to the previous receipt.`);
  }

  if (!r.isDummy && !r.isReversal && options.checkTurnoverCounterSize === true) {
    const size = r.encTurnoverCounter.length;
    if (state.turnoverCounterSize != null && state.turnoverCounterSize !== size) {
      fail('ChangingTurnoverCounterSizeException', rid, `Turnover counter size changed to ${size} bytes.`);
    }
    state.turnoverCounterSize = size;
  }

  // Turnover counter: training receipts do not count; storno receipts count but carry "STO" instead of the counter.
  if (!r.isDummy && aesKey) {
    const expected = state.lastTurnoverCounter + r.sumCents;
    if (!r.isReversal) {
      const actual = signedBigEndian(rksvTurnoverCounterCipher(aesKey, r.registerId, rid, r.encTurnoverCounter));
      if (actual !== expected) {
        fail('InvalidTurnoverCounterException', rid, `Turnover counter is ${actual}, expected ${expected} (cents).`);
      }
    }
    state.lastTurnoverCounter = expected;
  }
}

function errorOf(e: unknown): RksvVerificationError {
  if (e instanceof RksvFailure) return { code: e.code, receiptId: e.receiptId, message: e.message };
  throw e;
}

export function verifyDep7(dep: unknown, container: unknown, options: VerifyDep7Options = {}): RksvVerificationResult {
  const errors: RksvVerificationError[] = [];
  const stopAtFirst = options.stopAtFirstError !== false;
  let receipts = 0;
  let groups: Group[];
  let store: KeyStore;
  let aesKey: Buffer | null = null;
  try {
    groups = readDep(dep);
    receipts = groups.reduce((n, g) => n + g.receipts.length, 0);
    const read = readContainer(container);
    store = read.store;
    const keyB64 = options.aesKeyBase64 ?? read.aesKey;
    if (keyB64 != null && options.skipTurnoverCounter !== true) {
      aesKey = decodeBase64(keyB64);
      if (aesKey?.length !== 32) fail('InvalidKeyException', null, 'The AES key is not 32 bytes of Base64.');
    }
    if (groups.length > 1 && groups.some((g) => g.cert == null)) {
      fail('NoCertificateGivenException', null, 'No certificate specified in DEP and multiple groups used.');
    }
  } catch (e) {
    return { valid: false, receipts, errors: [errorOf(e)], turnoverCounterCents: null };
  }

  const state: RegisterState = {
    prevJws: null,
    prev: null,
    needRestoreReceipt: false,
    lastTurnoverCounter: 0n,
    turnoverCounterSize: null,
    usedReceiptIds: new Set(),
  };
  for (const group of groups) {
    try {
      if (group.cert) verifyGroupCertificate(group.cert, group.chain, store);
    } catch (e) {
      errors.push(errorOf(e));
      if (stopAtFirst) break;
    }
    for (const jws of group.receipts) {
      try {
        verifyReceipt(jws, group, store, aesKey, state, options);
      } catch (e) {
        errors.push(errorOf(e));
        if (stopAtFirst) break;
      }
      // The chain moves on even after an error (only matters with stopAtFirstError: false).
      state.prevJws = jws;
    }
    if (stopAtFirst && errors.length > 0) break;
  }
  return {
    valid: errors.length === 0,
    receipts,
    errors,
    turnoverCounterCents: aesKey ? state.lastTurnoverCounter : null,
  };
}
