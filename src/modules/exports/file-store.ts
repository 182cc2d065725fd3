/**
 * Where export files live: `<data dir>/exports/`, one file per export attempt. A file is written under a temporary
 * name, flushed to disk and then renamed, so a reader never sees a partial file; its size and SHA-256 are computed
 * while it streams through, so however large it is, memory stays flat.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface StoredFile {
  /** The store's name for the file. */
  readonly key: string;
  readonly size: number;
  /** Hex SHA-256 of the content. */
  readonly sha256: string;
}

export interface FileStore {
  /**
   * Creates a new file from what `produce` writes to `out` (ending `out` is optional). If `produce` fails, nothing
   * is left behind.
   */
  write(prefix: string, produce: (out: Writable) => Promise<void>): Promise<StoredFile>;
  /** The file's content and size, or null if there is no such file. */
  open(key: string): Promise<{ readonly stream: Readable; readonly size: number } | null>;
  /** Deletes the file; a missing file is fine. */
  remove(key: string): Promise<void>;
  /** Deletes temporary files (of writers that crashed) older than `before`; returns how many. */
  removeStaleTemporaries(before: Date): Promise<number>;
}

const KEY = /^[A-Za-z0-9_-]{1,100}$/;
const TEMPORARY_SUFFIX = '.tmp';

function checkKey(key: string): string {
  // Keys come from the database; this keeps even a corrupted row from naming a path outside the directory.
  if (!KEY.test(key)) throw new Error('Invalid file key');
  return key;
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

export function createFileStore(directory: string): FileStore {
  const pathOf = (key: string) => join(directory, checkKey(key));

  return {
    async write(prefix, produce) {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      const key = checkKey(`${prefix}-${randomBytes(6).toString('hex')}`);
      const temporary = join(directory, `.${key}${TEMPORARY_SUFFIX}`);
      const hash = createHash('sha256');
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      });
      const written = pipeline(tap, createWriteStream(temporary, { flags: 'wx', mode: 0o600 }));
      // Observed here so that a disk error while `produce` runs is not an unhandled rejection; awaited below.
      written.catch(() => undefined);
      try {
        await produce(tap);
        if (!tap.writableEnded) tap.end();
        await written;
        const handle = await open(temporary, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temporary, pathOf(key));
      } catch (error) {
        tap.destroy();
        await written.catch(() => undefined);
        await rm(temporary, { force: true });
        throw error;
      }
      return { key, size, sha256: hash.digest('hex') };
    },

    async open(key) {
      const path = pathOf(key);
      try {
        const { size } = await stat(path);
        return { stream: createReadStream(path), size };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },

    async remove(key) {
      await rm(pathOf(key), { force: true });
    },

    async removeStaleTemporaries(before) {
      let names: string[];
      try {
        names = await readdir(directory);
      } catch (error) {
        if (isNotFound(error)) return 0;
        throw error;
      }
      let removed = 0;
      for (const name of names) {
        if (!name.startsWith('.') || !name.endsWith(TEMPORARY_SUFFIX)) continue;
        const path = join(directory, name);
        try {
          if ((await stat(path)).mtime < before) {
            await rm(path, { force: true });
            removed += 1;
          }
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      return removed;
    },
  };
}
