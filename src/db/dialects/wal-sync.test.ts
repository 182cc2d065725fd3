import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WalSync } from './sqlite.js';

type Done = (error: NodeJS.ErrnoException | null) => void;

/** A WAL file, and a sync whose calls the test ends by hand (`syncs[i]`). */
function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'wal-sync-'));
  const walPath = join(dir, 'db.sqlite-wal');
  writeFileSync(walPath, 'frames');
  const syncs: Done[] = [];
  const sync = new WalSync(walPath, (_fd, done) => syncs.push(done));
  return { dir, walPath, syncs, sync };
}

const settled = async (promise: Promise<void> | null) => {
  let state = 'pending';
  void promise?.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  // Two turns: the settlement callbacks above run before this returns.
  await new Promise((resolve) => setImmediate(resolve));
  return promise === null ? 'durable' : state;
};

describe('WalSync', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('answers a COMMIT only once a sync that began after it has ended', async () => {
    const { dir, syncs, sync } = fixture();
    dirs.push(dir);
    expect(sync.pending()).toBeNull(); // nothing committed: nothing to wait for
    const first = sync.committed();
    const waitFirst = sync.pending(first);
    expect(await settled(waitFirst)).toBe('pending');
    expect(syncs).toHaveLength(1);

    // A COMMIT made while that sync runs is not covered by it: it waits for the next one, which starts only then.
    const second = sync.committed();
    const waitSecond = sync.pending(second);
    expect(syncs).toHaveLength(1);
    syncs[0]?.(null);
    expect(await settled(waitFirst)).toBe('resolved');
    expect(await settled(waitSecond)).toBe('pending');
    expect(syncs).toHaveLength(2);
    // A read after both COMMITs waits for the latest one.
    const read = sync.pending();
    syncs[1]?.(null);
    expect(await settled(waitSecond)).toBe('resolved');
    expect(await settled(read)).toBe('resolved');
    expect(sync.pending()).toBeNull();
    await sync.close();
  });

  it('after a failed sync, fails every waiting and later COMMIT (until restart)', async () => {
    const { dir, syncs, sync } = fixture();
    dirs.push(dir);
    const waiting = sync.pending(sync.committed());
    const failure = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    syncs[0]?.(failure);
    await expect(waiting).rejects.toThrow(/syncing .*db\.sqlite-wal failed; restart the server: EIO/);
    // The pages written before the failure may be lost: nothing is called durable any more, not even old commits.
    await expect(sync.pending(sync.committed())).rejects.toThrow(/restart the server/);
    await expect(sync.pending(1)).rejects.toThrow(/restart the server/);
    expect(syncs).toHaveLength(1);
    await sync.close();
  });

  it('fails the COMMIT when the WAL file cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-sync-'));
    dirs.push(dir);
    const sync = new WalSync(join(dir, 'missing-wal'));
    await expect(sync.pending(sync.committed())).rejects.toThrow(/missing-wal failed; restart the server: ENOENT/);
  });

  it('syncs a real file with fdatasync by default', async () => {
    const { dir, walPath } = fixture();
    dirs.push(dir);
    const sync = new WalSync(walPath);
    await sync.pending(sync.committed());
    expect(sync.pending()).toBeNull();
    await sync.close();
  });
});
