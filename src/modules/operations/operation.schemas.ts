import Type, { type Static, type TSchema } from 'typebox';
import { Metadata, MetadataPatch, Nullable, Timestamp } from '../../http/schemas.js';
import { TAX_CATEGORIES } from '../../regimes/tax-rates.js';

// ---------------------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------------------

/** Amounts are integers in minor units; the bound keeps every sum a safe integer. */
const MAX_AMOUNT = 1_000_000_000_000;
const Amount = (description?: string) =>
  Type.Integer({ minimum: 0, maximum: MAX_AMOUNT, ...(description === undefined ? {} : { description }) });
const RateString = Type.String({
  pattern: '^(0|1|0?\\.[0-9]{1,6}|0\\.0*|1\\.0*)$',
  description: 'A decimal fraction as a string: "0.19", "0.055", "0".',
  examples: ['0.19'],
});
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });
const OperationId = Type.String({ pattern: '^op_[0-7][0-9a-hjkmnp-tv-z]{25}$', description: '`op_…`' });
const LineItemId = Type.String({ pattern: '^li_[0-7][0-9a-hjkmnp-tv-z]{25}$', description: '`li_…` of the original' });
const Quantity = Type.Number({
  exclusiveMinimum: 0,
  maximum: 1_000_000,
  description: 'At most 3 decimals.',
  examples: [2],
});

export const Cashier = Type.Object(
  { id: Text(64), display_name: Text(100) },
  { additionalProperties: false, description: 'Who operated the register.' },
);

const DiscountInput = Type.Object(
  {
    type: Type.Enum(['percentage', 'amount'], { type: 'string' }),
    rate: Type.Optional(RateString),
    amount: Type.Optional(Amount()),
    label: Type.Optional(Type.String({ maxLength: 255 })),
    source: Type.Optional(Type.String({ maxLength: 40 })),
  },
  { additionalProperties: false, description: '`percentage` needs `rate`; `amount` needs `amount`.' },
);

const TaxCategory = Type.Enum([...TAX_CATEGORIES], { type: 'string' });

export const LineItemInput = Type.Object(
  {
    description: Text(255),
    quantity: Quantity,
    unit: Type.Optional(Text(20)),
    unit_price_gross: Amount('Undiscounted shelf price per unit, tax included, in minor units.'),
    tax: Type.Object(
      {
        rate: RateString,
        category: TaxCategory,
      },
      { additionalProperties: false },
    ),
    line_discounts: Type.Optional(Type.Array(DiscountInput, { maxItems: 10 })),
    product_ref: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
    flags: Type.Optional(
      Type.Array(Type.Enum(['deposit', 'gift_card', 'service_charge', 'tip'], { type: 'string' }), {
        maxItems: 4,
        uniqueItems: true,
      }),
    ),
  },
  { additionalProperties: false },
);

const LineItems = Type.Array(LineItemInput, { maxItems: 500 });
const CartDiscounts = Type.Array(DiscountInput, { maxItems: 20 });

