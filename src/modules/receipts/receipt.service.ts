/**
 * Receipts (api.md §4): a self-contained, denormalised snapshot of a completed operation — issuer, lines, totals,
 * payments, the fiscal block and the fields the jurisdiction requires printed — as canonical JSON and as an 80 mm
 * PDF. Nothing is stored: a receipt is derived from the operation and its register, so it is the same every time.
 * @module
 */
import { effectiveFiscalIdentity } from '../../regimes/fiscal-identity.js';
import { parseLocationIdentity } from '../locations/location.service.js';
import type { ReceiptPdfData } from '../../documents/pdf/receipt-pdf.js';
import { AppError } from '../../errors/app-error.js';
import type { Tenant } from '../../shared/tenant.js';
import type { LocationService } from '../locations/location.service.js';
import type { OperationService } from '../operations/operation.service.js';
import type { OrganizationService } from '../organizations/organization.service.js';
import type { RegisterService } from '../registers/register.service.js';
import {
  receiptFiscalFields,
  receiptFiscalNotice,
  receiptFiscalTitle,
  receiptJurisdiction,
  receiptLanguage,
} from '../../regimes/receipts.js';
import type { Receipt } from './receipt.schemas.js';

export interface ReceiptServiceDeps {
  readonly operations: Pick<OperationService, 'get'>;
  readonly registers: Pick<RegisterService, 'findRow'>;
  readonly locations: Pick<LocationService, 'findRow'>;
  readonly organizations: Pick<OrganizationService, 'get'>;
}

type Address = Receipt['issuer']['address'];

const TITLES: Readonly<Record<string, { de: string; en: string }>> = {
  sale: { de: 'Beleg', en: 'Receipt' },
  training: { de: 'Trainingsbeleg', en: 'Training receipt' },
  refund: { de: 'Gutschrift / Erstattung', en: 'Refund' },
  exchange: { de: 'Umtausch', en: 'Exchange' },
  void: { de: 'Storno', en: 'Void' },
  cash_movement_in: { de: 'Einzahlung', en: 'Cash in' },
  cash_movement_out: { de: 'Auszahlung', en: 'Cash out' },
};

const PAYMENT_LABELS: Readonly<Record<string, { de: string; en: string }>> = {
  cash: { de: 'Bar', en: 'Cash' },
  card: { de: 'Karte', en: 'Card' },
  wallet: { de: 'Wallet', en: 'Wallet' },
  voucher: { de: 'Gutschein', en: 'Voucher' },
  gift_card: { de: 'Geschenkkarte', en: 'Gift card' },
  online: { de: 'Online', en: 'Online' },
  other: { de: 'Sonstige', en: 'Other' },
};

function parseAddress(text: string | null): Address {
  return text === null ? null : (JSON.parse(text) as Address);
}

export function createReceiptService(deps: ReceiptServiceDeps) {
  async function build(tenant: Tenant, operationId: string): Promise<Receipt> {
    const operation = await deps.operations.get(tenant, operationId, 'any');
    if (operation.state !== 'completed') {
      throw new AppError('operation_not_completed', {
        message: `A receipt exists once the operation is completed; it is ${operation.state}.`,
      });
    }
    const register = await deps.registers.findRow(tenant, operation.register_id);
    const location = await deps.locations.findRow(tenant, register.location_id);
    const organization = await deps.organizations.get(tenant);
    // A register in a branch abroad uses that Betriebsstätte's identity (the location's), else the organization's.
    const identity = effectiveFiscalIdentity(organization.fiscal_identity, parseLocationIdentity(location)) ?? {};
    const data = operation.data;
    const fiscal = operation.fiscal;
    return {
      object: 'receipt',
      id: operation.id.replace(/^op_/, 'rcpt_'),
      version: '1.0',
      created_at: operation.completed_at ?? operation.created_at,
      certified: fiscal?.certified ?? false,
      issuer: {
        organization_id: organization.id,
        legal_name: organization.legal_name,
        trade_name: organization.trade_name,
        tax_id: organization.tax_id,
        tax_number: identity.tax_number ?? null,
        vat_id: identity.vat_id ?? null,
        address: organization.address,
        location_id: location.id,
        location_name: location.name,
        location_address: parseAddress(location.address),
        register_id: register.id,
        register_label: register.label,
        register_serial_number: register.serial_number,
      },
      operation: {
        id: operation.id,
        external_id: operation.external_id,
        type: operation.type,
        training: operation.type === 'training',
        sequence_number: operation.sequence_number,
        document_number: fiscal?.document_number ?? null,
        started_at: operation.started_at,
        completed_at: operation.completed_at,
        timezone: location.timezone,
        currency: data.currency,
        cashier: operation.cashier,
      },
      line_items: data.line_items ?? [],
      returned_line_items: data.returned_line_items ?? [],
      totals: data.totals ?? null,
      payments: data.payments ?? [],
      cash_movement:
        operation.type === 'cash_movement'
          ? {
              direction: data.direction ?? 'in',
              kind: data.kind ?? '',
              amount: data.amount ?? 0,
              reason: data.reason ?? null,
            }
          : null,
      fiscal,
      fiscal_fields: receiptFiscalFields(fiscal),
      references: operation.references,
    };
  }

  return {
    get: build,

    async pdf(tenant: Tenant, operationId: string): Promise<Buffer> {
      // The PDF library loads at the first PDF, not at start-up (it is a sixth of the server's module loading).
      const { renderReceiptPdf } = await import('../../documents/pdf/receipt-pdf.js');
      return renderReceiptPdf(toPdfData(await build(tenant, operationId)));
    },
  };
}

