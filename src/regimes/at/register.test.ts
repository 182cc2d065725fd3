import { verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseRksvAmount, RKSV_TAX_SETS } from './amounts.js';
import { chainValue, parseJws, jwsToQr, jwsToOcr } from './receipt-code.js';
import {
  completeReceipt,
  composeReceipt,
  createRegisterState,
  issueReceipt,
  issueReceiptAsync,
  needsSammelbeleg,
  prepareReceipt,
  RksvRuleError,
  type RksvAsyncSign,
  type RksvReceiptInput,
  type RksvRegisterState,
} from './register.js';
import {
  createClosedSystemSoftwareDevice,
  createOpenSystemSoftwareDevice,
  type RksvSigner,
} from './signature-device.js';
import { decryptTurnoverCounter, generateAesKey } from './turnover-counter.js';

const device = createClosedSystemSoftwareDevice({ companyId: 'U:ATU12345678', keyNumber: 1 });
const signer = device.signer;
const throwingSigner: RksvSigner = {
  zda: signer.zda,
  certificateSerial: signer.certificateSerial,
  sign: () => {
    throw new Error('card not responding');
  },
};

const ZERO = { normal: 0n, ermaessigt1: 0n, ermaessigt2: 0n, null: 0n, besonders: 0n };

function fresh(): RksvRegisterState {
  return createRegisterState({ kassenId: 'KASSE-1', aesKey: generateAesKey() });
}

let clock = 0;
function at(): string {
  clock += 1;
  return `2026-07-01T10:${String(Math.floor(clock / 60) % 60).padStart(2, '0')}:${String(clock % 60).padStart(2, '0')}`;
}

/** Issues a sequence, returning all receipts and the final state. */
function run(
  inputs: ReadonlyArray<Omit<RksvReceiptInput, 'dateTime'> & { signer?: RksvSigner | null }>,
  state = fresh(),
) {
  const receipts = [];
  for (const { signer: chosen, ...input } of inputs) {
    const result = issueReceipt(state, { ...input, dateTime: at() }, chosen === undefined ? signer : chosen);
    receipts.push(result.receipt);
    state = result.nextState;
  }
  return { receipts, state };
}

function ruleCode(action: () => unknown): string | null {
  try {
    action();
    return null;
  } catch (error) {
    if (error instanceof RksvRuleError) return error.code;
    throw error;
  }
}

