import Type, { type Static } from 'typebox';
import { Address, AddressResponse, Metadata, MetadataPatch, Nullable, Timestamp } from '../../http/schemas.js';

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Timezone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA time zone, e.g. Europe/Berlin. Business days are counted in it.',
  examples: ['Europe/Berlin'],
});

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
    metadata: Metadata,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'Location' },
);
export type Location = Static<typeof Location>;
