import Type, { type Static } from 'typebox';
import { Nullable, Timestamp } from '../../http/schemas.js';

/** Lowercase hex SHA-256. */
const Hash = (description: string) => Type.String({ pattern: '^[0-9a-f]{64}$', description });

/** The hashed document: the event's data in an envelope that repeats the entry's fields, so the hash covers them. */
export const JournalPayload = Type.Object(
  {
    register_id: Type.String(),
    type: Type.String(),
    subject_id: Type.String(),
    created_at: Timestamp,
    data: Type.Record(Type.String(), Type.Unknown(), { description: 'The event as recorded.' }),
  },
  {
    description:
      'Exactly the stored document, parsed. Its canonical JSON (keys sorted, no whitespace) is what `payload_hash` ' +
      'hashes; the envelope binds `register_id`, `type`, `subject_id` and `created_at` into the chain.',
  },
);
export type JournalPayload = Static<typeof JournalPayload>;

export const JournalEntry = Type.Object(
  {
    object: Type.Literal('journal_entry'),
    register_id: Type.String(),
    seq: Type.Integer({ minimum: 1, description: '1, 2, 3, … per register, without gaps.' }),
    type: Type.String({ examples: ['operation.completed'] }),
    subject_id: Type.String({ description: 'What the entry is about (`op_…`, `fu_…`, `cdo_…`, `cls_…`).' }),
    payload: JournalPayload,
    payload_hash: Hash('SHA-256 of the UTF-8 canonical JSON of `payload`.'),
    prev_hash: Hash("The previous entry's `entry_hash`; 64 zeros for seq 1."),
    entry_hash: Hash(
      'SHA-256 over 72 bytes: `prev_hash` (32 raw bytes) ‖ `seq` (unsigned 64-bit big-endian) ‖ `payload_hash` ' +
        '(32 raw bytes).',
    ),
    created_at: Timestamp,
  },
  { title: 'JournalEntry' },
);
export type JournalEntry = Static<typeof JournalEntry>;

export const JOURNAL_BREAK_REASONS = [
  'payload_hash_mismatch',
  'field_mismatch',
  'prev_hash_mismatch',
  'entry_hash_mismatch',
  'missing_entry',
  'length_mismatch',
] as const;
export type JournalBreakReason = (typeof JOURNAL_BREAK_REASONS)[number];

export const JournalVerification = Type.Object(
  {
    object: Type.Literal('journal_verification'),
    register_id: Type.String(),
    valid: Type.Boolean(),
    entries_checked: Type.Integer({ minimum: 0, description: 'Entries found intact before the first break.' }),
    length: Type.Integer({ minimum: 0, description: "The register's entry count when the verification started." }),
    head_hash: Hash('`entry_hash` of the last intact entry: the head of the chain when valid, 64 zeros when empty.'),
    first_broken: Nullable(
      Type.Object(
        {
          seq: Type.Integer({ minimum: 1 }),
          reason: Type.Enum([...JOURNAL_BREAK_REASONS], {
            type: 'string',
            description:
              '`payload_hash_mismatch`: the payload does not hash to `payload_hash`. `field_mismatch`: an entry ' +
              'field differs from the hashed payload (or the payload is not a journal document). ' +
              '`prev_hash_mismatch`: the link to the previous entry is broken. `entry_hash_mismatch`: `entry_hash` ' +
              'is not the hash of its inputs. `missing_entry`: seq has a gap. `length_mismatch`: the stored entries ' +
              "do not end at the register's count.",
          }),
          expected: Type.String({ description: 'The recomputed value (a hash, a field value or a count).' }),
          actual: Type.String({ description: 'The stored value.' }),
        },
        { description: 'The first break in seq order, or null.' },
      ),
    ),
    verified_at: Timestamp,
  },
  { title: 'JournalVerification' },
);
export type JournalVerification = Static<typeof JournalVerification>;
