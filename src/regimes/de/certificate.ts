/**
 * The self-signed X.509 certificate of a software TSE's signing key. A certified TSE's certificate is issued by its
 * vendor's CA; ours can only vouch for itself, and its organisation name says so.
 * @module
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import {
  encodeBitString,
  encodeBoolean,
  encodeContextConstructed,
  encodeGeneralizedTime,
  encodeInteger,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSet,
  encodeTlv,
  encodeUtcTime,
  encodeUtf8String,
  TAG_INTEGER,
  unsignedIntegerContent,
} from './der.js';
import { publicKeyPoint } from './log-message.js';

export const CERTIFICATE_ORGANIZATION = 'OpenFiskal software TSE (not certified)';

const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_PRIME256V1 = '1.2.840.10045.3.1.7';
const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
// RFC 5280 4.1.2.2: conforming CAs do not use serial numbers longer than 20 octets.
const MAX_SERIAL_OCTETS = 20;
// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on.
const FIRST_GENERALIZED_TIME_YEAR = 2050;

function encodeTime(date: Date): Buffer {
  return date.getUTCFullYear() < FIRST_GENERALIZED_TIME_YEAR ? encodeUtcTime(date) : encodeGeneralizedTime(date);
}

function encodeName(commonName: string): Buffer {
  const attribute = (oid: string, value: string) => encodeSet(encodeSequence(encodeOid(oid), encodeUtf8String(value)));
  return encodeSequence(attribute(OID_ORGANIZATION, CERTIFICATE_ORGANIZATION), attribute(OID_COMMON_NAME, commonName));
}

function encodeExtension(oid: string, critical: boolean, value: Buffer): Buffer {
  return encodeSequence(encodeOid(oid), ...(critical ? [encodeBoolean(true)] : []), encodeOctetString(value));
}

/**
 * A self-signed X.509 v3 certificate (DER) for a P-256 key, signed with ecdsa-with-SHA256: end entity
 * (basicConstraints CA:FALSE), keyUsage digitalSignature (critical), subject = issuer = O + CN. `serialNumber` is an
 * unsigned big-endian number; it must be positive and fit in 20 DER octets (so at most 159 bits).
 */
export function createSelfSignedCertificate(input: {
  privateKey: KeyObject;
  publicKey: KeyObject;
  commonName: string;
  serialNumber: Buffer;
  notBefore: Date;
  notAfter: Date;
}): Buffer {
  const serialContent = unsignedIntegerContent(input.serialNumber);
  if (serialContent.every((byte) => byte === 0)) throw new RangeError('Certificate serial number must be positive');
  if (serialContent.length > MAX_SERIAL_OCTETS) {
    throw new RangeError(`Certificate serial number must fit in ${MAX_SERIAL_OCTETS} DER octets`);
  }
  if (!(input.notBefore.getTime() < input.notAfter.getTime())) throw new RangeError('notBefore must precede notAfter');
  if (input.commonName.length === 0) throw new RangeError('Certificate common name must not be empty');

  const signatureAlgorithm = encodeSequence(encodeOid(OID_ECDSA_WITH_SHA256));
  const name = encodeName(input.commonName);
  const tbsCertificate = encodeSequence(
    encodeContextConstructed(0, encodeInteger(2n)), // version v3
    encodeTlv(TAG_INTEGER, serialContent),
    signatureAlgorithm,
    name,
    encodeSequence(encodeTime(input.notBefore), encodeTime(input.notAfter)),
    name,
    encodeSequence(
      encodeSequence(encodeOid(OID_EC_PUBLIC_KEY), encodeOid(OID_PRIME256V1)),
      encodeBitString(publicKeyPoint(input.publicKey)),
    ),
    encodeContextConstructed(
      3,
      encodeSequence(
        // An empty SEQUENCE: cA defaults to FALSE and DER omits defaults.
        encodeExtension(OID_BASIC_CONSTRAINTS, false, encodeSequence()),
        // digitalSignature is bit 0: one used bit, seven unused.
        encodeExtension(OID_KEY_USAGE, true, encodeBitString(Buffer.of(0x80), 7)),
      ),
    ),
  );
  const signature = sign('sha256', tbsCertificate, input.privateKey);
  // A private key that does not belong to the public key would yield a certificate nobody can verify.
  if (!verify('sha256', tbsCertificate, input.publicKey, signature)) {
    throw new Error('The private key does not match the public key');
  }
  return encodeSequence(tbsCertificate, signatureAlgorithm, encodeBitString(signature));
}
