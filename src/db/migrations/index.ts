/** The ordered list of migrations. Explicit, not a directory scan, so compiled output and tests are deterministic. */
import type { Migration } from 'kysely';
import * as foundation from './0001-foundation.js';
import * as fiscalCore from './0002-fiscal-core.js';
import * as journal from './0003-journal.js';
import * as jobsExports from './0004-jobs-exports.js';
import * as closings from './0005-closings.js';
import * as rksvOutages from './0006-rksv-outages.js';
import * as rksvReceiptUrl from './0007-rksv-receipt-url.js';
import * as openOperations from './0008-open-operations.js';
import * as partialIndexes from './0009-partial-indexes.js';
import * as signingDevicesFillfactor from './0010-signing-devices-fillfactor.js';

export const migrations: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-fiscal-core': fiscalCore,
  '0003-journal': journal,
  '0004-jobs-exports': jobsExports,
  '0005-closings': closings,
  '0006-rksv-outages': rksvOutages,
  '0007-rksv-receipt-url': rksvReceiptUrl,
  '0008-open-operations': openOperations,
  '0009-partial-indexes': partialIndexes,
  '0010-signing-devices-fillfactor': signingDevicesFillfactor,
};
