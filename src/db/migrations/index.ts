/** The ordered list of migrations. Explicit, not a directory scan, so compiled output and tests are deterministic. */
import type { Migration } from 'kysely';
import * as foundation from './0001-foundation.js';

export const migrations: Record<string, Migration> = {
  '0001-foundation': foundation,
};
