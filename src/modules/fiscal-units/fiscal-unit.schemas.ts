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

const ProviderOptions = Type.Object(
  {
    system: Type.Optional(
      Type.Enum(['open', 'closed'], {
        type: 'string',
        description:
          'software_rksv (AT): `open` (default) signs with a certificate (ZDA AT100 for the software device); ' +
          '`closed` is a closed system (geschlossenes Gesamtsystem, ZDA AT0) whose key is named `U:<UID>-K<n>`. A ' +
          'replacement keeps the replaced unit’s system unless this says otherwise.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Provider-specific settings; providers ignore what is not theirs.' },
);

export const FiscalRegistration = Type.Object(
  {
    regime: Type.String({ description: 'Discriminates the rest: `tse` (DE), `rksv` (AT), …', examples: ['tse'] }),
    tse_serial: Type.Optional(Type.String({ description: 'DE: hex SHA-256 of the public key point.' })),
    client_id: Type.Optional(Type.String({ description: "DE: the TSE client id, the register's serial number." })),
    signature_algorithm: Type.Optional(Type.String({ examples: ['ecdsa-plain-SHA256'] })),
    time_format: Type.Optional(Type.String({ examples: ['unixTime'] })),
    public_key: Type.Optional(
      Type.String({
        description: 'DE: Base64 of the uncompressed EC point, exactly as in the QR code. AT: Base64 SPKI DER.',
      }),
    ),
    certificate: Type.Optional(
      Nullable(
        Type.String({
          description:
            'DE: Base64 DER of the TSE certificate. AT: of the signing certificate; null in a closed system.',
        }),
      ),
    ),
    system: Type.Optional(Type.Enum(['open', 'closed'], { type: 'string', description: 'AT: open or closed system.' })),
    cash_register_id: Type.Optional(Type.String({ description: "AT: the Kassen-ID, the register's serial number." })),
    zda: Type.Optional(Type.String({ description: 'AT: AT0 (closed system), AT1–AT3, or AT100 (software).' })),
    certificate_serial: Type.Optional(
      Type.String({ description: 'AT: hex certificate serial, or the key id `U:<UID>-K<n>` of a closed system.' }),
    ),
    aes_key_check_value: Type.Optional(
      Type.String({ description: 'AT: the check value of the AES key, to register in FinanzOnline with it.' }),
    ),
    start_receipt: Type.Optional(
      Nullable(
        Type.Object(
          { regime: Type.String() },
          {
            additionalProperties: true,
            description: "AT: the Startbeleg, when this unit issued the register's first.",
          },
        ),
      ),
    ),
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
      options: Type.Optional(ProviderOptions),
      issue_register_credential: Type.Optional(
        Type.Boolean({ description: 'Also issue a register key (`ofk_reg_…`) scoped to this register, shown once.' }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type ProvisionFiscalUnitBody = Static<typeof ProvisionFiscalUnitBody>;

export const ReplaceFiscalUnitBody = Type.Object(
  { reason: Reason, options: Type.Optional(ProviderOptions), issue_register_credential: Type.Optional(Type.Boolean()) },
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
