import Type, { type Static } from 'typebox';
import { Nullable, Timestamp } from '../../http/schemas.js';

export const CLOSING_TYPES = ['daily', 'shift', 'monthly', 'annual'] as const;
const ClosingType = Type.Enum([...CLOSING_TYPES], { type: 'string' });

export const TriggerClosingBody = Nullable(
  Type.Object(
    {
      type: Type.Optional(ClosingType),
      cancel_open_operations: Type.Optional(
        Type.Boolean({
          description:
            'Cancel open sales, refunds and exchanges first (DE: aborted receipts) instead of answering 409 ' +
            '`open_operations_exist`. Not needed for `shift`.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type TriggerClosingBody = Static<typeof TriggerClosingBody>;

const Count = Type.Integer({ minimum: 0 });
const CountAndGross = Type.Object({ count: Count, total_gross: Type.Integer() });

export const ClosingSummarySchema = Type.Object(
  {
    operation_count: Count,
    total_gross: Type.Integer({ description: 'Net of refunds and voids.' }),
    total_tax: Type.Integer(),
    total_by_payment_method: Type.Record(Type.String(), Type.Integer(), {
      description: 'Inbound minus outbound per method over sales, refunds, exchanges and voids; sums to total_gross.',
    }),
    by_operation_type: Type.Object({
      sales: CountAndGross,
      refunds: Type.Object({ count: Count, total_gross: Type.Integer({ description: 'Positive.' }) }),
      voids: Type.Object({ count: Count }),
      cash_movements: Type.Object({ cash_in_total: Type.Integer(), cash_out_total: Type.Integer() }),
      exchanges: CountAndGross,
      training: Type.Object(
        { count: Count, total_gross: Type.Integer() },
        { description: 'Training operations, excluded from every other figure.' },
      ),
    }),
    tax_breakdown: Type.Array(
      Type.Object({
        rate: Type.String(),
        category: Type.String(),
        taxable_amount: Type.Integer(),
        tax_amount: Type.Integer(),
      }),
    ),
    cash_drawer_openings: Type.Object({ count: Count, without_operation: Count }),
  },
  { title: 'ClosingSummary' },
);

const TseEvent = Type.Object({
  signed_at: Timestamp,
  transaction_counter: Type.Integer(),
  signature: Type.String(),
  process_type: Type.String(),
  process_data: Type.String(),
});

/** DE: the closing signed as a TSE transaction. */
const TseClosingFiscal = Type.Object(
  {
    regime: Type.Literal('tse'),
    z_number: Type.Integer({ description: 'Z_NR.' }),
    tse_serial: Type.String(),
    signature: Type.String({ description: "Base64 of the finish log's signature." }),
    transaction_counter: Type.Integer({ description: "The finish log's signature counter." }),
    dsfinvk_export_id: Nullable(Type.String({ description: '`exp_…`: the DSFinV-K export of a daily closing.' })),
    fiscal_unit_id: Type.String(),
    certified: Type.Boolean(),
    client_id: Type.String(),
    transaction_number: Type.Integer(),
    signature_algorithm: Type.String(),
    time_format: Type.String(),
    public_key: Type.String(),
    start_event: TseEvent,
    end_event: TseEvent,
    verification: Type.Object({ qr_data: Type.String() }),
  },
  { title: 'TseClosingFiscal' },
);

/** Other regimes' blocks (added with their regimes). */
const OtherRegimeFiscal = Type.Object({ regime: Type.String() }, { additionalProperties: true });

export const Closing = Type.Object(
  {
    id: Type.String({ examples: ['cls_01jd7xq3m9e5rbq0c2kfvx8w4t'] }),
    object: Type.Literal('closing'),
    register_id: Type.String(),
    type: ClosingType,
    state: Type.Enum(['pending', 'completed', 'transmitted', 'failed'], { type: 'string' }),
    period: Type.Object({ from: Timestamp, to: Timestamp }),
    summary: ClosingSummarySchema,
    fiscal: Type.Union([TseClosingFiscal, OtherRegimeFiscal, Type.Null()], {
      description: 'Regime-discriminated; null until the closing is signed, and where the regime signs nothing.',
    }),
    z_number: Type.Integer({ minimum: 1, description: 'Gapless per register and type (DE: Z_NR).' }),
    failure: Nullable(Type.Object({ code: Type.String(), message: Type.String(), retryable: Type.Boolean() })),
    scheduled_for: Nullable(Type.String({ description: 'The schedule slot of a scheduled closing (local time).' })),
    created_at: Timestamp,
    completed_at: Nullable(Timestamp),
    links: Type.Object({ pdf: Type.String({ description: 'The Z-report PDF.' }) }),
  },
  { title: 'Closing' },
);
export type Closing = Static<typeof Closing>;
