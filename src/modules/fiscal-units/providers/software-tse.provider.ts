/**
 * `software_tse`: a simulation of a BSI TR-03153 TSE in software (not certified). It keeps one ECDSA P-256 key
 * per fiscal unit (sealed at rest), one signature counter for every log it signs and one transaction number per
 * transaction, and stores every TR-03151 log message exactly as signed, for the TSE TAR export.
 * @module
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { open, seal } from '../../../crypto/secret-box.js';
import { createSelfSignedCertificate } from '../../../regimes/de/certificate.js';
import {
  assembleLogMessage,
  encodeSystemLogDtbs,
  encodeTransactionLogDtbs,
  logFileName,
  publicKeyPoint,
  signDtbs,
  SIGNATURE_ALGORITHM_NAME,
  systemOperationData,
  TIME_FORMAT,
  tseSerialNumber,
  type SystemOperation,
  type TransactionOperation,
} from '../../../regimes/de/log-message.js';
import type { Clock } from '../../../shared/clock.js';
import { toUtcString } from '../../../shared/time.js';
import type { FiscalUnitRepository, FiscalUnitRow } from '../fiscal-unit.repository.js';
import { createTseRecorder } from './tse-recorder.js';
import {
  SigningDeviceError,
  type FiscalProvider,
  type ProvisionInput,
  type ProvisionResult,
  type TseDevice,
  type TseSignedLog,
  type TseTransactionInput,
} from './fiscal-provider.js';

export interface SoftwareTseDeps {
  readonly repository: Pick<
    FiscalUnitRepository,
    'insertDevice' | 'findDevice' | 'advanceCounters' | 'insertLogMessage'
  >;
  readonly clock: Clock;
  /** Seals the private keys at rest. */
  readonly keyEncryptionKey: Buffer;
}

const CERTIFICATE_YEARS = 8;

/** What a stalled device does: never answer. The caller's timeout turns it into an error. */
const stall = (): Promise<never> => new Promise<never>(() => undefined);