export const Customer = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    email: Type.Optional(Type.String({ maxLength: 254 })),
    tax_id: Type.Optional(Type.String({ maxLength: 50 })),
    vat_id: Type.Optional(Type.String({ maxLength: 50 })),
    customer_ref: Type.Optional(Type.String({ maxLength: 100 })),
    address: Type.Optional(
      Type.Object(
        {
          line1: Type.Optional(Type.String({ maxLength: 200 })),
          line2: Type.Optional(Type.String({ maxLength: 200 })),
          city: Type.Optional(Type.String({ maxLength: 100 })),
          postal_code: Type.Optional(Type.String({ maxLength: 20 })),
          country: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const Details = Type.Record(Type.String({ maxLength: 40 }), Type.String({ maxLength: 200 }), { maxProperties: 10 });

export const PaymentInput = Type.Object(
  {
    method: Type.Enum(['cash', 'card', 'wallet', 'voucher', 'gift_card', 'online', 'other'], { type: 'string' }),
    direction: Type.Enum(['inbound', 'outbound'], {
      type: 'string',
      description: 'Change given back is an outbound cash payment.',
    }),
    amount: Amount(),
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
    reference: Type.Optional(Type.String({ maxLength: 100 })),
    cash: Type.Optional(Type.Object({ amount_tendered: Amount() }, { additionalProperties: false })),
    card: Type.Optional(Details),
    wallet: Type.Optional(Details),
    voucher: Type.Optional(Details),
    gift_card: Type.Optional(Details),
    online: Type.Optional(Details),
  },
  { additionalProperties: false },
);

const Payments = Type.Array(PaymentInput, { minItems: 1, maxItems: 50 });
const ExternalId = Type.String({ minLength: 1, maxLength: 255, description: 'Your reference.' });
const Reason = Text(500);

export const ReturnedLine = Type.Object(
  { line_item_id: LineItemId, quantity: Quantity },
  { additionalProperties: false },
);
const ReturnedLines = Type.Array(ReturnedLine, { minItems: 1, maxItems: 500 });

export const StartSaleBody = Nullable(
  Type.Object(
    {
      external_id: Type.Optional(ExternalId),
      cashier: Type.Optional(Cashier),
      line_items: Type.Optional(LineItems),
      cart_discounts: Type.Optional(CartDiscounts),
      customer: Type.Optional(Nullable(Customer)),
      training: Type.Optional(
        Type.Boolean({ description: 'A training sale: type `training`, never turnover, marked on receipts.' }),
      ),
      metadata: Type.Optional(Metadata),
    },
    { additionalProperties: false },
  ),
);
export type StartSaleBody = Static<typeof StartSaleBody>;

export const UpdateSaleBody = Type.Object(
  {
    line_items: Type.Optional(LineItems),
    cart_discounts: Type.Optional(CartDiscounts),
    customer: Type.Optional(Nullable(Customer)),
    metadata: Type.Optional(MetadataPatch),
  },
  { additionalProperties: false, description: 'Replaces the lists given; not a fiscal event.' },
);
export type UpdateSaleBody = Static<typeof UpdateSaleBody>;

export const CompleteSaleBody = Type.Object(
  { payments: Payments, line_items: Type.Optional(LineItems) },
  { additionalProperties: false },
);
export type CompleteSaleBody = Static<typeof CompleteSaleBody>;

export const CompleteBody = Type.Object({ payments: Payments }, { additionalProperties: false });
export type CompleteBody = Static<typeof CompleteBody>;

export const CancelBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export type CancelBody = Static<typeof CancelBody>;

export const StartRefundBody = Type.Object(
  {
    original_operation_id: OperationId,
    external_id: Type.Optional(ExternalId),
    cashier: Type.Optional(Cashier),
    line_items: Type.Optional(ReturnedLines),
    metadata: Type.Optional(Metadata),
  },
  {
    additionalProperties: false,
    description: 'Without `line_items`, everything of the original not yet refunded is refunded.',
  },
);
export type StartRefundBody = Static<typeof StartRefundBody>;

export const UpdateRefundBody = Type.Object(
  { line_items: Type.Optional(ReturnedLines), metadata: Type.Optional(MetadataPatch) },
  { additionalProperties: false },
);
export type UpdateRefundBody = Static<typeof UpdateRefundBody>;

export const StartExchangeBody = Type.Object(
  {
    original_operation_id: OperationId,
    returned_line_items: ReturnedLines,
    line_items: LineItems,
    cart_discounts: Type.Optional(CartDiscounts),
    external_id: Type.Optional(ExternalId),
    cashier: Type.Optional(Cashier),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type StartExchangeBody = Static<typeof StartExchangeBody>;

export const UpdateExchangeBody = Type.Object(
  {
    returned_line_items: Type.Optional(ReturnedLines),
    line_items: Type.Optional(LineItems),
    cart_discounts: Type.Optional(CartDiscounts),
    metadata: Type.Optional(MetadataPatch),
  },
  { additionalProperties: false },
);
export type UpdateExchangeBody = Static<typeof UpdateExchangeBody>;

export const VoidBody = Type.Object(
  {
    original_operation_id: OperationId,
    reason: Type.Optional(Type.String({ maxLength: 500, description: 'Required: without it 422 `reason_required`.' })),
    external_id: Type.Optional(ExternalId),
    cashier: Type.Optional(Cashier),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type VoidBody = Static<typeof VoidBody>;

export const CASH_MOVEMENT_KINDS = [
  'opening_float',
  'pay_in',
  'pay_out',
  'drop',
  'tip_out',
  'private_deposit',
  'private_withdrawal',
  'transfer',
  'correction',
] as const;

export const CashMovementBody = Type.Object(
  {
    direction: Type.Enum(['in', 'out'], { type: 'string' }),
    kind: Type.Enum([...CASH_MOVEMENT_KINDS], { type: 'string' }),
    amount: Type.Integer({ minimum: 1, maximum: MAX_AMOUNT }),
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
    reason: Type.Optional(Reason),
    external_id: Type.Optional(ExternalId),
    cashier: Type.Optional(Cashier),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type CashMovementBody = Static<typeof CashMovementBody>;

// ---------------------------------------------------------------------------------------------------------------
// The operation envelope
// ---------------------------------------------------------------------------------------------------------------

const OPERATION_TYPES = ['sale', 'refund', 'exchange', 'void', 'cash_movement', 'training'] as const;

export const PricedLineItemSchema = Type.Object(
  {
    id: Type.String(),
    position: Type.Integer(),
    description: Type.String(),
    quantity: Type.Number(),
    unit: Type.String(),
    unit_price_gross: Type.Integer(),
    tax: Type.Object({ rate: Type.String(), category: TaxCategory }),
    product_ref: Nullable(Type.String()),
    flags: Type.Array(Type.String()),
    line_discounts: Type.Array(
      Type.Object({
        id: Type.String(),
        type: Type.String(),
        rate: Nullable(Type.String()),
        amount: Type.Integer(),
        label: Nullable(Type.String()),
        source: Nullable(Type.String()),
      }),
    ),
    subtotal_gross: Type.Integer(),
    line_discount_amount: Type.Integer(),
    subtotal_after_line_discounts: Type.Integer(),
    cart_discount_allocations: Type.Array(
      Type.Object({ discount_id: Type.String(), amount: Type.Integer(), label: Nullable(Type.String()) }),
    ),
    cart_discount_amount: Type.Integer(),
    total_gross: Type.Integer(),
    original_line_item_id: Type.Optional(Type.String({ description: 'Refunds and exchanges: the original line.' })),
  },
  { title: 'LineItem' },
);

export const TotalsSchema = Type.Object(
  {
    subtotal_gross: Type.Integer(),
    total_line_discounts: Type.Integer(),
    subtotal_after_line_discounts: Type.Integer(),
    total_cart_discounts: Type.Integer(),
    subtotal_after_all_discounts: Type.Integer(),
    rounding_adjustment: Type.Integer(),
    total_gross: Type.Integer(),
    total_net: Type.Integer(),
    total_tax: Type.Integer(),
    net_payable: Type.Integer({ description: 'Positive on sales, negative on refunds.' }),
    tax_breakdown: Type.Array(
      Type.Object({
        rate: Type.String(),
        category: TaxCategory,
        taxable_amount: Type.Integer(),
        tax_amount: Type.Integer(),
        gross: Type.Integer(),
      }),
    ),
  },
  { title: 'Totals' },
);

const DetailsOut = Type.Record(Type.String(), Type.String());
export const PaymentSchema = Type.Object(
  {
    id: Type.String(),
    method: Type.String(),
    direction: Type.String(),
    amount: Type.Integer(),
    currency: Type.String(),
    reference: Type.Optional(Type.String()),
    cash: Type.Optional(Type.Object({ amount_tendered: Type.Integer() })),
    card: Type.Optional(DetailsOut),
    wallet: Type.Optional(DetailsOut),
    voucher: Type.Optional(DetailsOut),
    gift_card: Type.Optional(DetailsOut),
    online: Type.Optional(DetailsOut),
  },
  { title: 'Payment' },
);

const OperationData = Type.Object(
  {
    currency: Type.String(),
    line_items: Type.Optional(Type.Array(PricedLineItemSchema)),
    returned_line_items: Type.Optional(Type.Array(PricedLineItemSchema)),
    cart_discounts: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.String(),
          type: Type.String(),
          rate: Nullable(Type.String()),
          amount: Type.Integer(),
          label: Nullable(Type.String()),
        }),
      ),
    ),
    totals: Type.Optional(TotalsSchema),
    payments: Type.Optional(Type.Array(PaymentSchema)),
    customer: Type.Optional(Nullable(Customer)),
    original_operation_type: Type.Optional(Type.String({ description: 'Voids: the type of what they reverse.' })),
    direction: Type.Optional(Type.String({ description: 'Cash movements: `in` or `out`.' })),
    kind: Type.Optional(Type.String()),
    amount: Type.Optional(Type.Integer()),
    reason: Type.Optional(Nullable(Type.String())),
  },
  {
    description:
      'Sales, refunds, exchanges, training: currency, line_items (exchanges also returned_line_items), ' +
      'cart_discounts, totals, payments, customer. Voids: the reversed totals and payments. Cash movements: ' +
      'direction, kind, amount, currency, reason.',
  },
);

const TseEvent = Type.Object({
  signed_at: Timestamp,
  transaction_counter: Type.Integer({ description: 'The TSE signature counter of this log.' }),
  signature: Type.String({ description: 'Base64.' }),
  process_type: Type.String(),
  process_data: Type.String(),
});

export const FiscalBlock = Type.Object(
  {
    regime: Type.String({ examples: ['tse'] }),
    fiscal_unit_id: Type.String(),
    certified: Type.Boolean(),
    document_number: Nullable(Type.String()),
    document_type: Nullable(Type.String()),
    transmission_status: Type.Enum(['not_required', 'pending', 'transmitted', 'failed'], { type: 'string' }),
    verification: Type.Object({ qr_data: Nullable(Type.String()), url: Nullable(Type.String()) }),
    tse_serial: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    signature_algorithm: Type.Optional(Type.String()),
    time_format: Type.Optional(Type.String()),
    public_key: Type.Optional(Type.String()),
    transaction_number: Type.Optional(Type.Integer()),
    start_event: Type.Optional(Nullable(TseEvent)),
    end_event: Type.Optional(Nullable(TseEvent)),
  },
  { additionalProperties: true, title: 'FiscalDocument', description: 'Regime-specific; `regime` discriminates.' },
);

export const Operation = Type.Object(
  {
    id: Type.String({ examples: ['op_01jd7xq3m9e5rbq0c2kfvx8w4t'] }),
    object: Type.Literal('operation'),
    type: Type.Enum([...OPERATION_TYPES], { type: 'string' }),
    state: Type.Enum(['open', 'completed', 'cancelled'], { type: 'string' }),
    fiscal_state: Type.Enum(['pending', 'succeeded', 'failed'], { type: 'string' }),
    register_id: Type.String(),
    location_id: Type.String(),
    organization_id: Type.String(),
    external_id: Nullable(Type.String()),
    sequence_number: Type.Integer({ description: 'Gapless per register.' }),
    cashier: Nullable(Type.Object({ id: Type.String(), display_name: Type.String() })),
    data: OperationData,
    fiscal: Nullable(FiscalBlock),
    references: Type.Object({
      original_operation_id: Nullable(Type.String()),
      voided_by: Nullable(Type.String()),
      reason: Nullable(Type.String()),
    }),
    metadata: Metadata,
    started_at: Timestamp,
    completed_at: Nullable(Timestamp),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'Operation' },
);
export type Operation = Static<typeof Operation>;
export type OperationData = Static<typeof OperationData>;
export type FiscalBlock = Static<typeof FiscalBlock>;

export const OperationListFilters = {
  type: Type.Optional(Type.Enum([...OPERATION_TYPES], { type: 'string' })),
  state: Type.Optional(Type.Enum(['open', 'completed', 'cancelled'], { type: 'string' })),
} satisfies Record<string, TSchema>;