describe('issueReceipt: turnover counter, chaining, signatures', () => {
  it('counts standard and storno amounts, not training ones, and chains every receipt to the one before', () => {
    const { receipts, state } = run([
      { kind: 'start' },
      { kind: 'standard', amounts: { normal: 1000n, ermaessigt1: 250n } },
      { kind: 'storno', amounts: { normal: -500n } },
      { kind: 'training', amounts: { besonders: 700n } },
      { kind: 'standard', amounts: { null: 99n, besonders: 490n } },
      { kind: 'null' },
    ]);
    expect(receipts.map((receipt) => receipt.turnoverCents)).toEqual([0n, 1250n, 750n, 750n, 1339n, 1339n]);
    expect(state.turnoverCents).toBe(1339n);
    expect(receipts.map((receipt) => receipt.receiptNumber)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(receipts[2]?.fields.encryptedTurnoverCounter).toBe('U1RP');
    expect(receipts[3]?.fields.encryptedTurnoverCounter).toBe('VFJB');
    expect(receipts[3]?.fields.amounts.besonders).toBe('7,00');
    expect(receipts[2]?.fields.amounts.normal).toBe('-5,00');

    let previous: string | null = null;
    let total = 0n;
    for (const receipt of receipts) {
      const parsed = parseJws(receipt.jws);
      expect(parsed.header).toBe('{"alg":"ES256"}');
      expect(parsed.fields).toEqual(receipt.fields);
      expect(parsed.fields.chainValue).toBe(chainValue(previous, 'KASSE-1'));
      expect(
        verify(
          'sha256',
          Buffer.from(parsed.signingInput),
          { key: device.material.publicKey, dsaEncoding: 'ieee-p1363' },
          parsed.signature,
        ),
      ).toBe(true);
      const sum = RKSV_TAX_SETS.reduce((acc, set) => acc + parseRksvAmount(parsed.fields.amounts[set]), 0n);
      if (parsed.fields.encryptedTurnoverCounter !== 'VFJB') total += sum;
      if (!['VFJB', 'U1RP'].includes(parsed.fields.encryptedTurnoverCounter)) {
        const context = { aesKey: state.aesKey, kassenId: 'KASSE-1', receiptNumber: parsed.fields.receiptNumber };
        expect(decryptTurnoverCounter(context, parsed.fields.encryptedTurnoverCounter)).toBe(total);
      }
      expect(receipt.qr).toBe(jwsToQr(receipt.jws));
      expect(receipt.ocr).toBe(jwsToOcr(receipt.jws));
      previous = receipt.jws;
    }
    expect(state.lastJws).toBe(previous);
  });

  it('names the signer: ZDA and certificate serial of an open-system device', () => {
    const open = createOpenSystemSoftwareDevice();
    const { receipts } = run([{ kind: 'start', signer: open.signer }]);
    expect(receipts[0]?.fields).toMatchObject({ zda: 'AT100', certificateSerial: open.signer.certificateSerial });
  });

  it('does not touch the state it was given', () => {
    const state = fresh();
    const snapshot = { ...state };
    issueReceipt(state, { kind: 'start', dateTime: at() }, signer);
    expect(state).toEqual(snapshot);
  });

  it('refuses a counter that no longer fits its width', () => {
    const narrow = createRegisterState({ kassenId: 'K', aesKey: generateAesKey(), counterBytes: 5 });
    const { state } = run([{ kind: 'start' }], narrow);
    expect(() =>
      issueReceipt(state, { kind: 'standard', dateTime: at(), amounts: { normal: 2n ** 39n } }, signer),
    ).toThrow(/does not fit/);
  });

  it('refuses a signer that returns anything but 64 bytes', () => {
    const derSigner: RksvSigner = { ...signer, sign: () => Buffer.alloc(71) };
    expect(() => issueReceipt(fresh(), { kind: 'start', dateTime: at() }, derSigner)).toThrow(/64 bytes/);
  });
});

describe('issueReceipt: order rules', () => {
  it('starts with a signed Startbeleg without amounts, once', () => {
    expect(ruleCode(() => issueReceipt(fresh(), { kind: 'standard', dateTime: at() }, signer))).toBe(
      'START_RECEIPT_REQUIRED',
    );
    expect(
      ruleCode(() => issueReceipt(fresh(), { kind: 'start', dateTime: at(), amounts: { normal: 1n } }, signer)),
    ).toBe('NULL_RECEIPT_WITH_AMOUNTS');
    expect(ruleCode(() => issueReceipt(fresh(), { kind: 'start', dateTime: at() }, null))).toBe('SIGNATURE_REQUIRED');
    expect(ruleCode(() => issueReceipt(fresh(), { kind: 'start', dateTime: at() }, throwingSigner))).toBe(
      'SIGNATURE_REQUIRED',
    );
    const { state } = run([{ kind: 'start' }]);
    expect(ruleCode(() => issueReceipt(state, { kind: 'start', dateTime: at() }, signer))).toBe(
      'START_RECEIPT_REPEATED',
    );
  });

  it('marks receipts of a failed device and demands a signed Sammelbeleg once it works again', () => {
    const { receipts, state } = run([
      { kind: 'start' },
      { kind: 'standard', amounts: { normal: 500n }, signer: null },
      { kind: 'storno', amounts: { normal: -100n }, signer: throwingSigner },
      { kind: 'monthly', signer: null },
    ]);
    expect(receipts.map((receipt) => receipt.signatureDeviceFailed)).toEqual([false, true, true, true]);
    expect(receipts[1]?.jws.endsWith('.U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg')).toBe(true);
    expect(receipts[1]?.fields.certificateSerial).toBe('U:ATU12345678-K1');
    expect(receipts[1]?.qr.endsWith('_U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg==')).toBe(true);
    expect(needsSammelbeleg(state)).toBe(true);
    expect(state.failedSince).toBe(receipts[1]?.dateTime);
    expect(state.turnoverCents).toBe(400n);

    // Back online: only the Sammelbeleg may come next; still offline: it cannot be issued, sales can.
    expect(
      ruleCode(() => issueReceipt(state, { kind: 'standard', dateTime: at(), amounts: { normal: 1n } }, signer)),
    ).toBe('SAMMELBELEG_REQUIRED');
    expect(ruleCode(() => issueReceipt(state, { kind: 'annual', dateTime: at() }, signer))).toBe(
      'SAMMELBELEG_REQUIRED',
    );
    expect(ruleCode(() => issueReceipt(state, { kind: 'collective', dateTime: at() }, null))).toBe(
      'SIGNATURE_REQUIRED',
    );
    expect(ruleCode(() => issueReceipt(state, { kind: 'standard', dateTime: at() }, null))).toBeNull();

    const { receipts: after, state: recovered } = run(
      [{ kind: 'collective' }, { kind: 'standard', amounts: { normal: 1n } }],
      state,
    );
    expect(after[0]?.signatureDeviceFailed).toBe(false);
    expect(after[0]?.fields.amounts.normal).toBe('0,00');
    expect(needsSammelbeleg(recovered)).toBe(false);
    expect(recovered.turnoverCents).toBe(401n);
    expect(ruleCode(() => issueReceipt(recovered, { kind: 'collective', dateTime: at() }, signer))).toBe(
      'NO_PENDING_FAILURE',
    );
  });

  it('lets Monats-, Schluss- and Nullbeleg go out unsigned, but not the Jahresbeleg', () => {
    const { state } = run([{ kind: 'start' }]);
    for (const kind of ['monthly', 'closing', 'null'] as const) {
      expect(issueReceipt(state, { kind, dateTime: at() }, null).receipt.signatureDeviceFailed).toBe(true);
    }
    expect(ruleCode(() => issueReceipt(state, { kind: 'annual', dateTime: at() }, null))).toBe('SIGNATURE_REQUIRED');
    expect(
      ruleCode(() => issueReceipt(state, { kind: 'annual', dateTime: at(), amounts: { normal: 5n } }, signer)),
    ).toBe('NULL_RECEIPT_WITH_AMOUNTS');
  });

  it('issues nothing after the Schlussbeleg', () => {
    const { state } = run([{ kind: 'start' }, { kind: 'annual' }, { kind: 'closing' }]);
    expect(state.closed).toBe(true);
    expect(ruleCode(() => issueReceipt(state, { kind: 'null', dateTime: at() }, signer))).toBe('REGISTER_CLOSED');
  });

  it('keeps a register open or closed', () => {
    const { state } = run([{ kind: 'start' }]);
    const open = createOpenSystemSoftwareDevice();
    expect(ruleCode(() => issueReceipt(state, { kind: 'null', dateTime: at() }, open.signer))).toBe(
      'SYSTEM_TYPE_CHANGED',
    );
    // Another closed-system key is fine (a register may switch between devices).
    const second = createClosedSystemSoftwareDevice({ companyId: 'U:ATU12345678', keyNumber: 2 });
    expect(issueReceipt(state, { kind: 'null', dateTime: at() }, second.signer).receipt.fields.certificateSerial).toBe(
      'U:ATU12345678-K2',
    );
  });

  it('checks receipt numbers and times', () => {
    const { state } = run([{ kind: 'start', receiptNumber: 'A-1' }]);
    expect(ruleCode(() => issueReceipt(state, { kind: 'null', dateTime: at(), receiptNumber: 'A_2' }, signer))).toBe(
      'INVALID_RECEIPT_NUMBER',
    );
    expect(ruleCode(() => issueReceipt(state, { kind: 'null', dateTime: at(), receiptNumber: 'A-1' }, signer))).toBe(
      'INVALID_RECEIPT_NUMBER',
    );
    expect(ruleCode(() => issueReceipt(state, { kind: 'null', dateTime: '2026-07-01T10:00:60' }, signer))).toBe(
      'INVALID_DATE_TIME',
    );
    expect(() => createRegisterState({ kassenId: 'K_1', aesKey: generateAesKey() })).toThrow(/Kassen-ID/);
    expect(() => createRegisterState({ kassenId: 'K', aesKey: generateAesKey(), counterBytes: 4 })).toThrow(/5 to 16/);
  });
});

describe('composeReceipt tampering (for conformance tests)', () => {
  it('publishes a replaced signature while the register chains on to the receipt as signed', () => {
    const { state } = run([{ kind: 'start' }]);
    const draft = { receiptNumber: '2', dateTime: at(), amounts: { ...ZERO }, counterMode: 'counted' } as const;
    const { receipt, nextState } = composeReceipt(state, draft, signer, { signatureSegment: 'AAAA' });
    expect(receipt.jws.split('.')[2]).toBe('AAAA');
    expect(nextState.lastJws?.split('.').slice(0, 2)).toEqual(receipt.jws.split('.').slice(0, 2));
    expect(nextState.lastJws).not.toBe(receipt.jws);
  });

  it('encrypts under a replaced Kassen-ID and forces the counter where told', () => {
    const { state } = run([{ kind: 'start' }]);
    const draft = {
      receiptNumber: '2',
      dateTime: at(),
      amounts: { ...ZERO, normal: 100n },
      counterMode: 'counted',
    } as const;
    const { receipt, nextState } = composeReceipt(state, draft, signer, {
      fields: { kassenId: 'OTHER', amounts: { normal: '1.200,00' } },
      turnoverCents: 7n,
    });
    expect(receipt.fields.kassenId).toBe('OTHER');
    expect(receipt.fields.amounts.normal).toBe('1.200,00');
    const context = { aesKey: state.aesKey, kassenId: 'OTHER', receiptNumber: '2' };
    expect(decryptTurnoverCounter(context, receipt.fields.encryptedTurnoverCounter)).toBe(7n);
    expect(nextState.turnoverCents).toBe(7n);
  });

  it('yields empty QR and OCR forms for an unreadable published JWS', () => {
    const { state } = run([{ kind: 'start' }]);
    const draft = { receiptNumber: '2', dateTime: at(), amounts: { ...ZERO }, counterMode: 'counted' } as const;
    const { receipt } = composeReceipt(state, draft, signer, { jws: 'abc&.x.y' });
    expect(receipt).toMatchObject({ jws: 'abc&.x.y', qr: '', ocr: '' });
  });

  it('needs a device name even when no device answers', () => {
    const draft = { receiptNumber: '1', dateTime: at(), amounts: { ...ZERO }, counterMode: 'counted' } as const;
    expect(ruleCode(() => composeReceipt(fresh(), draft, null))).toBe('NO_SIGNATURE_DEVICE');
  });
});

/** The device of `signer` as an asynchronous signer. */
const asyncSign: RksvAsyncSign = (input) => Promise.resolve(signer.sign(input));
const identity = { zda: signer.zda, certificateSerial: signer.certificateSerial };

async function asyncRuleCode(action: () => Promise<unknown>): Promise<string | null> {
  try {
    await action();
    return null;
  } catch (error) {
    if (error instanceof RksvRuleError) return error.code;
    throw error;
  }
}

describe('prepareReceipt and completeReceipt', () => {
  it('compose exactly what composeReceipt composes, the signing input being header.payload', () => {
    const { state } = run([{ kind: 'start' }]);
    const draft = {
      receiptNumber: '2',
      dateTime: at(),
      amounts: { ...ZERO, normal: 1234n },
      counterMode: 'counted',
    } as const;
    const prepared = prepareReceipt(state, draft, identity);
    const signature = signer.sign(prepared.signingInput);
    const split = completeReceipt(prepared, signature);
    const whole = composeReceipt(state, draft, { ...identity, sign: () => signature });
    expect(split).toEqual(whole);
    const parsed = parseJws(split.receipt.jws);
    expect(prepared.signingInput.toString('ascii')).toBe(parsed.signingInput);
    expect(prepared.payload).toBe(split.receipt.payload);

    const unsigned = completeReceipt(prepared, null);
    expect(unsigned).toEqual(composeReceipt(state, draft, null));
    expect(unsigned.receipt.signatureDeviceFailed).toBe(true);
    expect(() => completeReceipt(prepared, Buffer.alloc(71))).toThrow(/64 bytes/);
  });
});

describe('issueReceiptAsync', () => {
  it('issues what issueReceipt issues, step for step, signed by the awaited device', async () => {
    const inputs: Array<Omit<RksvReceiptInput, 'dateTime'>> = [
      { kind: 'start' },
      { kind: 'standard', amounts: { normal: 1000n, ermaessigt1: 250n } },
      { kind: 'storno', amounts: { normal: -500n } },
      { kind: 'training', amounts: { besonders: 700n } },
      { kind: 'null' },
      { kind: 'monthly' },
      { kind: 'annual' },
      { kind: 'closing' },
    ];
    let state = fresh();
    let previous: string | null = null;
    for (const input of inputs) {
      const dated = { ...input, dateTime: at() };
      const seen: Buffer[] = [];
      const sync = issueReceipt(state, dated, signer);
      const result = await issueReceiptAsync(state, dated, identity, (signingInput) => {
        seen.push(signingInput);
        return asyncSign(signingInput);
      });
      expect(seen).toHaveLength(1);
      expect(result.receipt.payload).toBe(sync.receipt.payload);
      expect(result.receipt.kind).toBe(input.kind);
      expect(result.receipt.signatureDeviceFailed).toBe(false);
      expect({ ...result.nextState, lastJws: null }).toEqual({ ...sync.nextState, lastJws: null });
      const parsed = parseJws(result.receipt.jws);
      expect(seen[0]?.toString('ascii')).toBe(parsed.signingInput);
      expect(parsed.fields.chainValue).toBe(chainValue(previous, 'KASSE-1'));
      expect(
        verify(
          'sha256',
          Buffer.from(parsed.signingInput),
          { key: device.material.publicKey, dsaEncoding: 'ieee-p1363' },
          parsed.signature,
        ),
      ).toBe(true);
      expect(result.nextState.lastJws).toBe(result.receipt.jws);
      previous = result.receipt.jws;
      state = result.nextState;
    }
    expect(state.closed).toBe(true);
    expect(state.turnoverCents).toBe(750n);
  });

  it('treats a null answer and a rejected promise as a failed device, with the outage rules of issueReceipt', async () => {
    const failing: RksvAsyncSign = () => Promise.reject(new Error('card not responding'));
    const silent: RksvAsyncSign = () => Promise.resolve(null);
    const { state: started } = run([{ kind: 'start' }]);

    const first = await issueReceiptAsync(
      started,
      { kind: 'standard', dateTime: at(), amounts: { normal: 500n } },
      identity,
      failing,
    );
    const second = await issueReceiptAsync(
      first.nextState,
      { kind: 'storno', dateTime: at(), amounts: { normal: -100n } },
      identity,
      silent,
    );
    for (const { receipt } of [first, second]) {
      expect(receipt.signatureDeviceFailed).toBe(true);
      expect(receipt.jws.endsWith('.U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg')).toBe(true);
      expect(receipt.fields.certificateSerial).toBe('U:ATU12345678-K1');
    }
    const state = second.nextState;
    expect(needsSammelbeleg(state)).toBe(true);
    expect(state.failedSince).toBe(first.receipt.dateTime);
    expect(state.turnoverCents).toBe(400n);

    // Signature-required kinds are refused while the device fails, whether it rejects, answers null or is absent.
    for (const sign of [failing, silent]) {
      expect(
        await asyncRuleCode(() => issueReceiptAsync(state, { kind: 'annual', dateTime: at() }, identity, sign)),
      ).toBe('SIGNATURE_REQUIRED');
      expect(
        await asyncRuleCode(() => issueReceiptAsync(state, { kind: 'collective', dateTime: at() }, identity, sign)),
      ).toBe('SIGNATURE_REQUIRED');
    }
    let called = false;
    const spy: RksvAsyncSign = (input) => {
      called = true;
      return asyncSign(input);
    };
    expect(await asyncRuleCode(() => issueReceiptAsync(state, { kind: 'annual', dateTime: at() }, null, spy))).toBe(
      'SIGNATURE_REQUIRED',
    );
    const absent = await issueReceiptAsync(state, { kind: 'null', dateTime: at() }, null, spy);
    expect(called).toBe(false);
    expect(absent.receipt).toMatchObject({ signatureDeviceFailed: true });
    expect(absent.receipt.fields.certificateSerial).toBe('U:ATU12345678-K1');

    // Back online: the Sammelbeleg first, then anything.
    expect(
      await asyncRuleCode(() =>
        issueReceiptAsync(state, { kind: 'standard', dateTime: at(), amounts: { normal: 1n } }, identity, asyncSign),
      ),
    ).toBe('SAMMELBELEG_REQUIRED');
    const collective = await issueReceiptAsync(state, { kind: 'collective', dateTime: at() }, identity, asyncSign);
    expect(collective.receipt.signatureDeviceFailed).toBe(false);
    expect(needsSammelbeleg(collective.nextState)).toBe(false);
    const after = await issueReceiptAsync(
      collective.nextState,
      { kind: 'standard', dateTime: at(), amounts: { normal: 1n } },
      identity,
      asyncSign,
    );
    expect(after.nextState.turnoverCents).toBe(401n);
  });

  it('checks the order rules before asking the device, and leaves the state alone', async () => {
    let calls = 0;
    const counting: RksvAsyncSign = (input) => {
      calls += 1;
      return asyncSign(input);
    };
    const state = fresh();
    const snapshot = { ...state };
    expect(
      await asyncRuleCode(() => issueReceiptAsync(state, { kind: 'standard', dateTime: at() }, identity, counting)),
    ).toBe('START_RECEIPT_REQUIRED');
    expect(
      await asyncRuleCode(() =>
        issueReceiptAsync(state, { kind: 'start', dateTime: at(), amounts: { normal: 1n } }, identity, counting),
      ),
    ).toBe('NULL_RECEIPT_WITH_AMOUNTS');
    expect(calls).toBe(0);
    const { state: started } = run([{ kind: 'start' }]);
    const open = createOpenSystemSoftwareDevice();
    expect(
      await asyncRuleCode(() =>
        issueReceiptAsync(started, { kind: 'null', dateTime: at() }, open.signer, (input) =>
          Promise.resolve(open.signer.sign(input)),
        ),
      ),
    ).toBe('SYSTEM_TYPE_CHANGED');
    await issueReceiptAsync(state, { kind: 'start', dateTime: at() }, identity, counting);
    expect(calls).toBe(1);
    expect(state).toEqual(snapshot);
  });

  it('refuses a device that answers anything but 64 bytes', async () => {
    await expect(
      issueReceiptAsync(fresh(), { kind: 'start', dateTime: at() }, identity, () => Promise.resolve(Buffer.alloc(71))),
    ).rejects.toThrow(/64 bytes/);
  });
});