/**
 * Maps the canonical receipt to the PDF's view model: labels in the language of the receipt's regime, signed
 * amounts.
 */
export function toPdfData(receipt: Receipt): ReceiptPdfData {
  const language = receiptLanguage(receipt.fiscal);
  const { operation, totals } = receipt;
  const titleKey =
    operation.type === 'cash_movement' ? `cash_movement_${receipt.cash_movement?.direction ?? 'in'}` : operation.type;
  const breakdown = totals?.tax_breakdown ?? [];
  const taxLabel = (rate: string, category: string) => {
    const index = breakdown.findIndex((entry) => entry.rate === rate && entry.category === category);
    return String.fromCharCode(65 + Math.max(0, index));
  };
  const lines = [...receipt.line_items, ...receipt.returned_line_items.map((line) => ({ ...line, returned: true }))];
  const cashMovement = receipt.cash_movement;
  const sign = cashMovement?.direction === 'out' ? -1 : 1;
  return {
    language,
    jurisdiction: receiptJurisdiction(receipt.fiscal),
    currency: operation.currency,
    training: operation.training,
    documentTitle: (TITLES[titleKey] ?? { de: 'Beleg', en: 'Receipt' })[language],
    issuer: {
      legalName: receipt.issuer.legal_name,
      tradeName: receipt.issuer.trade_name,
      address: receipt.issuer.address,
      taxId: receipt.issuer.tax_number ?? receipt.issuer.tax_id,
      vatId: receipt.issuer.vat_id,
      locationName: receipt.issuer.location_name,
      locationAddress: receipt.issuer.location_address,
      registerLabel: receipt.issuer.register_label,
      registerSerial: receipt.issuer.register_serial_number,
    },
    operation: {
      id: operation.id,
      type: operation.type,
      sequenceNumber: operation.sequence_number,
      documentNumber: operation.document_number,
      startedAt: operation.started_at,
      completedAt: operation.completed_at,
      timezone: operation.timezone,
      cashier: operation.cashier?.display_name ?? null,
      referenceNote:
        receipt.references.original_operation_id === null
          ? null
          : `${language === 'de' ? 'Bezug' : 'Refers to'}: ${receipt.references.original_operation_id}`,
    },
    lines:
      cashMovement === null
        ? lines.map((line) => ({
            description:
              'returned' in line
                ? `${language === 'de' ? 'Rücknahme' : 'Returned'}: ${line.description}`
                : line.description,
            quantity: line.quantity,
            unit: line.unit === 'piece' && language === 'de' ? 'Stk.' : line.unit,
            unitPriceGross: line.unit_price_gross,
            totalGross: 'returned' in line ? -line.total_gross : line.total_gross,
            taxLabel: taxLabel(line.tax.rate, line.tax.category),
            discounts: [
              ...line.line_discounts.map((d) => ({
                label: d.label ?? (language === 'de' ? 'Rabatt' : 'Discount'),
                amount: d.amount,
              })),
              ...line.cart_discount_allocations.map((d) => ({
                label: d.label ?? (language === 'de' ? 'Rabatt' : 'Discount'),
                amount: d.amount,
              })),
            ],
          }))
        : [
            {
              description: cashMovement.reason ?? cashMovement.kind,
              quantity: 1,
              unit: 'piece',
              unitPriceGross: cashMovement.amount,
              totalGross: sign * cashMovement.amount,
              taxLabel: '-',
              discounts: [],
            },
          ],
    taxes: breakdown.map((entry, index) => ({
      label: String.fromCharCode(65 + index),
      rate: entry.rate,
      net: entry.taxable_amount,
      tax: entry.tax_amount,
      gross: entry.gross,
    })),
    totals:
      totals === null
        ? { totalGross: sign * (cashMovement?.amount ?? 0), totalNet: sign * (cashMovement?.amount ?? 0), totalTax: 0 }
        : { totalGross: totals.total_gross, totalNet: totals.total_net, totalTax: totals.total_tax },
    payments: receipt.payments.map((payment) => {
      const change = payment.method === 'cash' && payment.direction === 'outbound' && operation.type !== 'refund';
      const label = change
        ? language === 'de'
          ? 'Rückgeld'
          : 'Change'
        : (PAYMENT_LABELS[payment.method] ?? { de: payment.method, en: payment.method })[language];
      return { label, amount: payment.direction === 'inbound' ? payment.amount : -payment.amount };
    }),
    fiscal:
      receipt.fiscal === null
        ? null
        : {
            title: receiptFiscalTitle(receipt.fiscal),
            fields: receipt.fiscal_fields,
            qrData: receipt.fiscal.verification.qr_data,
            certified: receipt.fiscal.certified,
            notice: receiptFiscalNotice(receipt.fiscal, language),
          },
    footer: null,
  };
}

export type ReceiptService = ReturnType<typeof createReceiptService>;
