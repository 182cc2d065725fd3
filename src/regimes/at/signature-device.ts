/**
 * Signature devices (Signatur- bzw. Siegelerstellungseinheiten): the port the register signs through, and a software
 * implementation for tests, demos and self-hosters without a card.
 *
 * - Open system: ECDSA P-256 key with an X.509 certificate; receipts name the certificate serial in hex and the trust
 *   service provider (ZDA) that issued it: `AT1` A-Trust, `AT2` GlobalTrust, `AT3` PrimeSign. A self-signed software
 *   certificate has no ZDA; like the BMF Mustercode (RKSuite.R1_AT100, "virtual ZDA") we write `AT100`. `AT0` would be
 *   wrong: it marks a closed system, and verifiers reject `AT0` next to a certificate serial.
 * - Closed system (geschlossenes Gesamtsystem): ZDA `AT0`, the key is named `<Ordnungsbegriff>-K<n>` (e.g.
 *   `U:ATU12345678-K1`) and registered in FinanzOnline as a bare public key.
 * @module
 */
import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createCertificate } from '../../crypto/x509.js';
import { ES256_SIGNATURE_BYTES } from './receipt-code.js';

/** The O of a software device's certificate: it can only vouch for itself. */
export const RKSV_CERTIFICATE_ORGANIZATION = 'OpenFiskal software signature device (not certified)';

/** Closed system. */
export const CLOSED_SYSTEM_ZDA = 'AT0';
/** The Mustercode's virtual ZDA for software certificates no trust service provider issued. */
export const SOFTWARE_CERTIFICATE_ZDA = 'AT100';

export type RksvZda = 'AT0' | 'AT1' | 'AT2' | 'AT3' | 'AT100';

/** Who signs: the receipt names both. */
export interface RksvSignatureDeviceIdentity {
  readonly zda: RksvZda;
  /** Hex certificate serial (open system) or key id `<Ordnungsbegriff>-K<n>` (closed system). */
  readonly certificateSerial: string;
}

/** The port the register signs through. `sign` returns raw r‖s (64 bytes) and throws when the device has failed. */
export interface RksvSigner extends RksvSignatureDeviceIdentity {
  sign(jwsSigningInput: Buffer): Buffer;
}

/** Thrown by a signer that cannot sign right now; the register then issues the receipt unsigned. */
export class SignatureDeviceUnavailableError extends Error {
  constructor(message = 'The signature device is unavailable') {
    super(message);
    this.name = 'SignatureDeviceUnavailableError';
  }
}

/** What a verifier needs to know about a device: goes into the crypto container and the DEP7 groups. */
export interface RksvSignatureDeviceMaterial extends RksvSignatureDeviceIdentity {
  /** Key of the crypto container's certificateOrPublicKeyMap: lower-case hex serial, or the key id. */
  readonly containerId: string;
  readonly publicKey: KeyObject;
  /** DER certificate; `null` for a closed-system key registered as a bare public key. */
  readonly certificate: Buffer | null;
  /** DER certificates from the signing certificate's issuer up to the root; empty when self-signed. */
  readonly certificateChain: readonly Buffer[];
}

export interface SoftwareSignatureDevice {
  readonly signer: RksvSigner;
  readonly material: RksvSignatureDeviceMaterial;
  readonly privateKey: KeyObject;
}

// ztp-at/RKSV CertSerialType: S: + 9-digit tax number, U: + upper-case alphanumeric UID (3–16 characters in all),
// G: + 13-digit GLN.
const COMPANY_ID = /^(?:S:\d{9}|U:[A-Z0-9]{1,14}|G:\d{13})$/;
const CERTIFICATE_VALIDITY_DAYS = 3650;
const DAY_MS = 86_400_000;
const SERIAL_BYTES = 16;

/** `U:ATU12345678` + 1 → `U:ATU12345678-K1`. */
export function closedSystemKeyId(companyId: string, keyNumber: number): string {
  if (!COMPANY_ID.test(companyId)) {
    throw new RangeError(`Not an Ordnungsbegriff (S:<tax number>, U:<UID>, G:<GLN>): ${JSON.stringify(companyId)}`);
  }
  if (!Number.isSafeInteger(keyNumber) || keyNumber < 0) throw new RangeError(`Not a key number: ${keyNumber}`);
  return `${companyId}-K${keyNumber}`;
}

/** A certificate serial as the receipt and the crypto container write it: lower-case hex without leading zeros. */
export function certificateSerialHex(serialNumber: Buffer): string {
  const value = serialNumber.reduce((sum, byte) => (sum << 8n) | BigInt(byte), 0n);
  if (value === 0n) throw new RangeError('A certificate serial is positive');
  return value.toString(16);
}

