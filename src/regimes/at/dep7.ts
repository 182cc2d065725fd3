/**
 * The DEP export format (Detailspezifikation Z 3, "DEP7") and the crypto material container that verification tools
 * (BMF Prüftool, ztp-at/RKSV `verify.py`) take next to it:
 *
 * ```
 * {"Belege-Gruppe":[{"Signaturzertifikat":"<Base64 DER or "">","Zertifizierungsstellen":["<Base64 DER>",…],
 *                    "Belege-kompakt":["<JWS>",…]}, …]}
 * {"base64AESKey":"…","certificateOrPublicKeyMap":{"<id>":{"id":"<id>","signatureDeviceType":"CERTIFICATE"|
 *   "PUBLIC_KEY","signatureCertificateOrPublicKey":"<Base64 DER certificate or SubjectPublicKeyInfo>"}}}
 * ```
 *
 * Receipts stay in issue order; a new group starts whenever the signing certificate changes (Mustercode
 * SimpleMemoryDEPModule groups by certificate). Receipts from keys without certificate (closed systems) share groups
 * with an empty Signaturzertifikat; their public keys are found in the container by the key id in each receipt.
 * Certificate ids in the container are lower-case hex serials without leading zeros (ztp-at key_store).
 * @module
 */
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { base64Decode, base64Encode } from './encoding.js';
import type { RksvSignatureDeviceMaterial } from './signature-device.js';

export interface Dep7Group {
  readonly Signaturzertifikat: string;
  readonly Zertifizierungsstellen: readonly string[];
  readonly 'Belege-kompakt': readonly string[];
}

export interface Dep7Export {
  readonly 'Belege-Gruppe': readonly Dep7Group[];
  /** ztp-at/RKSV test annotation: the expected final turnover counter in euros; not part of the Detailspezifikation. */
  readonly 'Umsatz-gesamt'?: number;
}

export type SignatureDeviceType = 'CERTIFICATE' | 'PUBLIC_KEY';

export interface CryptographicMaterialEntry {
  readonly id: string;
  readonly signatureDeviceType: SignatureDeviceType;
  /** Base64 DER of the certificate, or of the SubjectPublicKeyInfo for a bare public key. */
  readonly signatureCertificateOrPublicKey: string;
}

export interface CryptographicMaterialContainer {
  readonly base64AESKey: string;
  readonly certificateOrPublicKeyMap: Readonly<Record<string, CryptographicMaterialEntry>>;
}

export interface Dep7Entry {
  readonly jws: string;
  /** The device that signed (or would have signed) the receipt; its certificate decides the group. */
  readonly device: Pick<RksvSignatureDeviceMaterial, 'certificate' | 'certificateChain'>;
}

/**
 * `per-certificate` (default): a new group whenever the certificate changes, the certificate and its chain in the
 * group. `single`: one group with an empty Signaturzertifikat, the certificates only in the container — what
 * ztp-at/RKSV writes unless told to use groups, and all verifiers accept.
 */
export type Dep7Grouping = 'per-certificate' | 'single';

export function buildDep7(
  entries: readonly Dep7Entry[],
  options: { readonly grouping?: Dep7Grouping } = {},
): Dep7Export {
  if (options.grouping === 'single') {
    return {
      'Belege-Gruppe': [
        { Signaturzertifikat: '', Zertifizierungsstellen: [], 'Belege-kompakt': entries.map((e) => e.jws) },
      ],
    };
  }
  const groups: Array<{ Signaturzertifikat: string; Zertifizierungsstellen: string[]; 'Belege-kompakt': string[] }> =
    [];
  for (const entry of entries) {
    const certificate = entry.device.certificate === null ? '' : base64Encode(entry.device.certificate);
    const current = groups.at(-1);
    if (current?.Signaturzertifikat === certificate) {
      current['Belege-kompakt'].push(entry.jws);
    } else {
      groups.push({
        Signaturzertifikat: certificate,
        Zertifizierungsstellen: entry.device.certificateChain.map(base64Encode),
        'Belege-kompakt': [entry.jws],
      });
    }
  }
  return { 'Belege-Gruppe': groups };
}

/** All receipts of a DEP7 export in order. */
export function dep7Receipts(dep: Dep7Export): string[] {
  return dep['Belege-Gruppe'].flatMap((group) => [...group['Belege-kompakt']]);
}

/** The container id of a certificate: its serial in lower-case hex without leading zeros. */
export function certificateContainerId(certificate: Buffer): string {
  return BigInt(`0x${new X509Certificate(certificate).serialNumber}`).toString(16);
}

