import Type, { type Static } from 'typebox';
import { FISCAL_IDENTITY_FIELDS } from '../../regimes/fiscal-identity.js';
import {
  Address,
  AddressResponse,
  CountryCode,
  Metadata,
  MetadataPatch,
  Nullable,
  Timestamp,
} from '../../http/schemas.js';

const LegalName = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Registered legal name, printed on receipts.',
});

const FiscalIdentity = Type.Object(
  Object.fromEntries(
    FISCAL_IDENTITY_FIELDS.map((field) => [field, Type.Optional(Type.String({ minLength: 1, maxLength: 40 }))]),
  ),
  {
    additionalProperties: false,
    description:
      'Tax identifiers for the country, checked for format and check digits: DE {tax_number, vat_id?}, AT ' +
      '{vat_id, tax_number?}, IT {vat_number, tax_code}, FR {siret, vat_id}, NO/SE {organization_number}. ' +
      'Required before a fiscal unit can be provisioned.',
  },
);

export const CreateOrganizationBody = Type.Object(
  {
    legal_name: LegalName,
    country: CountryCode,
    tax_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 40 }))),
    trade_name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 200 }))),
    address: Type.Optional(Nullable(Address)),
    fiscal_identity: Type.Optional(Nullable(FiscalIdentity)),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type CreateOrganizationBody = Static<typeof CreateOrganizationBody>;

export const UpdateOrganizationBody = Type.Object(
  {
    legal_name: Type.Optional(LegalName),
    tax_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 40 }))),
    trade_name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 200 }))),
    address: Type.Optional(Nullable(Address)),
    fiscal_identity: Type.Optional(Nullable(FiscalIdentity)),
    metadata: Type.Optional(MetadataPatch),
  },
  { additionalProperties: false, description: '`country` cannot change: the fiscal identity depends on it.' },
);
export type UpdateOrganizationBody = Static<typeof UpdateOrganizationBody>;

export const Organization = Type.Object(
  {
    id: Type.String({ examples: ['org_01jd7xq3m9e5rbq0c2kfvx8w4t'] }),
    object: Type.Literal('organization'),
    legal_name: Type.String(),
    country: Type.String(),
    tax_id: Nullable(Type.String()),
    trade_name: Nullable(Type.String()),
    address: Nullable(AddressResponse),
    fiscal_identity: Nullable(
      Type.Object(Object.fromEntries(FISCAL_IDENTITY_FIELDS.map((field) => [field, Type.Optional(Type.String())]))),
    ),
    metadata: Metadata,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'Organization' },
);
export type Organization = Static<typeof Organization>;
