/**
 * API keys and setup tokens: issuing (the secret is returned once), authenticating, listing (masked) and revoking.
 * A key is stored only as an HMAC under the server's pepper; an unknown, malformed, revoked or expired key gives
 * the same 401 whatever the reason.
 * @module
 */
import { digestsEqual, generateApiKey, hashApiKey, maskApiKey, parseApiKey } from '../../crypto/api-key-secret.js';
import type { UnitOfWork } from '../../db/database.js';
import { AppError, notFound } from '../../errors/app-error.js';
import type { Clock } from '../../shared/clock.js';
import { isId, newId } from '../../shared/ids.js';
import { toPage, toPageRequest, type ListQuery, type Page } from '../../shared/pagination.js';
import type { Environment, KeyKind, PlatformScope, Principal, Tenant } from '../../shared/tenant.js';
import { addHours, toUtcString } from '../../shared/time.js';
import type { ApiKeyRepository, ApiKeyRow } from './api-key.repository.js';

/** `last_used_at` is written at most this often per key, so that reads do not all become writes. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * How long an authenticated key's row is reused without reading it again. Revocations made by this process drop
 * the cache when they commit, so they hold from the next request; this bounds how long a revocation made by
 * another server process on the same database takes to reach this one.
 */
export const KEY_CACHE_TTL_MS = 1_000;
/** Rows kept at most; the cache starts over when full (keys in use come back at once). */
const KEY_CACHE_MAX_ENTRIES = 10_000;

export interface ApiKeyView {
  readonly id: string;
  readonly object: 'platform_api_key' | 'organization_api_key' | 'register_api_key';
  /** The secret: only in the response that created the key, null everywhere else. */
  readonly api_key: string | null;
  readonly masked_key: string;
  readonly label: string | null;
  readonly description: string | null;
  readonly environment: Environment;
  readonly organization_id: string | null;
  readonly register_id: string | null;
  readonly created_at: string;
  readonly last_used_at: string | null;
  readonly revoked_at: string | null;
}

export interface CreateKeyInput {
  readonly label: string;
  readonly description?: string | null | undefined;
}

export interface BootstrapInput {
  readonly setup_token: string;
  readonly label?: string | undefined;
}

export interface ApiKeyServiceDeps {
  readonly repository: ApiKeyRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly pepper: Buffer;
  readonly environment: Environment;
  readonly setupTokenTtlHours: number;
  /** See {@link KEY_CACHE_TTL_MS}; 0 reads every key from the database. */
  readonly keyCacheTtlMs?: number;
}

const OBJECT_BY_KIND = {
  platform: 'platform_api_key',
  organization: 'organization_api_key',
  register: 'register_api_key',
} as const;

function present(row: ApiKeyRow, secret: string | null = null): ApiKeyView {
  if (row.kind === 'setup') throw new Error('setup tokens are never presented');
  return {
    id: row.id,
    object: OBJECT_BY_KIND[row.kind],
    api_key: secret,
    masked_key: maskApiKey(row.kind, row.environment, row.secret_last4),
    label: row.label,
    description: row.description,
    environment: row.environment,
    organization_id: row.organization_id,
    register_id: row.register_id,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  };
}

const unauthorized = () => new AppError('unauthorized');