export function certificateEntry(certificate: Buffer): CryptographicMaterialEntry {
  const id = certificateContainerId(certificate);
  return { id, signatureDeviceType: 'CERTIFICATE', signatureCertificateOrPublicKey: base64Encode(certificate) };
}

export function publicKeyEntry(id: string, publicKey: KeyObject): CryptographicMaterialEntry {
  return {
    id,
    signatureDeviceType: 'PUBLIC_KEY',
    signatureCertificateOrPublicKey: base64Encode(publicKey.export({ type: 'spki', format: 'der' })),
  };
}

/** The container entry a device is verified with: its certificate, or its public key under the key id. */
export function deviceEntry(device: RksvSignatureDeviceMaterial): CryptographicMaterialEntry {
  return device.certificate === null
    ? publicKeyEntry(device.containerId, device.publicKey)
    : certificateEntry(device.certificate);
}

export function buildCryptographicMaterialContainer(
  base64AesKey: string,
  entries: readonly CryptographicMaterialEntry[],
): CryptographicMaterialContainer {
  const map: Record<string, CryptographicMaterialEntry> = {};
  for (const entry of entries) {
    const existing = map[entry.id];
    if (existing !== undefined && existing.signatureCertificateOrPublicKey !== entry.signatureCertificateOrPublicKey) {
      throw new RangeError(`Two different keys under one container id: ${entry.id}`);
    }
    map[entry.id] = entry;
  }
  return { base64AESKey: base64AesKey, certificateOrPublicKeyMap: map };
}

/** The public key an entry holds (from the certificate or the SubjectPublicKeyInfo). */
export function entryPublicKey(entry: CryptographicMaterialEntry): KeyObject {
  const der = base64Decode(entry.signatureCertificateOrPublicKey);
  return entry.signatureDeviceType === 'CERTIFICATE'
    ? new X509Certificate(der).publicKey
    : createPublicKey({ key: der, format: 'der', type: 'spki' });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringArray(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
    throw new RangeError(`${where} is not an array of strings`);
  }
  return value;
}

/** Reads a DEP7 export from parsed JSON, checking its shape; unknown top-level members are dropped. */
export function parseDep7(value: unknown): Dep7Export {
  if (!isRecord(value) || !Array.isArray(value['Belege-Gruppe'])) {
    throw new RangeError('A DEP7 export is an object with a "Belege-Gruppe" array');
  }
  const groups = value['Belege-Gruppe'].map((group: unknown, index): Dep7Group => {
    const where = `Belege-Gruppe[${index}]`;
    if (!isRecord(group) || typeof group.Signaturzertifikat !== 'string') {
      throw new RangeError(`${where} needs a string Signaturzertifikat`);
    }
    return {
      Signaturzertifikat: group.Signaturzertifikat,
      Zertifizierungsstellen: stringArray(group.Zertifizierungsstellen, `${where}.Zertifizierungsstellen`),
      'Belege-kompakt': stringArray(group['Belege-kompakt'], `${where}.Belege-kompakt`),
    };
  });
  const total = value['Umsatz-gesamt'];
  return typeof total === 'number' ? { 'Belege-Gruppe': groups, 'Umsatz-gesamt': total } : { 'Belege-Gruppe': groups };
}

/** Reads a cryptographicMaterialContainer.json from parsed JSON, checking its shape and that ids match their keys. */
export function parseCryptographicMaterialContainer(value: unknown): CryptographicMaterialContainer {
  if (!isRecord(value) || typeof value.base64AESKey !== 'string' || !isRecord(value.certificateOrPublicKeyMap)) {
    throw new RangeError('A crypto container has a string base64AESKey and a certificateOrPublicKeyMap object');
  }
  const map: Record<string, CryptographicMaterialEntry> = {};
  for (const [key, entry] of Object.entries(value.certificateOrPublicKeyMap)) {
    if (
      !isRecord(entry) ||
      entry.id !== key ||
      (entry.signatureDeviceType !== 'CERTIFICATE' && entry.signatureDeviceType !== 'PUBLIC_KEY') ||
      typeof entry.signatureCertificateOrPublicKey !== 'string'
    ) {
      throw new RangeError(`Malformed crypto container entry ${JSON.stringify(key)}`);
    }
    map[key] = {
      id: key,
      signatureDeviceType: entry.signatureDeviceType,
      signatureCertificateOrPublicKey: entry.signatureCertificateOrPublicKey,
    };
  }
  return { base64AESKey: value.base64AESKey, certificateOrPublicKeyMap: map };
}
