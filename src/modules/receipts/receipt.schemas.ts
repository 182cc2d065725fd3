import Type, { type Static } from 'typebox';
import { AddressResponse, Nullable, Timestamp } from '../../http/schemas.js';
import { FiscalBlock, PaymentSchema, PricedLineItemSchema, TotalsSchema } from '../operations/operation.schemas.js';

export const Receipt = Type.Object(
  {
    object: Type.Literal('receipt'),
    id: Type.String({ description: '`rcpt_…`, stable: the same suffix as the operation id.' }),
    version: Type.Literal('1.0'),
    created_at: Timestamp,
    certified: Type.Boolean({ description: 'False when a software simulation signed it.' }),
    issuer: Type.Object({
      organization_id: Type.String(),
      legal_name: Type.String(),
      trade_name: Nullable(Type.String()),
      tax_id: Nullable(Type.String()),
      tax_number: Nullable(Type.String({ description: 'DE Steuernummer, from fiscal_identity.' })),
      vat_id: Nullable(Type.String()),
      address: Nullable(AddressResponse),
      location_id: Type.String(),
      location_name: Type.String(),
      location_address: Nullable(AddressResponse),
      register_id: Type.String(),
      register_label: Type.String(),
      register_serial_number: Type.String(),
    }),
    operation: Type.Object({
      id: Type.String(),
      external_id: Nullable(Type.String()),
      type: Type.String(),
      training: Type.Boolean(),
      sequence_number: Type.Integer(),
      document_number: Nullable(Type.String()),
      started_at: Timestamp,
      completed_at: Nullable(Timestamp),
      timezone: Type.String(),
      currency: Type.String(),
      cashier: Nullable(Type.Object({ id: Type.String(), display_name: Type.String() })),
    }),
    line_items: Type.Array(PricedLineItemSchema),
    returned_line_items: Type.Array(PricedLineItemSchema),
    totals: Nullable(TotalsSchema),
    payments: Type.Array(PaymentSchema),
    cash_movement: Nullable(
      Type.Object({
        direction: Type.String(),
        kind: Type.String(),
        amount: Type.Integer(),
        reason: Nullable(Type.String()),
      }),
    ),
    fiscal: Nullable(FiscalBlock),
    fiscal_fields: Type.Array(Type.Object({ label: Type.String(), value: Type.String() }), {
      description: 'The fields the jurisdiction requires printed, in order (DE: TSE-Transaktion, TSE-Start, …).',
    }),
    references: Type.Object({
      original_operation_id: Nullable(Type.String()),
      voided_by: Nullable(Type.String()),
      reason: Nullable(Type.String()),
    }),
  },
  { title: 'Receipt' },
);
export type Receipt = Static<typeof Receipt>;
