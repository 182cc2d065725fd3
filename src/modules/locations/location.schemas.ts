import Type, { type Static } from 'typebox';
import { Address, AddressResponse, Metadata, MetadataPatch, Nullable, Timestamp } from '../../http/schemas.js';
import { FISCAL_IDENTITY_FIELDS } from '../../regimes/fiscal-identity.js';

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Timezone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA time zone, e.g. Europe/Berlin. Business days are counted in it.',
  examples: ['Europe/Berlin'],
});

const FISCAL_IDENTITY_DESCRIPTION =
  'The fiscal identity of the permanent establishment (Betriebsstätte) the location is in, when it differs from ' +
  "the organization's: e.g. the German Steuernummer of an Austrian company's branch in Germany. Registers at the " +
  "location use it in place of the organization's (it replaces it as a whole; fields are not merged). Checked " +
  "for format and check digits against the country of the location's `address`, so the location needs an " +
  'address: DE {tax_number, vat_id?}, AT {vat_id, tax_number?}, IT {vat_number, tax_code}, FR {siret, vat_id}, ' +
  "NO/SE {organization_number}. `null` (or `{}`) clears it: the organization's identity applies.";

/** The same fields as the organization's `fiscal_identity`. */
const FiscalIdentity = Type.Object(
  Object.fromEntries(
    FISCAL_IDENTITY_FIELDS.map((field) => [field, Type.Optional(Type.String({ minLength: 1, maxLength: 40 }))]),
  ),
  { additionalProperties: false, description: FISCAL_IDENTITY_DESCRIPTION },
);

export const CreateLocationBody = Type.Object(
  {
    name: Name,
    address: Type.Optional(Nullable(Address)),
    timezone: Type.Optional(
      Type.String({
        ...Timezone,
        description:
          "IANA time zone. Defaults from the organization's country (DE Europe/Berlin, AT Europe/Vienna, IT Europe/Rome, " +
          'FR Europe/Paris, NO Europe/Oslo, SE Europe/Stockholm, …); required for countries with several zones.',
      }),
    ),
    fiscal_identity: Type.Optional(Nullable(FiscalIdentity)),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type CreateLocationBody = Static<typeof CreateLocationBody>;

export const UpdateLocationBody = Type.Object(
  {
    name: Type.Optional(Name),
    address: Type.Optional(Nullable(Address)),
    timezone: Type.Optional(Timezone),
    fiscal_identity: Type.Optional(Nullable(FiscalIdentity)),
    metadata: Type.Optional(MetadataPatch),
  },
  { additionalProperties: false },
);
export type UpdateLocationBody = Static<typeof UpdateLocationBody>;

export const Location = Type.Object(
  {
    id: Type.String({ examples: ['loc_01jd7xq3m9e5rbq0c2kfvx8w4t'] }),
    object: Type.Literal('location'),
    organization_id: Type.String(),
    name: Type.String(),
    address: Nullable(AddressResponse),
    timezone: Type.String(),
    fiscal_identity: Nullable(
      Type.Object(Object.fromEntries(FISCAL_IDENTITY_FIELDS.map((field) => [field, Type.Optional(Type.String())])), {
        description:
          "The permanent establishment's fiscal identity, used for registers here in place of the organization's; " +
          "null when the organization's applies.",
      }),
    ),
    metadata: Metadata,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'Location' },
);
export type Location = Static<typeof Location>;
