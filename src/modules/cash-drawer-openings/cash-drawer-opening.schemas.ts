import Type, { type Static } from 'typebox';
import { Nullable, Timestamp } from '../../http/schemas.js';
import { Cashier } from '../operations/operation.schemas.js';

export const LogCashDrawerOpeningBody = Type.Object(
  {
    occurred_at: Type.String({
      format: 'date-time',
      description:
        "The register's clock when the drawer opened (any RFC 3339 offset; stored in UTC). At most 5 minutes " +
        "ahead of the server's clock; may be long past after an offline period.",
    }),
    operation_id: Type.Optional(
      Nullable(Type.String({ maxLength: 200, description: '`op_…` of this register the opening belongs to.' })),
    ),
    cashier: Type.Optional(Nullable(Cashier)),
    reason: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 500, examples: ['Float check'] }))),
    note: Type.Optional(
      Nullable(Type.String({ maxLength: 2000, description: 'Internal; never appears in an export to authorities.' })),
    ),
  },
  { additionalProperties: false },
);
export type LogCashDrawerOpeningBody = Static<typeof LogCashDrawerOpeningBody>;

const OpeningFiscal = Type.Object(
  {
    sequence_number: Type.Integer(),
    signed_at: Timestamp,
    signature: Type.String(),
    jurisdiction_data: Type.Record(Type.String(), Type.Unknown()),
  },
  { description: 'Where openings are signed or sequence-numbered (NO, SE); null elsewhere.' },
);

export const CashDrawerOpening = Type.Object(
  {
    occurred_at: Timestamp,
    id: Type.String({ examples: ['cdo_01jd7xq3m9e5rbq0c2kfvx8w4t'] }),
    object: Type.Literal('cash_drawer_opening'),
    register_id: Type.String(),
    received_at: Timestamp,
    created_at: Timestamp,
    operation_id: Nullable(Type.String()),
    cashier: Nullable(Type.Object({ id: Type.String(), display_name: Type.String() })),
    reason: Nullable(Type.String()),
    note: Nullable(Type.String()),
    fiscal: Nullable(OpeningFiscal),
  },
  { title: 'CashDrawerOpening' },
);
export type CashDrawerOpening = Static<typeof CashDrawerOpening>;