export function createApiKeyService(deps: ApiKeyServiceDeps) {
  const { repository, unitOfWork, clock, pepper, environment } = deps;
  const keyCacheTtlMs = deps.keyCacheTtlMs ?? KEY_CACHE_TTL_MS;
  // Known keys by their HMAC (never by the secret), with the monotonic time they were read. Unknown keys are not
  // kept: a key issued a moment ago must work at once, and guesses must not fill memory.
  const keyCache = new Map<string, { row: ApiKeyRow; readAt: number }>();
  const dropCachedKeys = () => {
    keyCache.clear();
  };

  async function issue(
    kind: KeyKind,
    owner: { platformId: string; organizationId?: string | null; registerId?: string | null },
    details: { label?: string | null; description?: string | null | undefined; expiresAt?: string | null },
  ): Promise<{ row: ApiKeyRow; secret: string }> {
    const secret = generateApiKey(kind, environment);
    const row: ApiKeyRow = {
      id: newId('key'),
      platform_id: owner.platformId,
      organization_id: owner.organizationId ?? null,
      register_id: owner.registerId ?? null,
      kind,
      environment,
      label: details.label ?? null,
      description: details.description ?? null,
      secret_hash: hashApiKey(pepper, secret),
      secret_last4: secret.slice(-4),
      created_at: toUtcString(clock.now()),
      last_used_at: null,
      expires_at: details.expiresAt ?? null,
      revoked_at: null,
    };
    await repository.insert(row);
    return { row, secret };
  }

  /** Finds the stored row for a presented key string, or null; never says why. */
  async function lookUp(presented: string): Promise<ApiKeyRow | null> {
    if (parseApiKey(presented) === null) return null;
    const hash = hashApiKey(pepper, presented);
    const cached = keyCache.get(hash);
    if (cached !== undefined && performance.now() - cached.readAt < keyCacheTtlMs) return cached.row;
    const row = await repository.findBySecretHash(hash);
    // The database compared digests; compare once more in constant time so no code path compares secrets early.
    if (row === undefined || !digestsEqual(row.secret_hash, hash)) return null;
    if (keyCacheTtlMs > 0) {
      if (keyCache.size >= KEY_CACHE_MAX_ENTRIES) keyCache.clear();
      keyCache.set(hash, { row, readAt: performance.now() });
    }
    return row;
  }

  async function findVisibleKey(scope: PlatformScope, keyId: string): Promise<ApiKeyRow> {
    const row = isId('key', keyId) ? await repository.findById(scope.platformId, keyId) : undefined;
    if (row === undefined) throw notFound('API key', keyId);
    return row;
  }

  return {
    /** Issues a setup token for a platform (joins the caller's transaction). */
    async issueSetupToken(platformId: string): Promise<string> {
      const expiresAt = toUtcString(addHours(clock.now(), deps.setupTokenTtlHours));
      const { secret } = await issue('setup', { platformId }, { label: 'setup token', expiresAt });
      return secret;
    },

    /** Exchanges a setup token (single use) for the platform's first platform key. */
    async bootstrap(input: BootstrapInput): Promise<ApiKeyView> {
      const token = await lookUp(input.setup_token);
      if (token?.kind !== 'setup') throw unauthorized();
      if (token.environment !== environment) {
        throw new AppError('forbidden', {
          message: `This is a ${token.environment} setup token; this server is ${environment}.`,
        });
      }
      return unitOfWork.transaction(async () => {
        if (!(await repository.consumeSetupToken(token.id, toUtcString(clock.now())))) throw unauthorized();
        const { row, secret } = await issue(
          'platform',
          { platformId: token.platform_id },
          { label: input.label ?? 'Bootstrap key' },
        );
        return present(row, secret);
      });
    },

    /**
     * Authenticates a presented key. 401 for anything that is not a live, known key of this server; 403 for a
     * known key of the other environment.
     */
    async authenticate(presented: string | undefined): Promise<Principal> {
      if (presented === undefined) throw unauthorized();
      const row = await lookUp(presented);
      if (row === null || row.revoked_at !== null || row.kind === 'setup') throw unauthorized();
      if (row.environment !== environment) {
        throw new AppError('forbidden', {
          message: `This is a ${row.environment} key; this server is ${environment}.`,
        });
      }
      const now = clock.now();
      if (row.last_used_at === null || now.getTime() - Date.parse(row.last_used_at) >= LAST_USED_RESOLUTION_MS) {
        const lastUsedAt = toUtcString(now);
        await repository.touch(row.id, lastUsedAt);
        // The cached row (if any) is this object: keep it from asking to be touched again on every request.
        row.last_used_at = lastUsedAt;
      }
      return {
        keyId: row.id,
        kind: row.kind,
        platformId: row.platform_id,
        organizationId: row.organization_id,
        registerId: row.register_id,
      };
    },

    async createPlatformKey(scope: PlatformScope, input: CreateKeyInput): Promise<ApiKeyView> {
      const { row, secret } = await issue('platform', { platformId: scope.platformId }, input);
      return present(row, secret);
    },

    async listPlatformKeys(scope: PlatformScope, query: ListQuery): Promise<Page<ApiKeyView>> {
      const request = toPageRequest(query);
      const rows = await repository.list({ platformId: scope.platformId, kind: 'platform' }, request);
      return toPage(rows, request, (row) => present(row));
    },

    /** Revokes any key of the platform; it fails with 401 from its next use. Revoking twice is harmless. */
    async revokeKey(scope: PlatformScope, keyId: string): Promise<ApiKeyView> {
      return unitOfWork.transaction(async () => {
        const row = await findVisibleKey(scope, keyId);
        if (row.revoked_at === null) await repository.revoke(row.id, toUtcString(clock.now()));
        unitOfWork.afterCommit(dropCachedKeys);
        return present(await findVisibleKey(scope, keyId));
      });
    },

    /** Issues an organization key; the caller has checked that the organization belongs to the platform. */
    async createOrganizationKey(tenant: Tenant, input: CreateKeyInput): Promise<ApiKeyView> {
      const { row, secret } = await issue(
        'organization',
        { platformId: tenant.platformId, organizationId: tenant.organizationId },
        input,
      );
      return present(row, secret);
    },

    async listOrganizationKeys(tenant: Tenant, query: ListQuery): Promise<Page<ApiKeyView>> {
      const request = toPageRequest(query);
      const rows = await repository.list(
        { platformId: tenant.platformId, kind: 'organization', organizationId: tenant.organizationId },
        request,
      );
      return toPage(rows, request, (row) => present(row));
    },

    /** Issues a key bound to one register (fiscal-unit provisioning hands it to the device). */
    async issueRegisterKey(tenant: Tenant, registerId: string, label: string): Promise<ApiKeyView> {
      const { row, secret } = await issue(
        'register',
        { platformId: tenant.platformId, organizationId: tenant.organizationId, registerId },
        { label },
      );
      return present(row, secret);
    },

    /** Inside the caller's transaction (archiving a register): the keys fail from the first request after it. */
    async revokeRegisterKeys(registerId: string): Promise<number> {
      unitOfWork.afterCommit(dropCachedKeys);
      return repository.revokeRegisterKeys(registerId, toUtcString(clock.now()));
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
