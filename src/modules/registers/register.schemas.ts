import Type, { type Static } from 'typebox';
import { JURISDICTIONS } from '../../regimes/jurisdictions.js';
import { Metadata, MetadataPatch, Nullable, Timestamp } from '../../http/schemas.js';
import { FiscalUnit } from '../fiscal-units/fiscal-unit.schemas.js';

const Label = Type.String({ minLength: 1, maxLength: 100, examples: ['Kasse 1'] });

/** Printable ASCII without `;` (the QR code's separator) and without leading or trailing spaces. */
const SerialNumber = Type.String({
  pattern: '^[!-:<-~](?:[ -:<-~]{0,68}[!-:<-~])?$',
  description:
    'The DE TSE client id / AT Kassen-ID, unique within the organization: 1–70 printable ASCII characters, no `;`. ' +
    'Defaults to the register id; fixed once the register has had a fiscal unit.',
});

const Jurisdiction = Type.Enum([...JURISDICTIONS], {
  type: 'string',
  description: 'The fiscal law the register follows.',
});

export const CreateRegisterBody = Type.Object(
  {
    label: Label,
    jurisdiction: Jurisdiction,
    serial_number: Type.Optional(SerialNumber),
    currency: Type.Optional(
      Type.String({
        pattern: '^[A-Z]{3}$',
        description: "ISO 4217. Defaults to, and must be, the jurisdiction's currency: EUR (DE, AT, IT, FR), NOK, SEK.",
      }),
    ),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type CreateRegisterBody = Static<typeof CreateRegisterBody>;

const ClosingSchedule = Type.Object(
  {
    daily_at: Type.String({
      pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
      description: "HH:MM in the location's time zone.",
      examples: ['23:30'],
    }),
  },
  {
    additionalProperties: false,
    description:
      'The worker closes the day at this time itself (a `daily` closing with `cancel_open_operations: true`), ' +
      'exactly once per day; after a restart it catches up the latest missed time.',
  },
);

export const UpdateRegisterBody = Type.Object(
  {
    label: Type.Optional(Label),
    closing_schedule: Type.Optional(Nullable(ClosingSchedule)),
    serial_number: Type.Optional(SerialNumber),
    metadata: Type.Optional(MetadataPatch),
  },
  { additionalProperties: false, description: '`jurisdiction` and `currency` cannot change.' },
);
export type UpdateRegisterBody = Static<typeof UpdateRegisterBody>;

/** No fields yet; an absent body (null) is fine. */
export const ArchiveRegisterBody = Nullable(Type.Object({}, { additionalProperties: false }));

export const Register = Type.Object(
  {
    id: Type.String({ examples: ['reg_01jd7xq3m9e5rbq0c2kfvx8w4t'] }),
    object: Type.Literal('register'),
    location_id: Type.String(),
    organization_id: Type.String(),
    label: Type.String(),
    jurisdiction: Jurisdiction,
    serial_number: Type.String(),
    currency: Type.String(),
    state: Type.Enum(['active', 'archived'], { type: 'string' }),
    active_fiscal_unit: Type.Union([FiscalUnit, Type.Null()], {
      description: 'The active (or failing) fiscal unit, expanded; null before provisioning and after decommissioning.',
    }),
    closing_schedule: Nullable(Type.Object({ daily_at: Type.String() })),
    metadata: Metadata,
    created_at: Timestamp,
    updated_at: Timestamp,
    archived_at: Nullable(Timestamp),
  },
  { title: 'Register' },
);
export type Register = Static<typeof Register>;