export function createSoftwareTseProvider(deps: SoftwareTseDeps): FiscalProvider {
  const { repository, clock, keyEncryptionKey } = deps;
  // Unsealing and parsing a key costs more than signing; keys never change, so keep them per unit.
  const privateKeys = new Map<string, KeyObject>();

  async function privateKeyOf(fiscalUnitId: string): Promise<KeyObject> {
    const cached = privateKeys.get(fiscalUnitId);
    if (cached !== undefined) return cached;
    const device = await repository.findDevice(fiscalUnitId);
    if (device === undefined) throw new SigningDeviceError('unavailable', 'The TSE has no key material.');
    const der = Buffer.from(open(keyEncryptionKey, device.private_key, fiscalUnitId), 'base64');
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    privateKeys.set(fiscalUnitId, key);
    return key;
  }

  // The serial is the hash of the public key, which never changes either.
  const serials = new Map<string, Buffer>();

  async function serialOf(fiscalUnitId: string): Promise<Buffer> {
    const cached = serials.get(fiscalUnitId);
    if (cached !== undefined) return cached;
    const device = await repository.findDevice(fiscalUnitId);
    if (device === undefined) throw new SigningDeviceError('unavailable', 'The TSE has no key material.');
    const serial = tseSerialNumber(Buffer.from(device.public_key, 'base64'));
    serials.set(fiscalUnitId, serial);
    return serial;
  }

  /** The test-mode failure switch (api.md §2), checked before anything is written. */
  async function checkSimulatedFailure(unit: FiscalUnitRow): Promise<void> {
    if (unit.simulated_failure === 'fail') {
      throw new SigningDeviceError('refused', 'The TSE refused to sign (simulated failure).');
    }
    if (unit.simulated_failure === 'stall') await stall();
  }

  const logTimeNow = (): bigint => BigInt(Math.floor(clock.now().getTime() / 1000));

  async function signSystemLog(fiscalUnitId: string, registerId: string, operation: SystemOperation): Promise<void> {
    const { operationType } = operation;
    const serialNumber = await serialOf(fiscalUnitId);
    const { signatureCounter } = await repository.advanceCounters(fiscalUnitId, false);
    const logTime = logTimeNow();
    const dtbs = encodeSystemLogDtbs({
      operationType,
      systemOperationData: systemOperationData(operation),
      serialNumber,
      signatureCounter,
      logTime,
    });
    const message = assembleLogMessage(dtbs, signDtbs(dtbs, await privateKeyOf(fiscalUnitId)));
    await repository.insertLogMessage({
      fiscal_unit_id: fiscalUnitId,
      signature_counter: signatureCounter,
      register_id: registerId,
      log_type: 'system',
      operation_type: operationType,
      transaction_number: null,
      client_id: null,
      log_time: logTime,
      file_name: logFileName({
        logType: 'system',
        operationType,
        logTime,
        signatureCounter,
        transactionNumber: null,
        clientId: null,
      }),
      message: message.toString('base64'),
      operation_id: null,
      created_at: toUtcString(clock.now()),
    });
  }

  async function signTransactionLog(
    unit: FiscalUnitRow,
    operationType: TransactionOperation,
    transactionNumber: bigint | null,
    input: TseTransactionInput,
  ): Promise<TseSignedLog> {
    await checkSimulatedFailure(unit);
    const serialNumber = await serialOf(unit.id);
    const counters = await repository.advanceCounters(unit.id, transactionNumber === null);
    const number = transactionNumber ?? counters.transactionCounter;
    const logTime = logTimeNow();
    const dtbs = encodeTransactionLogDtbs({
      operationType,
      clientId: input.clientId,
      processData: Buffer.from(input.processData, 'utf8'),
      processType: input.processType,
      transactionNumber: number,
      serialNumber,
      signatureCounter: counters.signatureCounter,
      logTime,
    });
    const signature = signDtbs(dtbs, await privateKeyOf(unit.id));
    const message = assembleLogMessage(dtbs, signature);
    await repository.insertLogMessage({
      fiscal_unit_id: unit.id,
      signature_counter: counters.signatureCounter,
      register_id: unit.register_id,
      log_type: 'transaction',
      operation_type: operationType,
      transaction_number: number,
      client_id: input.clientId,
      log_time: logTime,
      file_name: logFileName({
        logType: 'transaction',
        operationType,
        logTime,
        signatureCounter: counters.signatureCounter,
        transactionNumber: number,
        clientId: input.clientId,
      }),
      message: message.toString('base64'),
      operation_id: input.subjectId,
      created_at: toUtcString(clock.now()),
    });
    return {
      transactionNumber: number,
      signatureCounter: counters.signatureCounter,
      logTime: new Date(Number(logTime) * 1000),
      signature: signature.toString('base64'),
      processType: input.processType,
      processData: input.processData,
    };
  }

  const tse: TseDevice = {
    startTransaction: (unit, input) => signTransactionLog(unit, 'StartTransaction', null, input),
    updateTransaction: (unit, number, input) => signTransactionLog(unit, 'UpdateTransaction', number, input),
    finishTransaction: (unit, number, input) => signTransactionLog(unit, 'FinishTransaction', number, input),
  };

  return {
    name: 'software_tse',
    jurisdiction: 'DE',
    certified: false,
    recorder: createTseRecorder(tse),

    async provision({ fiscalUnitId, registerId, clientId }: ProvisionInput): Promise<ProvisionResult> {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const point = publicKeyPoint(publicKey);
      const serial = tseSerialNumber(point);
      const serialHex = serial.toString('hex');
      const now = clock.now();
      const notAfter = new Date(now);
      notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CERTIFICATE_YEARS);
      // X.509 serial numbers are positive and at most 20 bytes: the first 16 bytes of the TSE serial, top bit clear.
      const certificateSerial = Buffer.from(serial.subarray(0, 16));
      certificateSerial[0] = (certificateSerial[0] ?? 0) & 0x7f;
      const certificate = createSelfSignedCertificate({
        privateKey,
        publicKey,
        commonName: serialHex.toUpperCase(),
        serialNumber: certificateSerial,
        notBefore: now,
        notAfter,
      });
      const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
      await repository.insertDevice({
        fiscal_unit_id: fiscalUnitId,
        private_key: seal(keyEncryptionKey, pkcs8.toString('base64'), fiscalUnitId),
        public_key: point.toString('base64'),
        certificate: certificate.toString('base64'),
        signature_counter: 0,
        transaction_counter: 0,
        created_at: toUtcString(now),
      });
      privateKeys.set(fiscalUnitId, privateKey);
      // A TSE logs its own initialisation and every client it admits.
      await signSystemLog(fiscalUnitId, registerId, {
        operationType: 'Initialize',
        description: 'OpenFiskal software TSE (not certified)',
      });
      await signSystemLog(fiscalUnitId, registerId, { operationType: 'RegisterClient', clientId });
      const registration = {
        regime: 'tse',
        tse_serial: serialHex,
        client_id: clientId,
        signature_algorithm: SIGNATURE_ALGORITHM_NAME,
        time_format: TIME_FORMAT,
        public_key: point.toString('base64'),
        certificate: certificate.toString('base64'),
      };
      return { registration, secrets: null };
    },

    // A TSE logs its deactivation whether the register goes out of service or only the TSE is replaced.
    async decommission(unit: FiscalUnitRow) {
      // A stalled TSE cannot log its deactivation; failing at once spares the caller the signing timeout.
      if (unit.simulated_failure === 'stall') throw new SigningDeviceError('unavailable', 'The TSE does not answer.');
      await checkSimulatedFailure(unit);
      await signSystemLog(unit.id, unit.register_id, {
        operationType: 'DisableSecureElement',
        timeOfDeactivation: logTimeNow(),
      });
      privateKeys.delete(unit.id);
    },

    health(unit: FiscalUnitRow) {
      const healthy = unit.simulated_failure === 'none';
      return Promise.resolve({
        healthy,
        message: healthy ? null : `The failure simulation is set to "${unit.simulated_failure}".`,
      });
    },
  };
}
