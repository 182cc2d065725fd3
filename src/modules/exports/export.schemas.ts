import Type, { type Static } from 'typebox';
import { Nullable, Timestamp } from '../../http/schemas.js';
import { EXPORT_TYPES } from './export-writer.js';

const ExportType = Type.Enum([...EXPORT_TYPES], {
  type: 'string',
  description:
    'The format: `dsfinvk` (DE), `tse_tar` (DE, the TSE export of TR-03153), `dep7` (AT), `saft_cash_register` (NO), ' +
    "`nf525_archive` (FR), `corrispettivi` (IT). A type not available for the register's jurisdiction is refused " +
    'with 422 `validation_error` (`param: "type"`).',
});

const ExportState = Type.Enum(['queued', 'running', 'completed', 'failed'], {
  type: 'string',
  description: '`queued` → `running` → `completed` or `failed`. Failed attempts are retried before `failed`.',
});

export const CreateExportBody = Type.Object(
  {
    type: ExportType,
    register_id: Type.String({
      maxLength: 200,
      description: '`reg_…`, also an archived one. A register key may name only its own register (else 403).',
    }),
    from: Type.String({ format: 'date-time', description: 'Start of the period, inclusive (RFC 3339).' }),
    to: Type.String({
      format: 'date-time',
      description: 'End of the period, inclusive (RFC 3339); not before `from`.',
    }),
  },
  { additionalProperties: false },
);
export type CreateExportBody = Static<typeof CreateExportBody>;

export const ExportListFilters = {
  register_id: Type.Optional(Type.String({ maxLength: 200, description: 'Only exports of this register.' })),
  type: Type.Optional(ExportType),
  state: Type.Optional(ExportState),
};

export const Export = Type.Object(
  {
    id: Type.String({ examples: ['exp_01jd7xq3m9e5rbq0c2kfvx8w4t'] }),
    object: Type.Literal('export'),
    type: ExportType,
    register_id: Type.String(),
    state: ExportState,
    from: Timestamp,
    to: Timestamp,
    progress: Type.Object(
      { done: Type.Integer({ minimum: 0 }), total: Type.Integer({ minimum: 0 }) },
      { description: "In the format's own units (e.g. TSE log messages); `done` equals `total` when completed." },
    ),
    file: Nullable(
      Type.Object(
        {
          name: Type.String({ examples: ['tse_Kasse-1_20260301-20260331.tar'] }),
          content_type: Type.String({ examples: ['application/x-tar'] }),
          size: Type.Integer({ minimum: 0, description: 'Bytes.' }),
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256 of the file.' }),
        },
        { description: 'Set once completed.' },
      ),
    ),
    links: Type.Object({
      download: Nullable(
        Type.String({ description: 'Set while the completed file can be downloaded (until `expires_at`).' }),
      ),
    }),
    failure: Nullable(
      Type.Object({ code: Type.String(), message: Type.String() }, { description: 'Why the export failed.' }),
    ),
    expires_at: Type.String({
      format: 'date-time',
      description:
        'When the file is deleted: the retention period (server setting, default 90 days) after completion; ' +
        'until completion, counted from creation.',
    }),
    created_at: Timestamp,
    completed_at: Nullable(Timestamp),
    closing_id: Nullable(Type.String({ description: 'The closing (`cls_…`) this export was made for, if any.' })),
  },
  { title: 'Export' },
);
export type Export = Static<typeof Export>;
