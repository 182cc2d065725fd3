/**
 * THE table interface, shared by both engines. Portable types only: ids, timestamps (fixed-width UTC text) and
 * JSON documents are text; integers are BIGINT and come back as `bigint` from both drivers.
 * @module
 */
import type { ColumnType } from 'kysely';
import type { Environment, KeyKind } from '../shared/tenant.js';

/** BIGINT: read as bigint (exact), written from number or bigint. */
export type Int64 = ColumnType<bigint, bigint | number, bigint | number>;

export interface PlatformsTable {
  id: string;
  name: string;
  created_at: string;
}

/** Marks one-time system events (e.g. the default platform was created) with a unique name. */
export interface SystemEventsTable {
  name: string;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  platform_id: string;
  organization_id: string | null;
  register_id: string | null;
  kind: KeyKind;
  environment: Environment;
  label: string | null;
  description: string | null;
  /** Hex HMAC-SHA256 of the whole key under the server's pepper. */
  secret_hash: string;
  secret_last4: string;
  created_at: string;
  last_used_at: string | null;
  /** Setup tokens expire; other keys live until revoked. */
  expires_at: string | null;
  /** Revocation, archiving of the key's register, or consumption of a setup token. */
  revoked_at: string | null;
}

export interface OrganizationsTable {
  id: string;
  platform_id: string;
  legal_name: string;
  country: string;
  tax_id: string | null;
  trade_name: string | null;
  address: string | null;
  fiscal_identity: string | null;
  metadata: string;
  created_at: string;
  updated_at: string;
}

export interface LocationsTable {
  id: string;
  platform_id: string;
  organization_id: string;
  name: string;
  address: string | null;
  timezone: string;
  metadata: string;
  created_at: string;
  updated_at: string;
}

export interface RegistersTable {
  id: string;
  platform_id: string;
  organization_id: string;
  location_id: string;
  label: string;
  jurisdiction: string;
  serial_number: string;
  currency: string;
  state: 'active' | 'archived';
  active_fiscal_unit_id: string | null;
  /** When the first fiscal unit was provisioned; from then on the serial number is fixed. */
  fiscalized_at: string | null;
  metadata: string;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export interface IdempotencyKeysTable {
  /** `<platform id>/<organization id or ->`, or `anonymous` for unauthenticated endpoints. */
  scope: string;
  idempotency_key: string;
  fingerprint: string;
  state: 'in_progress' | 'completed';
  /** Changes when a stale in-progress claim is taken over; the old holder can then no longer complete. */
  lease_token: string;
  lease_expires_at: string;
  response_status: Int64 | null;
  /** Encrypted JSON `{content_type, body}`. */
  response: string | null;
  created_at: string;
  expires_at: string;
}

export interface DB {
  platforms: PlatformsTable;
  system_events: SystemEventsTable;
  api_keys: ApiKeysTable;
  organizations: OrganizationsTable;
  locations: LocationsTable;
  registers: RegistersTable;
  idempotency_keys: IdempotencyKeysTable;
}
