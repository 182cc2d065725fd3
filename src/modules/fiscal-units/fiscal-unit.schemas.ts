import Type, { type Static } from 'typebox';
import { Nullable, Timestamp } from '../../http/schemas.js';
import { JURISDICTIONS } from '../../regimes/jurisdictions.js';
import { PROVIDER_NAMES } from './providers/fiscal-provider.js';

const Provider = Type.Enum([...PROVIDER_NAMES], {
  type: 'string',
  description:
    'The signing device. One software provider per jurisdiction: software_tse (DE), software_rksv (AT), rt_simulator ' +
    '(IT), software_nf525 (FR), software_saft (NO), control_unit_simulator (SE). Defaults to the jurisdiction’s.',
});

const Reason = Type.String({ minLength: 1, maxLength: 500 });

export const FiscalRegistration = Type.Object(
  {
    regime: Type.String({ description: 'Discriminates the rest: `tse` (DE), `rksv` (AT), …', examples: ['tse'] }),
    tse_serial: Type.Optional(Type.String({ description: 'DE: hex SHA-256 of the public key point.' })),
    client_id: Type.Optional(Type.String({ description: "DE: the TSE client id, the register's serial number." })),
    signature_algorithm: Type.Optional(Type.String({ examples: ['ecdsa-plain-SHA256'] })),
    time_format: Type.Optional(Type.String({ examples: ['unixTime'] })),
    public_key: Type.Optional(
      Type.String({ description: 'DE: Base64 of the uncompressed EC point, exactly as in the QR code.' }),
    ),
    certificate: Type.Optional(Type.String({ description: 'DE: Base64 DER of the TSE certificate.' })),
  },
  { additionalProperties: true, description: "The regime's public registration data." },
);

export const FiscalUnitState = Type.Enum(['provisioning', 'active', 'error', 'decommissioned'], { type: 'string' });

export const FiscalUnit = Type.Object(
  {
    id: Type.String({ examples: ['fu_01jd7xq3m9e5rbq0c2kfvx8w4t'] }),
    object: Type.Literal('fiscal_unit'),
    register_id: Type.String(),
    jurisdiction: Type.Enum([...JURISDICTIONS], { type: 'string' }),
    provider: Provider,
    state: FiscalUnitState,
    certified: Type.Boolean({ description: 'False for software simulations; a live server refuses them.' }),
    fiscal_registration: FiscalRegistration,
    reason: Nullable(Type.String({ description: 'Why it was replaced or decommissioned.' })),
    replaces: Nullable(Type.String()),
    replaced_by: Nullable(Type.String()),
    last_error: Nullable(Type.String({ description: 'Why the unit is in `error`.' })),
    provisioned_at: Nullable(Timestamp),
    decommissioned_at: Nullable(Timestamp),
    created_at: Timestamp,
  },
  { title: 'FiscalUnit' },
);
export type FiscalUnit = Static<typeof FiscalUnit>;

export const ProvisionFiscalUnitBody = Nullable(
  Type.Object(
    {
      provider: Type.Optional(Provider),
      issue_register_credential: Type.Optional(
        Type.Boolean({ description: 'Also issue a register key (`ofk_reg_…`) scoped to this register, shown once.' }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type ProvisionFiscalUnitBody = Static<typeof ProvisionFiscalUnitBody>;

export const ReplaceFiscalUnitBody = Type.Object(
  { reason: Reason, issue_register_credential: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type ReplaceFiscalUnitBody = Static<typeof ReplaceFiscalUnitBody>;

export const DecommissionFiscalUnitBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export type DecommissionFiscalUnitBody = Static<typeof DecommissionFiscalUnitBody>;

export const RecoverFiscalUnitBody = Nullable(Type.Object({}, { additionalProperties: false }));

export const SimulateFailureBody = Type.Object(
  {
    mode: Type.Enum(['fail', 'stall', 'none'], {
      type: 'string',
      description:
        '`fail`: every signing call is refused; `stall`: every signing call hangs (until the timeout); `none`: reset.',
    }),
  },
  { additionalProperties: false },
);
export type SimulateFailureBody = Static<typeof SimulateFailureBody>;