/** A signer over a private key held in this process. */
export function softwareSigner(identity: RksvSignatureDeviceIdentity, privateKey: KeyObject): RksvSigner {
  return {
    zda: identity.zda,
    certificateSerial: identity.certificateSerial,
    sign(jwsSigningInput: Buffer): Buffer {
      return sign('sha256', jwsSigningInput, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    },
  };
}

/** A device known by name that cannot sign: what a register uses while its card or HSM is out. */
export function unavailableSigner(identity: RksvSignatureDeviceIdentity, reason?: string): RksvSigner {
  return {
    zda: identity.zda,
    certificateSerial: identity.certificateSerial,
    sign(): Buffer {
      throw new SignatureDeviceUnavailableError(reason);
    },
  };
}

function p256KeyPair(privateKey: KeyObject | undefined): { privateKey: KeyObject; publicKey: KeyObject } {
  if (privateKey === undefined) return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new RangeError('ES256 needs a P-256 key');
  }
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** A random positive serial of 16 bytes: top bit clear (DER needs no sign octet), first byte non-zero. */
export function randomCertificateSerial(): Buffer {
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  return serial;
}

export interface OpenSystemDeviceOptions {
  readonly privateKey?: KeyObject;
  readonly serialNumber?: Buffer;
  readonly commonName?: string;
  readonly zda?: Exclude<RksvZda, 'AT0'>;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /**
   * How receipts write the serial: `hex` (default; the container id ztp-at/RKSV keys on) or `decimal` (what the
   * Mustercode's DemoCashBox writes, `BigInteger.toString()`). Verifiers try both readings.
   */
  readonly serialFormat?: 'hex' | 'decimal';
}

/** A software device of an open system: a fresh P-256 key and a self-signed end-entity certificate. */
export function createOpenSystemSoftwareDevice(options: OpenSystemDeviceOptions = {}): SoftwareSignatureDevice {
  const { privateKey, publicKey } = p256KeyPair(options.privateKey);
  const serialNumber = options.serialNumber ?? randomCertificateSerial();
  const hexSerial = certificateSerialHex(serialNumber);
  const notBefore = options.notBefore ?? new Date();
  const certificate = createCertificate({
    organization: RKSV_CERTIFICATE_ORGANIZATION,
    subjectPublicKey: publicKey,
    subjectPrivateKey: privateKey,
    subjectCommonName: options.commonName ?? `RKSV software signature device ${hexSerial}`,
    serialNumber,
    notBefore,
    notAfter: options.notAfter ?? new Date(notBefore.getTime() + CERTIFICATE_VALIDITY_DAYS * DAY_MS),
  });
  const identity: RksvSignatureDeviceIdentity = {
    zda: options.zda ?? SOFTWARE_CERTIFICATE_ZDA,
    certificateSerial: options.serialFormat === 'decimal' ? BigInt(`0x${hexSerial}`).toString(10) : hexSerial,
  };
  return {
    signer: softwareSigner(identity, privateKey),
    material: { ...identity, containerId: hexSerial, publicKey, certificate, certificateChain: [] },
    privateKey,
  };
}

export interface ClosedSystemDeviceOptions {
  /** Ordnungsbegriff of the company: `U:ATU12345678`, `S:123456789` or `G:1234567890123`. */
  readonly companyId: string;
  readonly keyNumber: number;
  readonly privateKey?: KeyObject;
}

/** A software device of a closed system: a fresh P-256 key, registered as a bare public key under its key id. */
export function createClosedSystemSoftwareDevice(options: ClosedSystemDeviceOptions): SoftwareSignatureDevice {
  const { privateKey, publicKey } = p256KeyPair(options.privateKey);
  const identity: RksvSignatureDeviceIdentity = {
    zda: CLOSED_SYSTEM_ZDA,
    certificateSerial: closedSystemKeyId(options.companyId, options.keyNumber),
  };
  return {
    signer: softwareSigner(identity, privateKey),
    material: {
      ...identity,
      containerId: identity.certificateSerial,
      publicKey,
      certificate: null,
      certificateChain: [],
    },
    privateKey,
  };
}

/** Checks that a signer returned an ES256 signature; anything else is a broken device, not a failed one. */
export function checkEs256Signature(signature: Buffer): Buffer {
  if (signature.length !== ES256_SIGNATURE_BYTES) {
    throw new Error(`An ES256 signature is r‖s of ${ES256_SIGNATURE_BYTES} bytes, got ${signature.length}`);
  }
  return signature;
}
