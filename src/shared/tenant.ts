/**
 * Who is calling and on whose behalf. Resolved once per request by the auth layer and handed to services, which
 * scope every query by it: a row outside the caller's tenant is indistinguishable from a missing one.
 * @module
 */

export type Environment = 'test' | 'live';

export type KeyKind = 'setup' | 'platform' | 'organization' | 'register';

/** The authenticated API key. Organization keys carry their organization, register keys also their register. */
export interface Principal {
  readonly keyId: string;
  readonly kind: Exclude<KeyKind, 'setup'>;
  readonly platformId: string;
  readonly organizationId: string | null;
  readonly registerId: string | null;
}

/** The platform a platform-level request acts in. */
export interface PlatformScope {
  readonly platformId: string;
}

/** The organization an organization-level request acts in; `registerId` restricts a register key to its register. */
export interface Tenant extends PlatformScope {
  readonly organizationId: string;
  readonly registerId: string | null;
}
