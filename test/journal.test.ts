import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '../src/db/schema.js';
import { createJournalRepository } from '../src/modules/journal/journal.repository.js';
import type { JournalEntry, JournalVerification } from '../src/modules/journal/journal.schemas.js';
import type { Register } from '../src/modules/registers/register.schemas.js';
import { canonicalJson } from '../src/shared/canonical-json.js';
import { entryHash, GENESIS_HASH, payloadHash } from '../src/shared/hash-chain.js';
import { newId } from '../src/shared/ids.js';
import type { Page } from '../src/shared/pagination.js';
import type { ApiClient } from './helpers/api-client.js';
import { expectError } from './helpers/assertions.js';
import { describeDb, engine, type ScratchDatabase } from './helpers/engines.js';
import {
  createLocation,
  createOrganization,
  createRegister,
  createTenant,
  type TenantFixture,
} from './helpers/factories.js';
import { childEnv, ROOT, runCommand, type CommandResult } from './helpers/process.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

const HEX64 = /^[0-9a-f]{64}$/;
const T0 = Date.parse('2026-03-01T09:00:00.000Z');
const minute = (i: number) => new Date(T0 + i * 60_000).toISOString();

// The CLI runs from its TypeScript source (tsx), not from dist/: `npm run build` compiles the whole tree, which
// must not make these tests depend on unrelated modules being complete. Same command, same code path.
function cli(args: readonly string[], env: Record<string, string>): Promise<CommandResult> {
  return runCommand(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], childEnv(env));
}

