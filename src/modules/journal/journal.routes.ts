import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery } from '../../http/schemas.js';
import { JournalEntry, JournalVerification } from './journal.schemas.js';
import type { JournalService } from './journal.service.js';

const tags = ['Journal'];
const RegisterParams = Type.Object({ registerId: IdParam('`reg_…`') });

export function journalRoutes({ journal }: { journal: JournalService }): FastifyPluginAsyncTypebox {
  return (app) => {
    app.get(
      '/v1/registers/:registerId/journal',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'listJournalEntries',
          tags,
          summary: "List a register's journal entries",
          description:
            'The hash-chained log of every fiscal event of the register, in `seq` order (`order=desc`: newest ' +
            'first); `from`/`to` bound `created_at`. Register keys may read their own journal.',
          params: RegisterParams,
          querystring: listQuery({}),
          response: { 200: listOf(JournalEntry, 'JournalEntryList'), ...errorResponses(403, 404) },
        },
      },
      (request) => journal.list(tenantOf(request), request.params.registerId, request.query),
    );

    app.get(
      '/v1/registers/:registerId/journal/verify',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'verifyJournal',
          tags,
          summary: "Verify a register's journal",
          description:
            'Recomputes every payload hash, link and entry hash from seq 1, checks that seq has no gaps and that ' +
            "the entries end at the register's count, and reports the first break. A broken chain is still a 200 " +
            'with `valid: false`.',
          params: RegisterParams,
          response: { 200: JournalVerification, ...errorResponses(403, 404) },
        },
      },
      (request) => journal.verify(tenantOf(request), request.params.registerId),
    );
    return Promise.resolve();
  };
}
