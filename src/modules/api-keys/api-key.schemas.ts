import Type, { type Static } from 'typebox';
import { Nullable, Timestamp } from '../../http/schemas.js';

const Label = Type.String({ minLength: 1, maxLength: 100 });

export const BootstrapBody = Type.Object(
  {
    setup_token: Type.String({
      minLength: 1,
      maxLength: 200,
      description: '`ofk_setup_<env>_…`, from the CLI or the first start.',
    }),
    label: Type.Optional(Label),
  },
  { additionalProperties: false },
);
export type BootstrapBody = Static<typeof BootstrapBody>;

export const CreateKeyBody = Type.Object(
  {
    label: Label,
    description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
  },
  { additionalProperties: false },
);
export type CreateKeyBody = Static<typeof CreateKeyBody>;

export const ApiKey = Type.Object(
  {
    id: Type.String({ examples: ['key_01jd7xq3m9e5rbq0c2kfvx8w4t'] }),
    object: Type.Enum(['platform_api_key', 'organization_api_key', 'register_api_key'], { type: 'string' }),
    api_key: Nullable(
      Type.String({
        description: 'The secret. Only in the response that created the key; store it now, it is never shown again.',
      }),
    ),
    masked_key: Type.String({ description: 'Prefix and last four characters, e.g. `ofk_platform_live_…x9Qz`.' }),
    label: Nullable(Type.String()),
    description: Nullable(Type.String()),
    environment: Type.Enum(['test', 'live'], { type: 'string' }),
    organization_id: Nullable(Type.String()),
    register_id: Nullable(Type.String()),
    created_at: Timestamp,
    last_used_at: Nullable(Type.String({ format: 'date-time', description: 'Updated at most once a minute.' })),
    revoked_at: Nullable(Timestamp),
  },
  { title: 'ApiKey' },
);