describeDb('journal', () => {
  let t: TestApp;
  let a: TenantFixture;
  let b: TenantFixture;
  beforeAll(async () => {
    t = await buildTestApp();
    a = await createTenant(t, 'Platform A');
    b = await createTenant(t, 'Platform B');
  });
  afterAll(() => t.close());

  const append = (registerId: string, i: number) =>
    t.database.transaction(() =>
      t.container.journal.append({
        registerId,
        type: 'operation.completed',
        subjectId: `op_${String(i).padStart(26, '0')}`,
        payload: {
          index: i,
          total_gross: 100 * i,
          note: 'Grüße ✓',
          lines: [{ qty: 1.5, tax: { rate: '0.19' } }],
          tip: null,
        },
        at: minute(i),
      }),
    );

  async function appendMany(registerId: string, count: number): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    for (let i = 1; i <= count; i++) entries.push(await append(registerId, i));
    return entries;
  }

  async function freshRegister(entries: number): Promise<Register> {
    const register = await createRegister(a.orgApi, a.location.id);
    await appendMany(register.id, entries);
    return register;
  }

  const journalLength = async (registerId: string) =>
    (
      await t.database
        .executor()
        .selectFrom('registers')
        .select('journal_length')
        .where('id', '=', registerId)
        .executeTakeFirstOrThrow()
    ).journal_length;

  describe('append', () => {
    it('chains entries from the genesis hash, hashing the canonical envelope', async () => {
      const register = await createRegister(a.orgApi, a.location.id);
      const [first, second] = await appendMany(register.id, 2);
      expect(first).toBeDefined();
      expect(second).toBeDefined();
      if (first === undefined || second === undefined) return;
      const envelope = {
        register_id: register.id,
        type: 'operation.completed',
        subject_id: `op_${'1'.padStart(26, '0')}`,
        created_at: minute(1),
        data: { index: 1, total_gross: 100, note: 'Grüße ✓', lines: [{ qty: 1.5, tax: { rate: '0.19' } }], tip: null },
      };
      expect(first).toEqual({
        object: 'journal_entry',
        register_id: register.id,
        seq: 1,
        type: 'operation.completed',
        subject_id: envelope.subject_id,
        payload: envelope,
        payload_hash: payloadHash(canonicalJson(envelope)),
        prev_hash: GENESIS_HASH,
        entry_hash: entryHash(GENESIS_HASH, 1n, payloadHash(canonicalJson(envelope))),
        created_at: minute(1),
      });
      expect(second.seq).toBe(2);
      expect(second.prev_hash).toBe(first.entry_hash);
      expect(second.entry_hash).toBe(entryHash(first.entry_hash, 2n, second.payload_hash));
      expect(await journalLength(register.id)).toBe(2n);
    });

    it('refuses to run outside a transaction and for an unknown register', async () => {
      const input = {
        registerId: a.register.id,
        type: 'operation.completed',
        subjectId: 'op_x',
        payload: {},
        at: minute(0),
      };
      await expect(t.container.journal.append(input)).rejects.toThrow(/inside a database transaction/);
      await expect(
        t.database.transaction(() => t.container.journal.append({ ...input, registerId: newId('reg') })),
      ).rejects.toThrow(/unknown register/);
      await expect(
        t.database.transaction(() => t.container.journal.append({ ...input, type: 'Completed' })),
      ).rejects.toThrow(/type/);
      await expect(
        t.database.transaction(() => t.container.journal.append({ ...input, at: 'yesterday' })),
      ).rejects.toThrow(/RFC 3339/);
    });

    it('rolls back with the caller: the seq is taken again, the chain has no gap', async () => {
      const register = await freshRegister(2);
      await expect(
        t.database.transaction(async () => {
          await t.container.journal.append({
            registerId: register.id,
            type: 'operation.completed',
            subjectId: 'op_rolled_back',
            payload: {},
            at: minute(3),
          });
          throw new Error('the operation failed');
        }),
      ).rejects.toThrow('the operation failed');
      expect(await journalLength(register.id)).toBe(2n);
      // The rolled-back entry's hash is not linked to, by this append or the next (the service keeps each
      // register's newest entry in memory and must drop one that never committed).
      const third = await append(register.id, 3);
      expect(third.seq).toBe(3);
      expect((await append(register.id, 4)).prev_hash).toBe(third.entry_hash);
      const verified = await a.orgApi.get<JournalVerification>(`/v1/registers/${register.id}/journal/verify`);
      expect(verified.body).toMatchObject({ valid: true, length: 4, entries_checked: 4 });
    });

    it('links to an entry another server process appended, not to the one it appended last', async () => {
      const register = await freshRegister(2);
      const other = await buildTestApp({ scratch: t.scratch, masterKey: t.masterKey });
      let theirs: JournalEntry;
      try {
        theirs = await other.database.transaction(() =>
          other.container.journal.append({
            registerId: register.id,
            type: 'operation.completed',
            subjectId: 'op_other_process',
            payload: {},
            at: minute(3),
          }),
        );
      } finally {
        await other.close({ keepData: true });
      }
      expect(theirs.seq).toBe(3);
      const mine = await append(register.id, 4);
      expect(mine).toMatchObject({ seq: 4, prev_hash: theirs.entry_hash });
      const verified = await a.orgApi.get<JournalVerification>(`/v1/registers/${register.id}/journal/verify`);
      expect(verified.body).toMatchObject({ valid: true, length: 4, entries_checked: 4 });
    });

    it('appends after a remembered head only while it is the stored head, by length and by hash', async () => {
      const register = await createRegister(a.orgApi, a.location.id);
      const [first, second] = await appendMany(register.id, 2);
      if (first === undefined || second === undefined) throw new Error('two entries expected');
      const repository = createJournalRepository(t.database);
      const entryAt = (seq: bigint, prevHash: string) => {
        const created = minute(3);
        const envelope = {
          register_id: register.id,
          type: 'operation.cancelled',
          subject_id: 'op_x',
          created_at: created,
        };
        const payload = canonicalJson({ ...envelope, data: { after: Number(seq) - 1 } });
        const hash = payloadHash(payload);
        return {
          ...envelope,
          seq,
          payload,
          payload_hash: hash,
          prev_hash: prevHash,
          entry_hash: entryHash(prevHash, seq, hash),
          created_at: created,
        };
      };
      const tryAppend = (row: ReturnType<typeof entryAt>) =>
        t.database.transaction(() => repository.appendAfterHead(row));
      // A head the journal has moved past (as after another process's append), and a head with the right seq but
      // another hash (as after a rolled-back append): nothing is written.
      expect(await tryAppend(entryAt(2n, first.entry_hash))).toBe(false);
      expect(await tryAppend(entryAt(3n, first.entry_hash))).toBe(false);
      expect(await tryAppend(entryAt(4n, second.entry_hash))).toBe(false);
      expect(await journalLength(register.id)).toBe(2n);
      // The stored head: the length moves and the entry is there, linked.
      expect(await tryAppend(entryAt(3n, second.entry_hash))).toBe(true);
      expect(await journalLength(register.id)).toBe(3n);
      const verified = await a.orgApi.get<JournalVerification>(`/v1/registers/${register.id}/journal/verify`);
      expect(verified.body).toMatchObject({ valid: true, length: 3, entries_checked: 3 });
    });

    it('gives 40 parallel transactions on one register the seqs 1..40 in one valid chain', async () => {
      const register = await createRegister(a.orgApi, a.location.id);
      const other = await createRegister(a.orgApi, a.location.id);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => append(i % 4 === 3 ? other.id : register.id, i + 1)),
      );
      const mine = results.filter((e) => e.register_id === register.id).map((e) => e.seq);
      expect(mine.sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const theirs = results.filter((e) => e.register_id === other.id).map((e) => e.seq);
      expect(theirs.sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      const single = await createRegister(a.orgApi, a.location.id);
      const forty = await Promise.all(Array.from({ length: 40 }, (_, i) => append(single.id, i + 1)));
      expect(forty.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      for (const id of [register.id, other.id, single.id]) {
        const verified = await a.orgApi.get<JournalVerification>(`/v1/registers/${id}/journal/verify`);
        expect(verified.body.valid, verified.text).toBe(true);
      }
    });
  });

  describe('listing', () => {
    let register: Register;
    let entries: JournalEntry[];
    beforeAll(async () => {
      register = await createRegister(a.orgApi, a.location.id);
      entries = await appendMany(register.id, 7);
    });
    const url = (query = '') => `/v1/registers/${register.id}/journal${query}`;

    it('lists entries in seq order with the parsed payload', async () => {
      const response = await a.orgApi.get<Page<JournalEntry>>(url());
      expect(response.status, response.text).toBe(200);
      expect(response.body).toEqual({ object: 'list', data: entries, has_more: false, next_cursor: null });
      for (const entry of response.body.data) {
        expect(entry.payload_hash).toMatch(HEX64);
        expect(entry.entry_hash).toMatch(HEX64);
      }
    });

    it('pages with an opaque cursor on seq, in both orders', async () => {
      const seqs = async (order: 'asc' | 'desc') => {
        const seen: number[][] = [];
        let cursor: string | null = null;
        do {
          const query: string = `?limit=3&order=${order}${cursor === null ? '' : `&cursor=${cursor}`}`;
          const page: Page<JournalEntry> = (await a.orgApi.get<Page<JournalEntry>>(url(query))).body;
          seen.push(page.data.map((e) => e.seq));
          expect(page.has_more).toBe(page.next_cursor !== null);
          cursor = page.next_cursor;
        } while (cursor !== null);
        return seen;
      };
      expect(await seqs('asc')).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
      expect(await seqs('desc')).toEqual([[7, 6, 5], [4, 3, 2], [1]]);
    });

    it('bounds created_at with from and to (inclusive, any offset)', async () => {
      const response = await a.orgApi.get<Page<JournalEntry>>(
        url(`?from=${encodeURIComponent('2026-03-01T10:03:00+01:00')}&to=${minute(5)}`),
      );
      expect(response.body.data.map((e) => e.seq)).toEqual([3, 4, 5]);
      const desc = await a.orgApi.get<Page<JournalEntry>>(url(`?from=${minute(3)}&order=desc&limit=2`));
      expect(desc.body.data.map((e) => e.seq)).toEqual([7, 6]);
      const next = await a.orgApi.get<Page<JournalEntry>>(
        url(`?from=${minute(3)}&order=desc&limit=2&cursor=${desc.body.next_cursor ?? ''}`),
      );
      expect(next.body.data.map((e) => e.seq)).toEqual([5, 4]);
    });

    it('refuses bad list parameters', async () => {
      expectError(await a.orgApi.get(url('?limit=0')), 400, 'invalid_request', 'limit');
      expectError(await a.orgApi.get(url('?limit=201')), 400, 'invalid_request', 'limit');
      expectError(await a.orgApi.get(url('?order=up')), 400, 'invalid_request', 'order');
      expectError(await a.orgApi.get(url('?cursor=nonsense')), 400, 'invalid_request', 'cursor');
      const asc = await a.orgApi.get<Page<JournalEntry>>(url('?limit=2'));
      expectError(
        await a.orgApi.get(url(`?order=desc&cursor=${asc.body.next_cursor ?? ''}`)),
        400,
        'invalid_request',
        'cursor',
      );
      expectError(await a.orgApi.get(url(`?from=${minute(5)}&to=${minute(3)}`)), 400, 'invalid_request', 'from');
    });
  });

  describe('verification', () => {
    it('reports an intact chain with its head, and an empty one as valid', async () => {
      const register = await createRegister(a.orgApi, a.location.id);
      const empty = await a.orgApi.get<JournalVerification>(`/v1/registers/${register.id}/journal/verify`);
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({
        object: 'journal_verification',
        register_id: register.id,
        valid: true,
        entries_checked: 0,
        length: 0,
        head_hash: GENESIS_HASH,
        first_broken: null,
        verified_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/) as unknown,
      });
      const entries = await appendMany(register.id, 5);
      const verified = await a.orgApi.get<JournalVerification>(`/v1/registers/${register.id}/journal/verify`);
      expect(verified.body).toMatchObject({
        valid: true,
        entries_checked: 5,
        length: 5,
        head_hash: entries.at(-1)?.entry_hash,
        first_broken: null,
      });
    });

    it('walks long journals in batches (batch boundaries included)', async () => {
      const register = await createRegister(a.orgApi, a.location.id);
      await t.database.transaction(async () => {
        for (let i = 1; i <= 2500; i++) {
          await t.container.journal.append({
            registerId: register.id,
            type: 'cash_movement.recorded',
            subjectId: `op_${String(i).padStart(26, '0')}`,
            payload: { i },
            at: minute(i),
          });
        }
      });
      const verified = await a.orgApi.get<JournalVerification>(`/v1/registers/${register.id}/journal/verify`);
      expect(verified.body).toMatchObject({ valid: true, entries_checked: 2500, length: 2500 });
    });
  });

  describe('the database refuses to change entries', () => {
    let register: Register;
    beforeAll(async () => {
      register = await freshRegister(3);
    });

    const refused = async (statement: ReturnType<typeof sql>) => {
      await expect(statement.execute(t.database.executor())).rejects.toThrow(/journal_entries is append-only/);
    };

    it('refuses UPDATE, DELETE and (PostgreSQL) TRUNCATE, whatever the client', async () => {
      await refused(sql`update journal_entries set type = 'operation.voided' where register_id = ${register.id}`);
      await refused(sql`update journal_entries set payload = payload where register_id = ${register.id} and seq = 2`);
      await refused(sql`delete from journal_entries where register_id = ${register.id} and seq = 3`);
      await refused(sql`delete from journal_entries`);
      if (engine === 'postgres') await refused(sql`truncate journal_entries`);
      const verified = await a.orgApi.get<JournalVerification>(`/v1/registers/${register.id}/journal/verify`);
      expect(verified.body).toMatchObject({ valid: true, length: 3, entries_checked: 3 });
    });

    it('refuses inside an application transaction too, rolling it back', async () => {
      await expect(
        t.database.transaction(async () => {
          await append(register.id, 4);
          await sql`delete from journal_entries where register_id = ${register.id}`.execute(t.database.executor());
        }),
      ).rejects.toThrow(/append-only/);
      expect(await journalLength(register.id)).toBe(3n);
    });
  });

  describe('tampering around the triggers is detected', () => {
    /**
     * Runs `mutate` on the journal with the triggers out of the way, then `check` against that database: on SQLite
     * a copy of the file whose triggers are dropped, on PostgreSQL the scratch schema with user triggers disabled
     * (re-enabled afterwards; the tampered register stays broken).
     */
    async function tampered(
      mutate: (db: Kysely<DB>) => Promise<void>,
      check: (target: { api: ApiClient; env: Record<string, string> }) => Promise<void>,
    ): Promise<void> {
      if (engine === 'postgres') {
        const db = t.database.executor();
        await sql`alter table journal_entries disable trigger user`.execute(db);
        try {
          await mutate(db);
        } finally {
          await sql`alter table journal_entries enable trigger user`.execute(db);
        }
        await check({ api: a.orgApi, env: { DATABASE_URL: t.scratch.url, OPENFISKAL_DATA_DIR: t.scratch.dataDir } });
        return;
      }
      const dataDir = mkdtempSync(join(tmpdir(), 'openfiskal-tampered-'));
      const path = join(dataDir, 'openfiskal.db');
      // VACUUM INTO writes a consistent copy, including what is still in the WAL.
      await sql`vacuum into ${path}`.execute(t.database.executor());
      const scratch: ScratchDatabase = {
        location: { kind: 'sqlite', path },
        url: `sqlite:${path}`,
        dataDir,
        drop: () => {
          rmSync(dataDir, { recursive: true, force: true });
          return Promise.resolve();
        },
      };
      const copy = await buildTestApp({ scratch, masterKey: t.masterKey });
      try {
        const db = copy.database.executor();
        await sql`drop trigger journal_entries_no_update`.execute(db);
        await sql`drop trigger journal_entries_no_delete`.execute(db);
        await mutate(db);
        await check({
          api: copy.api.as(a.key, a.organization.id),
          env: { DATABASE_URL: scratch.url, OPENFISKAL_DATA_DIR: dataDir },
        });
      } finally {
        await copy.close();
      }
    }

    const verify = async (api: ApiClient, registerId: string) => {
      const response = await api.get<JournalVerification>(`/v1/registers/${registerId}/journal/verify`);
      expect(response.status, response.text).toBe(200);
      return response.body;
    };

    const entry = (db: Kysely<DB>, registerId: string, seq: number) =>
      db
        .selectFrom('journal_entries')
        .selectAll()
        .where('register_id', '=', registerId)
        .where('seq', '=', BigInt(seq))
        .executeTakeFirstOrThrow();

    const at = (registerId: string, seq: number) => sql`register_id = ${registerId} and seq = ${seq}`;

    /** Entry 3's payload with total_gross 3 instead of 300, and its honest hashes. */
    async function forgeThird(db: Kysely<DB>, registerId: string) {
      const [second, third] = [await entry(db, registerId, 2), await entry(db, registerId, 3)];
      const payload = third.payload.replace('"total_gross":300', '"total_gross":3');
      expect(payload).not.toBe(third.payload);
      const hash = payloadHash(payload);
      return { second, third, payload, hash, entryHash: entryHash(second.entry_hash, 3n, hash) };
    }

    it('an altered payload: payload_hash_mismatch at its seq (API and CLI)', async () => {
      const register = await freshRegister(5);
      let forged!: Awaited<ReturnType<typeof forgeThird>>;
      await tampered(
        async (db) => {
          forged = await forgeThird(db, register.id);
          await sql`update journal_entries set payload = ${forged.payload} where ${at(register.id, 3)}`.execute(db);
        },
        async ({ api, env }) => {
          const verification = await verify(api, register.id);
          expect(verification).toMatchObject({
            valid: false,
            entries_checked: 2,
            length: 5,
            head_hash: forged.second.entry_hash,
            first_broken: {
              seq: 3,
              reason: 'payload_hash_mismatch',
              expected: forged.hash,
              actual: forged.third.payload_hash,
            },
          });
          const cliEnv = { ...env, OPENFISKAL_MASTER_KEY: t.masterKey.toString('base64') };
          const [human, json] = await Promise.all([
            cli(['verify-journal', '--register', register.id], cliEnv),
            cli(['verify-journal', '--register', register.id, '--json'], cliEnv),
          ]);
          expect(human.code, human.stderr).toBe(1);
          expect(human.stdout).toContain(`Journal of ${register.id}: BROKEN at seq 3 (payload_hash_mismatch)`);
          expect(human.stdout).toContain(`expected:    ${forged.hash}`);
          expect(human.stdout).toContain(`actual:      ${forged.third.payload_hash}`);
          expect(json.code, json.stderr).toBe(1);
          expect({ ...(JSON.parse(json.stdout) as JournalVerification), verified_at: null }).toEqual({
            ...verification,
            verified_at: null,
          });
        },
      );
    });

    it('an altered payload with its payload_hash: entry_hash_mismatch', async () => {
      const register = await freshRegister(5);
      let forged!: Awaited<ReturnType<typeof forgeThird>>;
      await tampered(
        async (db) => {
          forged = await forgeThird(db, register.id);
          await sql`update journal_entries set payload = ${forged.payload}, payload_hash = ${forged.hash}
            where ${at(register.id, 3)}`.execute(db);
        },
        async ({ api }) => {
          expect((await verify(api, register.id)).first_broken).toEqual({
            seq: 3,
            reason: 'entry_hash_mismatch',
            expected: forged.entryHash,
            actual: forged.third.entry_hash,
          });
        },
      );
    });

    it('an entry rewritten with all its hashes: prev_hash_mismatch at the next seq', async () => {
      const register = await freshRegister(5);
      let forged!: Awaited<ReturnType<typeof forgeThird>>;
      await tampered(
        async (db) => {
          forged = await forgeThird(db, register.id);
          await sql`update journal_entries
            set payload = ${forged.payload}, payload_hash = ${forged.hash}, entry_hash = ${forged.entryHash}
            where ${at(register.id, 3)}`.execute(db);
        },
        async ({ api }) => {
          const verification = await verify(api, register.id);
          expect(verification.entries_checked).toBe(3);
          expect(verification.first_broken).toEqual({
            seq: 4,
            reason: 'prev_hash_mismatch',
            expected: forged.entryHash,
            actual: forged.third.entry_hash,
          });
        },
      );
    });

    it('two entries swapped: prev_hash_mismatch at the first', async () => {
      const register = await freshRegister(5);
      let first = '';
      let second = '';
      await tampered(
        async (db) => {
          first = (await entry(db, register.id, 1)).entry_hash;
          second = (await entry(db, register.id, 2)).entry_hash;
          // Through a free seq: the primary key is checked row by row.
          await sql`update journal_entries set seq = 1000 where ${at(register.id, 2)}`.execute(db);
          await sql`update journal_entries set seq = 2 where ${at(register.id, 3)}`.execute(db);
          await sql`update journal_entries set seq = 3 where ${at(register.id, 1000)}`.execute(db);
        },
        async ({ api }) => {
          expect((await verify(api, register.id)).first_broken).toEqual({
            seq: 2,
            reason: 'prev_hash_mismatch',
            expected: first,
            actual: second,
          });
        },
      );
    });

    it("an entry's type or time changed outside the hashed payload: field_mismatch", async () => {
      const register = await freshRegister(5);
      await tampered(
        async (db) => {
          await sql`update journal_entries set type = 'operation.voided' where ${at(register.id, 4)}`.execute(db);
          await sql`update journal_entries set created_at = ${minute(99)} where ${at(register.id, 5)}`.execute(db);
        },
        async ({ api }) => {
          expect((await verify(api, register.id)).first_broken).toEqual({
            seq: 4,
            reason: 'field_mismatch',
            expected: 'type=operation.completed',
            actual: 'type=operation.voided',
          });
        },
      );
    });

    it('a whole chain moved to another register: field_mismatch on register_id at seq 1', async () => {
      const source = await freshRegister(3);
      const target = await createRegister(a.orgApi, a.location.id);
      await tampered(
        async (db) => {
          await sql`update journal_entries set register_id = ${target.id} where register_id = ${source.id}`.execute(db);
          await sql`update registers set journal_length = 3 where id = ${target.id}`.execute(db);
        },
        async ({ api }) => {
          expect((await verify(api, target.id)).first_broken).toEqual({
            seq: 1,
            reason: 'field_mismatch',
            expected: `register_id=${source.id}`,
            actual: `register_id=${target.id}`,
          });
        },
      );
    });

    it('a deleted entry: missing_entry at its seq', async () => {
      const register = await freshRegister(5);
      await tampered(
        async (db) => {
          await sql`delete from journal_entries where ${at(register.id, 3)}`.execute(db);
        },
        async ({ api }) => {
          const verification = await verify(api, register.id);
          expect(verification.entries_checked).toBe(2);
          expect(verification.first_broken).toEqual({ seq: 3, reason: 'missing_entry', expected: '3', actual: '4' });
        },
      );
    });

    it('the newest entry deleted: length_mismatch against journal_length', async () => {
      const register = await freshRegister(5);
      await tampered(
        async (db) => {
          await sql`delete from journal_entries where ${at(register.id, 5)}`.execute(db);
        },
        async ({ api }) => {
          const verification = await verify(api, register.id);
          expect(verification).toMatchObject({ valid: false, entries_checked: 4, length: 5 });
          expect(verification.first_broken).toEqual({ seq: 5, reason: 'length_mismatch', expected: '5', actual: '4' });
        },
      );
    });

    it('an entry added behind the counter, hashes and all: length_mismatch', async () => {
      const register = await freshRegister(5);
      await tampered(
        async (db) => {
          const fifth = await entry(db, register.id, 5);
          const payload = canonicalJson({
            register_id: register.id,
            type: 'operation.completed',
            subject_id: 'op_forged',
            created_at: minute(6),
            data: {},
          });
          const hash = payloadHash(payload);
          await db
            .insertInto('journal_entries')
            .values({
              register_id: register.id,
              seq: 6n,
              type: 'operation.completed',
              subject_id: 'op_forged',
              payload,
              payload_hash: hash,
              prev_hash: fifth.entry_hash,
              entry_hash: entryHash(fifth.entry_hash, 6n, hash),
              created_at: minute(6),
            })
            .execute();
        },
        async ({ api }) => {
          const verification = await verify(api, register.id);
          expect(verification).toMatchObject({ valid: false, entries_checked: 5, length: 5 });
          expect(verification.first_broken).toEqual({ seq: 6, reason: 'length_mismatch', expected: '5', actual: '6' });
        },
      );
    });
  });

  describe('tenancy', () => {
    let registerKey: string;
    let sibling: Register;
    beforeAll(async () => {
      await appendMany(a.register.id, 2);
      sibling = await createRegister(a.orgApi, a.location.id);
      const issued = await t.container.apiKeys.issueRegisterKey(
        { platformId: a.platformId, organizationId: a.organization.id, registerId: null },
        a.register.id,
        'till 1',
      );
      registerKey = issued.api_key ?? '';
    });

    it('lets a register key read and verify its own journal', async () => {
      const device = t.api.as(registerKey);
      const list = await device.get<Page<JournalEntry>>(`/v1/registers/${a.register.id}/journal`);
      expect(list.status, list.text).toBe(200);
      expect(list.body.data.map((e) => e.seq)).toEqual([1, 2]);
      const viaHeader = await t.api.get<JournalVerification>(`/v1/registers/${a.register.id}/journal/verify`, {
        headers: { 'x-register-api-key': registerKey },
      });
      expect(viaHeader.body).toMatchObject({ valid: true, length: 2 });
    });

    it("refuses a register key on another register's journal (403)", async () => {
      const device = t.api.as(registerKey);
      for (const id of [sibling.id, b.register.id]) {
        expectError(await device.get(`/v1/registers/${id}/journal`), 403, 'forbidden');
        expectError(await device.get(`/v1/registers/${id}/journal/verify`), 403, 'forbidden');
      }
    });

    it("answers 404 for another tenant's register, an unknown one and a wrong prefix; 401 without a key", async () => {
      const organization = await createOrganization(a.api);
      const otherOrg = a.api.forOrganization(organization.id);
      await createLocation(otherOrg, organization.id);
      for (const api of [b.orgApi, otherOrg]) {
        expectError(await api.get(`/v1/registers/${a.register.id}/journal`), 404, 'not_found');
        expectError(await api.get(`/v1/registers/${a.register.id}/journal/verify`), 404, 'not_found');
      }
      expectError(await a.orgApi.get(`/v1/registers/${newId('reg')}/journal`), 404, 'not_found');
      expectError(await a.orgApi.get(`/v1/registers/${a.location.id}/journal/verify`), 404, 'not_found');
      expectError(await t.api.get(`/v1/registers/${a.register.id}/journal`), 401, 'unauthorized');
    });
  });

  describe('openfiskal verify-journal', () => {
    const env = () => ({
      DATABASE_URL: t.scratch.url,
      OPENFISKAL_DATA_DIR: t.scratch.dataDir,
      OPENFISKAL_MASTER_KEY: t.masterKey.toString('base64'),
    });

    it('prints a summary and exits 0 for an intact journal; --json prints the API object', async () => {
      const register = await freshRegister(4);
      const api = await a.orgApi.get<JournalVerification>(`/v1/registers/${register.id}/journal/verify`);
      const [human, json] = await Promise.all([
        cli(['verify-journal', '--register', register.id], env()),
        cli(['verify-journal', '--register', register.id, '--json'], env()),
      ]);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(
        new RegExp(
          `^Journal of ${register.id}: valid\n  entries: +4 of 4 checked\n  head hash: +${api.body.head_hash}\n` +
            '  verified at: +\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z\\n$',
        ),
      );
      expect(json.code, json.stderr).toBe(0);
      expect({ ...(JSON.parse(json.stdout) as JournalVerification), verified_at: null }).toEqual({
        ...api.body,
        verified_at: null,
      });
    });

    it('exits 2 on a usage error or an unknown register', async () => {
      const [missing, malformed, unknown] = await Promise.all([
        cli(['verify-journal'], env()),
        cli(['verify-journal', '--register', 'reg_nope'], env()),
        cli(['verify-journal', '--register', 'reg_01h455vb4pex5vsknk084sn02q'], env()),
      ]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('verify-journal needs --register reg_…');
      expect(malformed.code).toBe(2);
      expect(malformed.stderr).toContain('--register reg_nope is not a register id (reg_…)');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('No such register: reg_01h455vb4pex5vsknk084sn02q');
      expect(unknown.stdout).toBe('');
    });
  });
});
