import Type, { type Static } from 'typebox';
import { Metadata, Nullable, Timestamp } from '../../http/schemas.js';
import { FiscalBlock } from '../operations/operation.schemas.js';

export const IssueNullReceiptBody = Nullable(
  Type.Object(
    {
      metadata: Type.Optional(Metadata),
    },
    { additionalProperties: false, description: 'Optional; an empty body, `{}` or `null` will do.' },
  ),
);
export type IssueNullReceiptBody = Static<typeof IssueNullReceiptBody>;

export const NullReceipt = Type.Object(
  {
    object: Type.Literal('null_receipt'),
    register_id: Type.String(),
    fiscal_unit_id: Type.String({ description: 'The fiscal unit that issued it.' }),
    issued_at: Timestamp,
    fiscal: Type.Union([FiscalBlock, Type.Null()], {
      description:
        "The regime's fiscal document of the receipt (AT: regime `rksv`, `receipt_kind` `null`, with its " +
        'machine-readable code in `verification.qr_data`).',
    }),
    metadata: Metadata,
  },
  { title: 'NullReceipt' },
);
export type NullReceipt = Static<typeof NullReceipt>;
