/**
 * The server's one secret. Every other secret is derived from it (HKDF-SHA256), so backing up the data directory's
 * `secrets.json` (or the `OPENFISKAL_MASTER_KEY` variable) is all an operator must keep safe.
 * @module
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SECRETS_FILE_NAME = 'secrets.json';
export const MASTER_KEY_BYTES = 32;

/** Keys derived from the master key, one per purpose. */
export interface DerivedKeys {
  /** HMAC key for API key hashes (the "pepper"). */
  readonly apiKeyPepper: Buffer;
  /** AES-256-GCM key for stored idempotent responses (they can contain freshly issued API keys). */
  readonly responseEncryptionKey: Buffer;
  /** AES-256-GCM key for the private keys of software signing devices. */
  readonly signingKeyEncryptionKey: Buffer;
}

export class SecretsFileError extends Error {}

/**
 * Returns the master key: `configured` when given, otherwise the one in `<dataDir>/secrets.json`, creating that
 * file (mode 0600) on first use. Refuses a secrets file that other users can read.
 */
export function loadOrCreateMasterKey(dataDir: string, configured: Buffer | null): Buffer {
  // The data directory holds the database, its WAL and the export files: only this user may enter it, also when
  // it existed before (a mounted volume, a directory made by hand under umask 022).
  if (existsSync(dataDir) && (statSync(dataDir).mode & 0o077) !== 0) chmodSync(dataDir, 0o700);
  if (configured !== null) return configured;
  const path = join(dataDir, SECRETS_FILE_NAME);
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const key = randomBytes(MASTER_KEY_BYTES);
    const content = JSON.stringify({ version: 1, master_key: key.toString('base64') }, null, 2) + '\n';
    // 'wx' fails if a concurrent process created the file first; we then read theirs.
    try {
      writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
      return key;
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
    }
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new SecretsFileError(`${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
  }
  return parseSecretsFile(path, readFileSync(path, 'utf8'));
}

function parseSecretsFile(path: string, content: string): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    throw new SecretsFileError(`${path} is not valid JSON`);
  }
  const encoded =
    typeof parsed === 'object' && parsed !== null && 'master_key' in parsed ? parsed.master_key : undefined;
  const key = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (key.length !== MASTER_KEY_BYTES) {
    throw new SecretsFileError(`${path} has no valid master_key (base64 of ${MASTER_KEY_BYTES} bytes)`);
  }
  return key;
}

/** Derives the per-purpose keys; the same master key always gives the same keys. */
export function deriveKeys(masterKey: Buffer): DerivedKeys {
  const derive = (info: string): Buffer =>
    Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `openfiskal/${info}`, 32));
  return {
    apiKeyPepper: derive('api-key-pepper/v1'),
    responseEncryptionKey: derive('idempotent-response/v1'),
    signingKeyEncryptionKey: derive('signing-device-key/v1'),
  };
}
