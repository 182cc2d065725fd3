/**
 * The `dep7` export writer (AT) on the database, on both engines: real RKSV receipts made by the pure register
 * (src/regimes/at) for an open-system register whose signature device is replaced mid-way and for a closed-system
 * register with two keys, stored as the RKSV tables hold them, written through the writer, unpacked with tar-stream
 * and checked by the independent verifier (test/helpers/rksv-verifier.ts): groups split where the device changes,
 * the container has the AES key and every device, the period filter, flat batches and identical bytes on rewrite.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seal } from '../src/crypto/secret-box.js';
import { createDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createDep7ExportWriter } from '../src/modules/exports/dep7.export.js';
import { createExportRepository } from '../src/modules/exports/export.repository.js';
import type { ExportSubject, ExportWriteContext } from '../src/modules/exports/export-writer.js';
import { buildDep7, type Dep7Entry } from '../src/regimes/at/dep7.js';
import {
  createRegisterState,
  issueReceipt,
  type RksvIssuedReceipt,
  type RksvReceiptInput,
} from '../src/regimes/at/register.js';
import {
  createClosedSystemSoftwareDevice,
  createOpenSystemSoftwareDevice,
  type SoftwareSignatureDevice,
} from '../src/regimes/at/signature-device.js';
import { generateAesKey } from '../src/regimes/at/turnover-counter.js';
import { createScratchDatabase, describeDb, type ScratchDatabase } from './helpers/engines.js';
import { readTarEntries } from './helpers/independent-checks.js';
import { insertFiscalUnitRow, insertRegisterRow, insertTenantRows, type TenantRows } from './helpers/rows.js';
import { verifyDep7 } from './helpers/rksv-verifier.js';

const KEK = randomBytes(32);
const CREATED_AT = '2026-08-01T06:00:00.000Z';
const T0 = Date.UTC(2026, 6, 1, 8, 0);

interface Dep7Json {
  'Belege-Gruppe': Array<{ Signaturzertifikat: string; Zertifizierungsstellen: string[]; 'Belege-kompakt': string[] }>;
}
interface ContainerJson {
  base64AESKey: string;
  certificateOrPublicKeyMap: Record<
    string,
    { id: string; signatureDeviceType: string; signatureCertificateOrPublicKey: string }
  >;
}

interface StoredReceipt {
  readonly receipt: RksvIssuedReceipt;
  readonly device: SoftwareSignatureDevice;
  readonly fiscalUnitId: string;
  readonly issuedAt: string;
}

interface SeededRegister {
  readonly id: string;
  readonly serial: string;
  readonly aesKeyBase64: string;
  readonly receipts: StoredReceipt[];
  readonly turnoverCents: bigint;
}

type Step = Omit<RksvReceiptInput, 'dateTime'> & { readonly device: 0 | 1 };

/** The minute after T0 each receipt is issued at, as ISO UTC and as the local time the receipt signs. */
const issuedAt = (minute: number) => new Date(T0 + minute * 60_000).toISOString();
const localTime = (minute: number) => new Date(T0 + 2 * 3_600_000 + minute * 60_000).toISOString().slice(0, 19);

