import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MASTER_KEY_BYTES,
  SECRETS_FILE_NAME,
  SecretsFileError,
  deriveKeys,
  loadOrCreateMasterKey,
} from './master-key.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'openfiskal-master-key-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function secretsFileErrorOf(dataDir: string): SecretsFileError {
  try {
    loadOrCreateMasterKey(dataDir, null);
  } catch (error) {
    if (error instanceof SecretsFileError) return error;
    throw error;
  }
  throw new Error('expected a SecretsFileError');
}

/** Writes a secrets file with the given content and mode. */
function writeSecrets(content: string, mode = 0o600): string {
  const path = join(dir, SECRETS_FILE_NAME);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

describe(loadOrCreateMasterKey.name, () => {
  it('creates secrets.json with mode 0600 holding the returned 32-byte key', () => {
    const key = loadOrCreateMasterKey(dir, null);
    const path = join(dir, SECRETS_FILE_NAME);
    expect(key).toHaveLength(MASTER_KEY_BYTES);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 1, master_key: key.toString('base64') });
  });

  it('returns the same key on the second call', () => {
    const first = loadOrCreateMasterKey(dir, null);
    expect(loadOrCreateMasterKey(dir, null).equals(first)).toBe(true);
  });

  it('creates a missing data directory, readable by its owner only', () => {
    const dataDir = join(dir, 'nested', 'data');
    loadOrCreateMasterKey(dataDir, null);
    expect(existsSync(join(dataDir, SECRETS_FILE_NAME))).toBe(true);
    expect(statSync(dataDir).mode & 0o077).toBe(0);
  });

  it('creates a different key in another data directory', () => {
    const other = join(dir, 'other');
    expect(loadOrCreateMasterKey(dir, null).equals(loadOrCreateMasterKey(other, null))).toBe(false);
  });

  it('reads an existing secrets file', () => {
    const key = Buffer.alloc(32, 9);
    writeSecrets(JSON.stringify({ version: 1, master_key: key.toString('base64') }));
    expect(loadOrCreateMasterKey(dir, null).equals(key)).toBe(true);
  });

  it('returns the configured key and does not touch the data directory', () => {
    const configured = Buffer.alloc(32, 5);
    const dataDir = join(dir, 'unused');
    expect(loadOrCreateMasterKey(dataDir, configured)).toBe(configured);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('prefers the configured key over an existing secrets file', () => {
    writeSecrets(JSON.stringify({ version: 1, master_key: Buffer.alloc(32, 9).toString('base64') }));
    const configured = Buffer.alloc(32, 5);
    expect(loadOrCreateMasterKey(dir, configured)).toBe(configured);
  });

  it('refuses a secrets file readable by other users (0644), telling to chmod 600', () => {
    const path = writeSecrets(JSON.stringify({ version: 1, master_key: Buffer.alloc(32).toString('base64') }), 0o644);
    const error = secretsFileErrorOf(dir);
    expect(error.message).toContain('mode 644');
    expect(error.message).toContain(`chmod 600 ${path}`);
  });

  it('refuses a group-readable secrets file (0640)', () => {
    writeSecrets(JSON.stringify({ version: 1, master_key: Buffer.alloc(32).toString('base64') }), 0o640);
    expect(secretsFileErrorOf(dir).message).toContain('chmod 600');
  });

  it('refuses a secrets file that is not JSON', () => {
    const path = writeSecrets('master_key=abc');
    expect(secretsFileErrorOf(dir).message).toBe(`${path} is not valid JSON`);
  });

  it.each([
    ['no master_key', '{"version":1}'],
    ['a 16-byte master_key', JSON.stringify({ version: 1, master_key: Buffer.alloc(16).toString('base64') })],
    ['a numeric master_key', '{"version":1,"master_key":42}'],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
  ])('refuses a secrets file with %s', (_, content) => {
    const path = writeSecrets(content);
    expect(secretsFileErrorOf(dir).message).toBe(`${path} has no valid master_key (base64 of 32 bytes)`);
  });
});

describe(deriveKeys.name, () => {
  const master = Buffer.alloc(32, 0xab);

  it('gives the same keys for the same master key', () => {
    expect(deriveKeys(master)).toEqual(deriveKeys(Buffer.alloc(32, 0xab)));
  });

  it('gives 32-byte keys, distinct per purpose and from the master key', () => {
    const { apiKeyPepper, responseEncryptionKey } = deriveKeys(master);
    expect([apiKeyPepper.length, responseEncryptionKey.length]).toEqual([32, 32]);
    expect(apiKeyPepper.equals(responseEncryptionKey)).toBe(false);
    expect(apiKeyPepper.equals(master) || responseEncryptionKey.equals(master)).toBe(false);
  });

  it('gives different keys for a different master key', () => {
    const a = deriveKeys(master);
    const b = deriveKeys(Buffer.alloc(32, 0xac));
    expect(a.apiKeyPepper.equals(b.apiKeyPepper)).toBe(false);
    expect(a.responseEncryptionKey.equals(b.responseEncryptionKey)).toBe(false);
  });
});
