/**
 * Resource identifiers: TypeIDs (`<prefix>_<26 lowercase base32>`, a UUIDv7 underneath), so ids sort by creation
 * time and an id of the wrong kind is recognisable from its prefix alone.
 * @module
 */
import { typeid } from 'typeid-js';

export const ID_PREFIXES = {
  platform: 'plt',
  organization: 'org',
  location: 'loc',
  register: 'reg',
  fiscalUnit: 'fu',
  operation: 'op',
  lineItem: 'li',
  lineDiscount: 'ldsc',
  cartDiscount: 'cdsc',
  payment: 'pay',
  receipt: 'rcpt',
  closing: 'cls',
  cashDrawerOpening: 'cdo',
  export: 'exp',
  job: 'job',
  apiKey: 'key',
  outage: 'out',
} as const;

export type IdPrefix = (typeof ID_PREFIXES)[keyof typeof ID_PREFIXES];

/** Creates a new time-ordered id, e.g. `newId('reg')` → `reg_01jd7x…`. */
export function newId<P extends IdPrefix>(prefix: P): `${P}_${string}` {
  return typeid(prefix).toString() as `${P}_${string}`;
}

// First suffix character is at most 7: 26 base32 characters hold 130 bits, a UUID only 128.
const SUFFIX = '[0-7][0-9a-hjkmnp-tv-z]{25}';

/** True when `value` is a well-formed id with the given prefix, e.g. `isId('org', 'org_01jd…')`. */
export function isId(prefix: IdPrefix, value: string): boolean {
  return new RegExp(`^${prefix}_${SUFFIX}$`).test(value);
}