describeDb('dep7 export writer', () => {
  let scratch: ScratchDatabase;
  let database: Database;
  let tenant: TenantRows;
  let open: SeededRegister;
  let closed: SeededRegister;

  async function insertDevice(registerId: string, device: SoftwareSignatureDevice, index: number): Promise<string> {
    const createdAt = new Date(T0 - 3_600_000 + index * 1000).toISOString();
    const { id } = await insertFiscalUnitRow(database, tenant, {
      registerId,
      jurisdiction: 'AT',
      provider: 'software_rksv',
      now: createdAt,
    });
    const { material } = device;
    const closedKey = /^(.*)-K(\d+)$/.exec(material.certificateSerial);
    await database
      .executor()
      .insertInto('rksv_devices')
      .values({
        fiscal_unit_id: id,
        register_id: registerId,
        system: material.certificate === null ? 'closed' : 'open',
        zda: material.zda,
        certificate_serial: material.certificateSerial,
        container_id: material.containerId,
        private_key: 'not used by the export',
        public_key: material.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        certificate: material.certificate === null ? null : material.certificate.toString('base64'),
        company_id: material.certificate === null ? (closedKey?.[1] ?? null) : null,
        key_number: material.certificate === null ? Number(closedKey?.[2] ?? 0) : null,
        created_at: createdAt,
      })
      .execute();
    return id;
  }

  /** Issues the steps with the pure register and stores register state, devices and receipts as the RKSV tables do. */
  async function seed(
    serial: string,
    devices: readonly [SoftwareSignatureDevice, SoftwareSignatureDevice],
    steps: readonly Step[],
  ): Promise<SeededRegister> {
    const registeredAt = new Date().toISOString();
    const registerId = await insertRegisterRow(database, tenant, {
      jurisdiction: 'AT',
      serialNumber: serial,
      fiscalizedAt: registeredAt,
      now: registeredAt,
    });
    const fiscalUnits = [await insertDevice(registerId, devices[0], 0), await insertDevice(registerId, devices[1], 1)];
    const aesKey = generateAesKey();
    const aesKeyBase64 = aesKey.toString('base64');
    let state = createRegisterState({ kassenId: serial, aesKey });
    const receipts: StoredReceipt[] = [];
    steps.forEach((step, minute) => {
      const { device: which, ...input } = step;
      const device = devices[which];
      const result = issueReceipt(state, { ...input, dateTime: localTime(minute) }, device.signer);
      state = result.nextState;
      receipts.push({
        receipt: result.receipt,
        device,
        fiscalUnitId: fiscalUnits[which] ?? '',
        issuedAt: issuedAt(minute),
      });
    });
    const now = new Date().toISOString();
    await database
      .executor()
      .insertInto('rksv_registers')
      .values({
        register_id: registerId,
        kassen_id: serial,
        aes_key: seal(KEK, aesKeyBase64, registerId),
        aes_key_check_value: 'n/a',
        counter_bytes: state.counterBytes,
        turnover_cents: state.turnoverCents,
        last_jws: state.lastJws,
        last_receipt_number: state.lastReceiptNumber,
        receipt_count: state.receiptCount,
        last_zda: state.lastSignatureDevice?.zda ?? null,
        last_certificate_serial: state.lastSignatureDevice?.certificateSerial ?? null,
        failed_since: null,
        closed: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    // Stored out of order, so that only the query's ORDER BY puts them in Belegnummer order.
    for (const stored of [...receipts].reverse()) {
      await database
        .executor()
        .insertInto('rksv_receipts')
        .values({
          register_id: registerId,
          receipt_number: Number(stored.receipt.receiptNumber),
          fiscal_unit_id: stored.fiscalUnitId,
          kind: stored.receipt.kind,
          operation_id: null,
          closing_id: null,
          date_time: stored.receipt.dateTime,
          jws: stored.receipt.jws,
          signed: stored.receipt.signatureDeviceFailed ? 0 : 1,
          issued_at: stored.issuedAt,
        })
        .execute();
    }
    return { id: registerId, serial, aesKeyBase64, receipts, turnoverCents: state.turnoverCents };
  }

  const subject = (register: SeededRegister, from: string, to: string): ExportSubject => ({
    id: 'exp_01k0000000000000000000000',
    type: 'dep7',
    organizationId: tenant.organizationId,
    registerId: register.id,
    registerSerialNumber: register.serial,
    jurisdiction: 'AT',
    from,
    to,
    closingId: null,
    createdAt: CREATED_AT,
  });
  const wholePeriod = (register: SeededRegister) => subject(register, issuedAt(-60), issuedAt(600));

  async function write(
    exportSubject: ExportSubject,
    options: { batchSize?: number; signal?: AbortSignal; onProgress?: (done: number) => void } = {},
  ): Promise<{ tar: Buffer; progress: Array<[number, number]> }> {
    const writer = createDep7ExportWriter({
      source: createExportRepository(database),
      keyEncryptionKey: KEK,
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    });
    const chunks: Buffer[] = [];
    const out = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const progress: Array<[number, number]> = [];
    const context: ExportWriteContext = {
      signal: options.signal ?? new AbortController().signal,
      progress: (done, total) => {
        progress.push([done, total]);
        options.onProgress?.(done);
        return Promise.resolve();
      },
    };
    await writer.write(out, exportSubject, context);
    return { tar: Buffer.concat(chunks), progress };
  }

  async function unpack(tar: Buffer): Promise<{ names: string[]; dep: Dep7Json; container: ContainerJson }> {
    const entries = await readTarEntries(tar);
    const member = (name: string) => {
      const entry = entries.find((candidate) => candidate.name === name);
      if (entry === undefined) throw new Error(`no ${name} in the archive`);
      return JSON.parse(entry.content.toString('utf8')) as unknown;
    };
    return {
      names: entries.map((entry) => entry.name),
      dep: member('dep7.json') as Dep7Json,
      container: member('cryptographicMaterialContainer.json') as ContainerJson,
    };
  }

  const jwsOf = (receipts: readonly StoredReceipt[]) => receipts.map((stored) => stored.receipt.jws);

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    database = createDatabase(scratch.location);
    await migrateToLatest(database);
    tenant = await insertTenantRows(database, {
      now: new Date().toISOString(),
      platformName: 'dep7',
      legalName: 'Musterfrau KG',
    });

    // Open system: device 0 signs the Startbeleg and six more receipts, then device 1 (a replacement) takes over.
    open = await seed(
      'KASSE-AT-1',
      [createOpenSystemSoftwareDevice(), createOpenSystemSoftwareDevice()],
      [
        { kind: 'start', device: 0 },
        { kind: 'standard', amounts: { normal: 1200n, ermaessigt1: 350n }, device: 0 },
        { kind: 'standard', amounts: { ermaessigt2: 990n }, device: 0 },
        { kind: 'storno', amounts: { normal: -1200n }, device: 0 },
        { kind: 'training', amounts: { besonders: 700n }, device: 0 },
        { kind: 'standard', amounts: { null: 50n, besonders: 490n }, device: 0 },
        { kind: 'null', device: 0 },
        { kind: 'standard', amounts: { normal: 2500n }, device: 1 },
        { kind: 'standard', amounts: { normal: 100n, ermaessigt1: 200n }, device: 1 },
        { kind: 'storno', amounts: { normal: -100n }, device: 1 },
        { kind: 'standard', amounts: { ermaessigt1: 1800n }, device: 1 },
        { kind: 'monthly', device: 1 },
      ],
    );
    // Closed system in the same minutes: two keys of one company, switching mid-way.
    closed = await seed(
      'KASSE-AT-2',
      [
        createClosedSystemSoftwareDevice({ companyId: 'U:ATU12345678', keyNumber: 1 }),
        createClosedSystemSoftwareDevice({ companyId: 'U:ATU12345678', keyNumber: 2 }),
      ],
      [
        { kind: 'start', device: 0 },
        { kind: 'standard', amounts: { normal: 800n }, device: 0 },
        { kind: 'standard', amounts: { ermaessigt1: 420n }, device: 1 },
        { kind: 'null', device: 1 },
      ],
    );
  });
  afterAll(async () => {
    await database.destroy();
    await scratch.drop();
  });

  it('names the file after the register and the period', () => {
    const writer = createDep7ExportWriter({ source: createExportRepository(database), keyEncryptionKey: KEK });
    expect(writer.type).toBe('dep7');
    expect(writer.jurisdictions).toEqual(['AT']);
    expect(writer.contentType).toBe('application/x-tar');
    expect(writer.fileName(subject(open, '2026-07-01T00:00:00.000Z', '2026-07-31T23:59:59.999Z'))).toBe(
      'dep7_KASSE-AT-1_20260701T000000Z-20260731T235959Z.tar',
    );
  });

  it('splits the groups where the device changes; the container has the AES key and both devices; it verifies', async () => {
    const { tar, progress } = await write(wholePeriod(open), { batchSize: 5 });
    const { names, dep, container } = await unpack(tar);
    expect(names).toEqual(['dep7.json', 'cryptographicMaterialContainer.json']);

    const first = open.receipts[0]?.device;
    const second = open.receipts[11]?.device;
    const groups = dep['Belege-Gruppe'];
    expect(groups).toHaveLength(2);
    expect(groups[0]?.Signaturzertifikat).toBe(first?.material.certificate?.toString('base64'));
    expect(groups[1]?.Signaturzertifikat).toBe(second?.material.certificate?.toString('base64'));
    expect(groups.map((group) => group.Zertifizierungsstellen)).toEqual([[], []]);
    expect(groups[0]?.['Belege-kompakt']).toEqual(jwsOf(open.receipts.slice(0, 7)));
    expect(groups[1]?.['Belege-kompakt']).toEqual(jwsOf(open.receipts.slice(7)));

    expect(container.base64AESKey).toBe(open.aesKeyBase64);
    const ids = [first?.material.containerId, second?.material.containerId];
    expect(Object.keys(container.certificateOrPublicKeyMap)).toEqual(ids);
    for (const [index, device] of [first, second].entries()) {
      expect(container.certificateOrPublicKeyMap[ids[index] ?? '']).toEqual({
        id: ids[index],
        signatureDeviceType: 'CERTIFICATE',
        signatureCertificateOrPublicKey: device?.material.certificate?.toString('base64'),
      });
    }

    // The pure builder, fed the same receipts, writes the very same JSON.
    const entries: Dep7Entry[] = open.receipts.map((stored) => ({
      jws: stored.receipt.jws,
      device: stored.device.material,
    }));
    const [depEntry] = (await readTarEntries(tar)).filter((entry) => entry.name === 'dep7.json');
    expect(depEntry?.content.toString('utf8')).toBe(JSON.stringify(buildDep7(entries)));

    const result = verifyDep7(dep, container);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.receipts).toBe(12);
    expect(result.turnoverCounterCents).toBe(open.turnoverCents);

    // Receipt reads over both passes, in batches of five: 5, 10, 12 and again.
    expect(progress).toEqual([
      [0, 24],
      [5, 24],
      [10, 24],
      [12, 24],
      [17, 24],
      [22, 24],
      [24, 24],
    ]);
  });

  it('keeps the keys of a closed system in the container, its receipts in one certificate-less group; it verifies', async () => {
    const { dep, container } = await unpack((await write(wholePeriod(closed))).tar);
    expect(dep['Belege-Gruppe']).toEqual([
      { Signaturzertifikat: '', Zertifizierungsstellen: [], 'Belege-kompakt': jwsOf(closed.receipts) },
    ]);
    expect(container.base64AESKey).toBe(closed.aesKeyBase64);
    expect(Object.keys(container.certificateOrPublicKeyMap)).toEqual(['U:ATU12345678-K1', 'U:ATU12345678-K2']);
    for (const [index, key] of ['U:ATU12345678-K1', 'U:ATU12345678-K2'].entries()) {
      // K1 signs receipts 1–2, K2 receipts 3–4.
      const device = closed.receipts[index * 2]?.device;
      expect(device?.material.containerId).toBe(key);
      expect(container.certificateOrPublicKeyMap[key]).toEqual({
        id: key,
        signatureDeviceType: 'PUBLIC_KEY',
        signatureCertificateOrPublicKey: device?.material.publicKey
          .export({ type: 'spki', format: 'der' })
          .toString('base64'),
      });
    }
    const result = verifyDep7(dep, container);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.receipts).toBe(4);
  });

  it('exports only receipts issued in the period (bounds inclusive), of this register, with only their devices', async () => {
    // Receipts 4 to 9: across the device change.
    const across = await unpack((await write(subject(open, issuedAt(3), issuedAt(8)), { batchSize: 2 })).tar);
    expect(across.dep['Belege-Gruppe'].map((group) => group['Belege-kompakt'])).toEqual([
      jwsOf(open.receipts.slice(3, 7)),
      jwsOf(open.receipts.slice(7, 9)),
    ]);
    expect(Object.keys(across.container.certificateOrPublicKeyMap)).toHaveLength(2);

    // Only the second device's receipts: one group, one device in the container.
    const later = await unpack((await write(subject(open, issuedAt(9), issuedAt(10)))).tar);
    const second = open.receipts[9]?.device.material;
    expect(later.dep['Belege-Gruppe']).toEqual([
      {
        Signaturzertifikat: second?.certificate?.toString('base64'),
        Zertifizierungsstellen: [],
        'Belege-kompakt': jwsOf(open.receipts.slice(9, 11)),
      },
    ]);
    expect(Object.keys(later.container.certificateOrPublicKeyMap)).toEqual([second?.containerId]);
    expect(later.container.base64AESKey).toBe(open.aesKeyBase64);

    // A period without receipts: an empty DEP, and the key.
    const { tar, progress } = await write(subject(open, issuedAt(100), issuedAt(200)));
    const empty = await unpack(tar);
    expect(empty.dep).toEqual({ 'Belege-Gruppe': [] });
    expect(empty.container).toEqual({ base64AESKey: open.aesKeyBase64, certificateOrPublicKeyMap: {} });
    expect(progress).toEqual([[0, 0]]);
  });

  it('writes the same bytes every time, whatever the batch size', async () => {
    const first = await write(wholePeriod(open));
    const second = await write(wholePeriod(open));
    const batched = await write(wholePeriod(open), { batchSize: 1 });
    expect(second.tar.equals(first.tar)).toBe(true);
    expect(batched.tar.equals(first.tar)).toBe(true);
    // Every member carries the export's creation time, not the time of writing.
    const times: number[] = [];
    const reader = extract();
    const read = (async () => {
      for await (const entry of reader) {
        times.push(entry.header.mtime.getTime());
        entry.resume();
      }
    })();
    reader.end(first.tar);
    await read;
    expect(times).toEqual([Date.parse(CREATED_AT), Date.parse(CREATED_AT)]);

    const closedFirst = await write(wholePeriod(closed), { batchSize: 3 });
    const closedSecond = await write(wholePeriod(closed), { batchSize: 3 });
    expect(closedSecond.tar.equals(closedFirst.tar)).toBe(true);
  });

  it('fails rather than write a TAR whose member size is wrong, should the receipts read differently the second time', async () => {
    const repository = createExportRepository(database);
    let reads = 0;
    const writer = createDep7ExportWriter({
      source: {
        ...repository,
        rksvReceiptBatch: async (...args: Parameters<typeof repository.rksvReceiptBatch>) => {
          const batch = await repository.rksvReceiptBatch(...args);
          reads += batch.length;
          return reads > 12 ? batch.map((row) => ({ ...row, jws: `${row.jws}x` })) : batch;
        },
      },
      keyEncryptionKey: KEK,
    });
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const context: ExportWriteContext = { signal: new AbortController().signal, progress: () => Promise.resolve() };
    await expect(writer.write(sink, wholePeriod(open), context)).rejects.toThrow(/changed while it was written/);
  });

  it('stops when the job is abandoned, before the first read and while streaming the archive', async () => {
    const before = new AbortController();
    before.abort(new Error('lease lost'));
    await expect(write(wholePeriod(open), { signal: before.signal })).rejects.toThrow('lease lost');

    // Past the first pass (12 reads), in the middle of dep7.json.
    const midway = new AbortController();
    await expect(
      write(wholePeriod(open), {
        batchSize: 5,
        signal: midway.signal,
        onProgress: (done) => {
          if (done > 12) midway.abort(new Error('shutting down'));
        },
      }),
    ).rejects.toThrow('shutting down');
  });
});
