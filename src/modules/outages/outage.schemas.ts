import Type, { type Static, type TSchema } from 'typebox';
import { Nullable, Timestamp } from '../../http/schemas.js';

/** A UTC timestamp with its own description. */
const At = (description: string) =>
  Type.String({
    format: 'date-time',
    description: `${description} UTC, RFC 3339 with milliseconds and \`Z\`.`,
    examples: ['2026-03-01T09:30:00.000Z'],
  });

export const OutageListFilters = {
  ongoing: Type.Optional(
    Type.Boolean({ description: '`true`: only outages still lasting; `false`: only those that ended.' }),
  ),
  report_required: Type.Optional(
    Type.Boolean({
      description:
        '`true`: only outages long enough to be reported to the tax office (see `report_required`); `false`: only ' +
        'the others.',
    }),
  ),
} satisfies Record<string, TSchema>;

export interface OutageListQuery {
  readonly ongoing?: boolean;
  readonly report_required?: boolean;
}

export const Outage = Type.Object(
  {
    id: Type.String({ examples: ['out_01jd7xq3m9e5rbq0c2kfvx8w4t'] }),
    object: Type.Literal('outage'),
    register_id: Type.String(),
    fiscal_unit_id: Type.String({ description: 'The fiscal unit that failed.' }),
    started_at: At('The first failed signing.'),
    ended_at: Nullable(At('The first successful signing after it; null while ongoing.')),
    ongoing: Type.Boolean({ description: 'True while the unit has not signed again.' }),
    duration_seconds: Type.Integer({
      minimum: 0,
      description: 'Whole seconds from `started_at` to `ended_at`, or to now while ongoing.',
    }),
    message: Type.String({ description: "The first failure's message." }),
    report_required: Type.Boolean({
      description:
        'True when the outage lasted longer than `report_threshold_hours`, so that it must be reported to the tax ' +
        'office (AT: via FinanzOnline, and again once the unit works again). Always false where ' +
        '`report_threshold_hours` is null.',
    }),
    report_threshold_hours: Nullable(
      Type.Integer({
        minimum: 0,
        description:
          "Hours after which the register's jurisdiction requires the outage to be reported (AT: 48, RKSV § 17 " +
          'Abs. 4); null where no reporting duty applies.',
      }),
    ),
    created_at: Timestamp,
  },
  { title: 'Outage' },
);
export type Outage = Static<typeof Outage>;
